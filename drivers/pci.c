#include "drivers/pci.h"
#include "arch/x86.h"
#include "arch/spinlock.h"

#define PCI_CONFIG_ADDRESS 0xCF8
#define PCI_CONFIG_DATA    0xCFC

/* The address/data pair is shared by every CPU: serialise it. */
static struct spinlock pci_lock = SPINLOCK_INIT;

static void select(uint32_t bdf, unsigned off)
{
    outl(PCI_CONFIG_ADDRESS, 0x80000000u | bdf | (off & 0xFC));
}

uint32_t pci_read32(uint32_t bdf, unsigned off)
{
    spin_lock(&pci_lock);
    select(bdf, off);
    uint32_t v = inl(PCI_CONFIG_DATA);
    spin_unlock(&pci_lock);
    return v;
}

uint16_t pci_read16(uint32_t bdf, unsigned off)
{
    spin_lock(&pci_lock);
    select(bdf, off);
    uint16_t v = inw((uint16_t)(PCI_CONFIG_DATA + (off & 2)));
    spin_unlock(&pci_lock);
    return v;
}

uint8_t pci_read8(uint32_t bdf, unsigned off)
{
    spin_lock(&pci_lock);
    select(bdf, off);
    uint8_t v = inb((uint16_t)(PCI_CONFIG_DATA + (off & 3)));
    spin_unlock(&pci_lock);
    return v;
}

void pci_write32(uint32_t bdf, unsigned off, uint32_t v)
{
    spin_lock(&pci_lock);
    select(bdf, off);
    outl(PCI_CONFIG_DATA, v);
    spin_unlock(&pci_lock);
}

void pci_write16(uint32_t bdf, unsigned off, uint16_t v)
{
    spin_lock(&pci_lock);
    select(bdf, off);
    outw((uint16_t)(PCI_CONFIG_DATA + (off & 2)), v);
    spin_unlock(&pci_lock);
}

void pci_write8(uint32_t bdf, unsigned off, uint8_t v)
{
    spin_lock(&pci_lock);
    select(bdf, off);
    outb((uint16_t)(PCI_CONFIG_DATA + (off & 3)), v);
    spin_unlock(&pci_lock);
}
