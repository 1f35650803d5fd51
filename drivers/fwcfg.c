#include "drivers/fwcfg.h"
#include "arch/x86.h"
#include "lib/kstring.h"

#define FW_CFG_PORT_SEL   0x510
#define FW_CFG_PORT_DATA  0x511
#define FW_CFG_PORT_DMA_H 0x514
#define FW_CFG_PORT_DMA_L 0x518
#define FW_CFG_SIGNATURE  0x0000
#define FW_CFG_ID         0x0001
#define   FW_CFG_ID_DMA   (1u << 1)
#define FW_CFG_FILE_DIR   0x0019

#define FW_CFG_DMA_CTL_ERROR  0x01
#define FW_CFG_DMA_CTL_SELECT 0x08
#define FW_CFG_DMA_CTL_WRITE  0x10

static uint32_t be32(uint32_t v) { return __builtin_bswap32(v); }
static uint16_t be16(uint16_t v) { return __builtin_bswap16(v); }

void fwcfg_read(uint16_t sel, void *buf, size_t len)
{
    outw(FW_CFG_PORT_SEL, sel);
    uint8_t *p = buf;
    for (size_t i = 0; i < len; i++)
        p[i] = inb(FW_CFG_PORT_DATA);
}

bool fwcfg_present(void)
{
    char sig[4];
    fwcfg_read(FW_CFG_SIGNATURE, sig, 4);
    return !memcmp(sig, "QEMU", 4);
}

bool fwcfg_has_dma(void)
{
    uint32_t id;
    fwcfg_read(FW_CFG_ID, &id, 4);
    return id & FW_CFG_ID_DMA;
}

bool fwcfg_find(const char *name, uint16_t *sel, uint32_t *size)
{
    if (!fwcfg_present())
        return false;
    uint32_t count;
    fwcfg_read(FW_CFG_FILE_DIR, &count, 4);
    count = be32(count);
    for (uint32_t i = 0; i < count && i < 4096; i++) {
        struct { uint32_t size; uint16_t select, reserved; char name[56]; } f;
        for (size_t k = 0; k < sizeof(f); k++)          /* continue the stream */
            ((uint8_t *)&f)[k] = inb(FW_CFG_PORT_DATA);
        f.name[55] = 0;
        if (!strcmp(f.name, name)) {
            *sel = be16(f.select);
            *size = be32(f.size);
            return true;
        }
    }
    return false;
}

bool fwcfg_dma_write(uint16_t sel, const void *buf, uint32_t len)
{
    static volatile struct {
        uint32_t control, length;
        uint64_t address;
    } __attribute__((aligned(16))) d;
    d.control = be32(((uint32_t)sel << 16) | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_WRITE);
    d.length = be32(len);
    d.address = __builtin_bswap64((uint64_t)(uintptr_t)buf);
    uint64_t a = (uint64_t)(uintptr_t)&d;
    outl(FW_CFG_PORT_DMA_H, be32((uint32_t)(a >> 32)));
    outl(FW_CFG_PORT_DMA_L, be32((uint32_t)a));          /* starts the transfer */
    for (unsigned i = 0; i < 1000000; i++) {
        uint32_t c = be32(d.control);
        if (c & FW_CFG_DMA_CTL_ERROR)
            return false;
        if (!c)
            return true;
        cpu_relax();
    }
    return false;
}

bool fwcfg_read_file_str(const char *name, char *buf, size_t len)
{
    uint16_t sel;
    uint32_t size;
    if (!len || !fwcfg_find(name, &sel, &size))
        return false;
    if (size >= len)
        size = (uint32_t)len - 1;
    fwcfg_read(sel, buf, size);
    buf[size] = 0;
    return true;
}
