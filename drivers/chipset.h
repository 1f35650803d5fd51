/* Host bridge / southbridge registers that control SMRAM and SMI sources.
 * q35: MCH (Intel 3 Series, 8086:29C0) + ICH9 LPC (8086:2918);
 * pc:  i440FX (8086:1237) + PIIX4 PM (8086:7113).
 * Register names follow the Intel datasheets; the behaviour that matters is
 * QEMU's (hw/pci-host/q35.c, hw/pci-host/i440fx.c, hw/isa/lpc_ich9.c,
 * hw/acpi/piix4.c), summarised in docs/PLATFORM.md Q5-Q7. */
#ifndef SMMSYNC_CHIPSET_H
#define SMMSYNC_CHIPSET_H
#include <stdint.h>
#include <stdbool.h>

enum chipset_kind { CHIPSET_UNKNOWN, CHIPSET_Q35, CHIPSET_I440FX };

/* SMRAM control: q35 MCH 0x9D, i440FX 0x72 (same bit layout). */
#define SMRAM_D_OPEN     0x40
#define SMRAM_D_CLS      0x20
#define SMRAM_D_LCK      0x10
#define SMRAM_G_SMRAME   0x08
#define SMRAM_C_BASE_SEG 0x02    /* "hardwired" 010b: A-segment */
/* q35 MCH ESMRAMC 0x9E. */
#define ESMRAMC_H_SMRAME 0x80
#define ESMRAMC_TSEG_1MB 0x00
#define ESMRAMC_TSEG_2MB 0x02
#define ESMRAMC_TSEG_8MB 0x04
#define ESMRAMC_TSEG_MASK 0x06
#define ESMRAMC_T_EN     0x01
/* QEMU q35 F_SMBASE 0x9C: SMRAM at the default SMBASE 0x30000-0x4FFFF. */
#define MCH_F_SMBASE_QUERY 0xFF
#define MCH_F_SMBASE_IN_RAM 0x01
#define MCH_F_SMBASE_LCK   0x02

struct chipset {
    enum chipset_kind kind;
    uint16_t vid, did;
    const char *name;
    uint8_t smram_at_boot;       /* what firmware left in the SMRAM register */
    bool fw_enabled_smm;         /* G_SMRAME set by SeaBIOS: smm=on */
    uint32_t below_4g;           /* RAM below 4 GiB (fw_cfg etc/e820) */
    uint16_t pmbase;             /* ACPI PM I/O base */
    bool tseg_on;
    uint32_t tseg_base, tseg_size;
};
extern struct chipset chipset;

bool chipset_detect(void);
uint8_t smram_read(void);
void smram_write(uint8_t v);
uint8_t esmramc_read(void);
void esmramc_write(uint8_t v);
bool smram_open_aseg(void);      /* D_OPEN=1; false if the lock refused it */
void smram_close_aseg(void);
bool smram_lock(void);           /* D_LCK (q35); false if it did not stick */
bool smram_is_locked(void);
bool tseg_enable(uint32_t size_mb);
bool fsmbase_supported(void);
bool fsmbase_lock(void);
uint8_t fsmbase_read(void);

/* SMI sources. */
bool apm_enable(void);           /* make writes to 0xB2 raise an SMI */
void apm_trigger(uint8_t cmd);   /* out 0xB2 */
uint8_t apm_status_read(void);   /* 0xB3 scratch byte */
void apm_status_write(uint8_t v);
bool smi_lock_set(void);         /* q35 GEN_PMCON_1.SMI_LOCK */
bool smi_lock_is_set(void);
#define SMI_EN_GBL_SMI_EN (1u << 0)
uint32_t ich9_smi_en_read(void);
void ich9_smi_en_write(uint32_t v);

#define APM_CNT 0xB2
#define APM_STS 0xB3
/* 0xB2 values our own SMIs never use: SeaBIOS's CALL32SMM (0xB5), q35
 * ACPI enable/disable (0x02/0x03), pc ACPI enable/disable (0xF0/0xF1), and
 * the ACPI CPU-hotplug command (0x04: only fw.hotadd writes it, to the
 * firmware, as the OS's AML would; drivers/cpuhp.h). */
#define APM_CMD_SMMSYNC 0x5C
#endif
