/* QEMU's ACPI CPU hotplug register block (drivers/cpuhp.h). */
#include "drivers/cpuhp.h"
#include "arch/x86.h"

static uint16_t base = CPUHP_BASE_Q35;

void cpuhp_init(uint16_t b)
{
    base = b;
    outl(base + CPUHP_W_SELECTOR, 0);
}

static void select_slot(uint32_t slot)
{
    outl(base + CPUHP_W_SELECTOR, slot);
}

uint8_t cpuhp_flags(uint32_t slot)
{
    select_slot(slot);
    return inb(base + CPUHP_RW_FLAGS);
}

uint32_t cpuhp_apic_id(uint32_t slot)
{
    select_slot(slot);
    outb(base + CPUHP_W_CMD, CPUHP_CMD_GET_ID);
    return inl(base + CPUHP_RW_DATA);
}

int cpuhp_next_insert(void)
{
    select_slot(0);
    outb(base + CPUHP_W_CMD, CPUHP_CMD_NEXT_EVENT);
    uint32_t slot = inl(base + CPUHP_RW_DATA);
    return cpuhp_flags(slot) & CPUHP_F_INSERT ? (int)slot : -1;
}

void cpuhp_clear_insert(uint32_t slot)
{
    select_slot(slot);
    outb(base + CPUHP_RW_FLAGS, CPUHP_F_INSERT);
}
