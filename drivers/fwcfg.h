#ifndef SMMSYNC_FWCFG_H
#define SMMSYNC_FWCFG_H
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
/* QEMU fw_cfg (docs/specs/fw_cfg.rst): I/O ports 0x510 selector, 0x511 data,
 * 0x514/0x518 DMA address (big-endian halves). */
bool fwcfg_present(void);
bool fwcfg_has_dma(void);
bool fwcfg_find(const char *name, uint16_t *sel, uint32_t *size);
void fwcfg_read(uint16_t sel, void *buf, size_t len);
/* Writes through the DMA interface (the only way to write fw_cfg files);
 * false on a DMA error or a bounded-wait timeout. */
bool fwcfg_dma_write(uint16_t sel, const void *buf, uint32_t len);
/* Reads file 'name' into buf (NUL-terminated); false if absent. */
bool fwcfg_read_file_str(const char *name, char *buf, size_t len);
#endif
