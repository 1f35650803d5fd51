/* Host bridges: which one we are on, and its SMRAM controls. */
#include "drivers/chipset.h"
#include "drivers/pci.h"
#include "drivers/fwcfg.h"
#include "arch/x86.h"

#define HB_BDF          PCI_BDF(0, 0, 0)
#define Q35_MCH_DID     0x29C0
#define I440FX_DID      0x1237
#define MCH_SMRAM       0x9D
#define MCH_ESMRAMC     0x9E
#define MCH_F_SMBASE    0x9C
#define I440FX_SMRAM    0x72

struct chipset chipset;

static unsigned smram_reg(void)
{
    return chipset.kind == CHIPSET_Q35 ? MCH_SMRAM : I440FX_SMRAM;
}

uint8_t smram_read(void) { return pci_read8(HB_BDF, smram_reg()); }
void smram_write(uint8_t v) { pci_write8(HB_BDF, smram_reg(), v); }
uint8_t esmramc_read(void) { return pci_read8(HB_BDF, MCH_ESMRAMC); }
void esmramc_write(uint8_t v) { pci_write8(HB_BDF, MCH_ESMRAMC, v); }

/* QEMU's etc/e820 lists the RAM it really has; entry 0 starts at 0 and its
 * length is below_4g_mem_size, where q35 puts TSEG (at the top). */
static uint32_t ram_below_4g(void)
{
    uint16_t sel;
    uint32_t size;
    if (!fwcfg_find("etc/e820", &sel, &size))
        return 0;
    struct { uint64_t addr, len; uint32_t type; } __attribute__((packed)) e;
    uint32_t best = 0;
    for (uint32_t off = 0; off + sizeof(e) <= size; off += sizeof(e)) {
        if (off == 0)
            fwcfg_read(sel, &e, sizeof(e));
        else
            for (size_t k = 0; k < sizeof(e); k++)
                ((uint8_t *)&e)[k] = inb(0x511);
        if (e.type == 1 && e.addr < (1ull << 32) && e.addr + e.len <= (1ull << 32) &&
            e.addr + e.len > best)
            best = (uint32_t)(e.addr + e.len);
    }
    return best;
}

bool chipset_detect(void)
{
    uint32_t id = pci_read32(HB_BDF, 0);
    chipset.vid = (uint16_t)id;
    chipset.did = (uint16_t)(id >> 16);
    if (chipset.vid == 0x8086 && chipset.did == Q35_MCH_DID) {
        chipset.kind = CHIPSET_Q35;
        chipset.name = "q35";
    } else if (chipset.vid == 0x8086 && chipset.did == I440FX_DID) {
        chipset.kind = CHIPSET_I440FX;
        chipset.name = "pc";
    } else {
        chipset.kind = CHIPSET_UNKNOWN;
        chipset.name = "unknown";
        return false;
    }
    chipset.smram_at_boot = smram_read();
    chipset.fw_enabled_smm = chipset.smram_at_boot & SMRAM_G_SMRAME;
    chipset.below_4g = ram_below_4g();
    return true;
}

bool smram_open_aseg(void)
{
    smram_write((uint8_t)((smram_read() & ~SMRAM_D_CLS) | SMRAM_D_OPEN | SMRAM_G_SMRAME |
                          SMRAM_C_BASE_SEG));
    return smram_read() & SMRAM_D_OPEN;
}

void smram_close_aseg(void)
{
    smram_write((uint8_t)((smram_read() & ~SMRAM_D_OPEN) | SMRAM_G_SMRAME | SMRAM_C_BASE_SEG));
}

bool smram_lock(void)
{
    smram_write((uint8_t)((smram_read() & ~SMRAM_D_OPEN) | SMRAM_D_LCK | SMRAM_G_SMRAME |
                          SMRAM_C_BASE_SEG));
    return smram_is_locked();
}

bool smram_is_locked(void) { return smram_read() & SMRAM_D_LCK; }

/* q35 only: TSEG at the top of RAM below 4 GiB; SMM sees RAM there, everything
 * else a black hole (reads all-ones, writes dropped). */
bool tseg_enable(uint32_t size_mb)
{
    uint8_t sz;
    switch (size_mb) {
    case 1: sz = ESMRAMC_TSEG_1MB; break;
    case 2: sz = ESMRAMC_TSEG_2MB; break;
    case 8: sz = ESMRAMC_TSEG_8MB; break;
    default: return false;
    }
    if (chipset.kind != CHIPSET_Q35 || !chipset.below_4g)
        return false;
    esmramc_write((uint8_t)((esmramc_read() & ~(ESMRAMC_TSEG_MASK | ESMRAMC_H_SMRAME)) | sz |
                            ESMRAMC_T_EN));
    uint8_t e = esmramc_read();
    if (!(e & ESMRAMC_T_EN) || (e & ESMRAMC_TSEG_MASK) != sz)
        return false;
    chipset.tseg_on = true;
    chipset.tseg_size = size_mb << 20;
    chipset.tseg_base = chipset.below_4g - chipset.tseg_size;
    return true;
}

bool fsmbase_supported(void)
{
    if (chipset.kind != CHIPSET_Q35)
        return false;
    pci_write8(HB_BDF, MCH_F_SMBASE, MCH_F_SMBASE_QUERY);
    return pci_read8(HB_BDF, MCH_F_SMBASE) == MCH_F_SMBASE_IN_RAM;
}

bool fsmbase_lock(void)
{
    pci_write8(HB_BDF, MCH_F_SMBASE, MCH_F_SMBASE_LCK);
    return pci_read8(HB_BDF, MCH_F_SMBASE) == MCH_F_SMBASE_LCK;
}

uint8_t fsmbase_read(void) { return pci_read8(HB_BDF, MCH_F_SMBASE); }
