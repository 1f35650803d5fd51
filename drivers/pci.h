#ifndef SMMSYNC_PCI_H
#define SMMSYNC_PCI_H
#include <stdint.h>
/* Configuration mechanism #1 (PCI Local Bus spec 3.0, 3.2.2.3.2). */
#define PCI_BDF(b, d, f) (((uint32_t)(b) << 16) | ((uint32_t)(d) << 11) | ((uint32_t)(f) << 8))
uint32_t pci_read32(uint32_t bdf, unsigned off);
uint16_t pci_read16(uint32_t bdf, unsigned off);
uint8_t pci_read8(uint32_t bdf, unsigned off);
void pci_write32(uint32_t bdf, unsigned off, uint32_t v);
void pci_write16(uint32_t bdf, unsigned off, uint16_t v);
void pci_write8(uint32_t bdf, unsigned off, uint8_t v);
#endif
