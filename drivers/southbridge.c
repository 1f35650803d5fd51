/* SMI sources in the southbridge: APM (0xB2/0xB3), ICH9 SMI_EN / SMI_LOCK,
 * PIIX4 DEVACTB.APMC_EN. */
#include "drivers/chipset.h"
#include "drivers/pci.h"
#include "arch/x86.h"

#define ICH9_LPC_BDF        PCI_BDF(0, 0x1F, 0)
#define ICH9_PMBASE         0x40
#define ICH9_GEN_PMCON_1    0xA0
#define   GEN_PMCON_1_SMI_LOCK (1u << 4)
#define ICH9_SMI_EN         0x30      /* PMBASE + 0x30, 32-bit access only */
#define   SMI_EN_APMC_EN    (1u << 5)

#define PIIX4_PM_BDF        PCI_BDF(0, 1, 3)
#define PIIX4_DEVACTB       0x58
#define   DEVACTB_APMC_EN   (1u << 25)

static uint16_t ich9_pmbase(void)
{
    if (!chipset.pmbase)
        chipset.pmbase = pci_read16(ICH9_LPC_BDF, ICH9_PMBASE) & 0xFF80;
    return chipset.pmbase;
}

uint32_t ich9_smi_en_read(void) { return inl((uint16_t)(ich9_pmbase() + ICH9_SMI_EN)); }
void ich9_smi_en_write(uint32_t v) { outl((uint16_t)(ich9_pmbase() + ICH9_SMI_EN), v); }

bool apm_enable(void)
{
    switch (chipset.kind) {
    case CHIPSET_Q35:
        ich9_smi_en_write(ich9_smi_en_read() | SMI_EN_APMC_EN | SMI_EN_GBL_SMI_EN);
        return ich9_smi_en_read() & SMI_EN_APMC_EN;
    case CHIPSET_I440FX:
        pci_write32(PIIX4_PM_BDF, PIIX4_DEVACTB,
                    pci_read32(PIIX4_PM_BDF, PIIX4_DEVACTB) | DEVACTB_APMC_EN);
        return pci_read32(PIIX4_PM_BDF, PIIX4_DEVACTB) & DEVACTB_APMC_EN;
    default:
        return false;
    }
}

void apm_trigger(uint8_t cmd) { outb(APM_CNT, cmd); }
uint8_t apm_status_read(void) { return inb(APM_STS); }
void apm_status_write(uint8_t v) { outb(APM_STS, v); }

bool smi_lock_set(void)
{
    if (chipset.kind != CHIPSET_Q35)
        return false;
    pci_write8(ICH9_LPC_BDF, ICH9_GEN_PMCON_1,
               (uint8_t)(pci_read8(ICH9_LPC_BDF, ICH9_GEN_PMCON_1) | GEN_PMCON_1_SMI_LOCK));
    return smi_lock_is_set();
}

bool smi_lock_is_set(void)
{
    return chipset.kind == CHIPSET_Q35 &&
           (pci_read8(ICH9_LPC_BDF, ICH9_GEN_PMCON_1) & GEN_PMCON_1_SMI_LOCK);
}
