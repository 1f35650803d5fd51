/* smm_setup(): decide whether SMM can be used, then, in order, choose the
 * SMRAM layout (region.c), relocate every CPU's SMBASE (relocate.c),
 * install the image (install.c), and close and lock SMRAM. */
#include "smm/state.h"
#include "smm/region.h"
#include "smm/relocate.h"
#include "smm/install.h"
#include "smp/power.h"
#include "smp/smp.h"
#include "drivers/chipset.h"
#include "kernel/config.h"
#include "kernel/idt.h"
#include "kernel/panic.h"
#include "kernel/console.h"
#include "lib/printf.h"
#include "lib/kstring.h"

static void read_bounds(void)
{
    /* The fail-safe bounds (not the protocol's own pull-in and wait-all
     * times) grow with the host's load: a late vCPU is not a lost one. */
    smm.t_patent_us = config.patent_failsafe_us.set ? config.patent_failsafe_us.v : 500000ull * host_scale();
    smm.t_pullin1_us = config.pullin_us.set ? config.pullin_us.v : 2000;
    smm.t_pullin2_us = config.pullin2_us.set ? config.pullin2_us.v : 500000ull * host_scale();
    smm.t_waitall_us = config.waitall_us.set ? config.waitall_us.v : 1000;
}

/* A known chipset, SMM enabled by the firmware and not switched off, and
 * a well-formed embedded image; else false with smm.why_not set. */
static bool smm_possible(void)
{
    const struct smm_image_header *h = image_header();
    if (chipset.kind == CHIPSET_UNKNOWN) {
        ksnprintf(smm.why_not, sizeof(smm.why_not), "unknown host bridge %04x:%04x",
                  chipset.vid, chipset.did);
        return false;
    }
    /* A firmware with an SMM of its own (OVMF with SMM) locks SMRAM before
     * it boots anything: the harness cannot install its handler and audits
     * the firmware's instead (tests/fw_audit.c). SeaBIOS never locks. */
    if (chipset.smram_at_boot & SMRAM_D_LCK) {
        smm.audit = true;
        smm_why("%s", "the firmware owns SMRAM and locked it before boot (D_LCK set): firmware audit mode");
        return false;
    }
    /* OVMF built without SMM leaves SMRAM alone (G_SMRAME clear) although
     * the machine has SMM: the harness owns it then. SeaBIOS sets G_SMRAME
     * whenever the machine has SMM, so there clear means smm=off. */
    smm.own_smram = !chipset.fw_enabled_smm && config_is(firmware, "ovmf");
    if (config_is(smm, "off") || (!chipset.fw_enabled_smm && !smm.own_smram)) {
        smm_why("SMM is off (%s)", chipset.fw_enabled_smm ? "smm=off on the command line"
                                                          : "firmware left G_SMRAME clear: -machine smm=off");
        return false;
    }
    if (h->magic != SMM_IMAGE_MAGIC || h->file_size > h->mem_size) {
        smm_why("%s", "the embedded SMM image is malformed");
        return false;
    }
    return true;
}

/* Close SMRAM and lock it (unless smram=open); the q35 SMI lock too. */
static void lock_down(void)
{
    smm.smram_open_requested = config_is(smram, "open");
    if (!smm.smram_open_requested) {
        smram_close_aseg();
        smm.closed = true;
    }
    /* Test-only: closed but left unlocked; the lockdown tests must notice. */
    if (!smm.smram_open_requested && !config_fault("smram-unlocked", 0)) {
        if (chipset.kind == CHIPSET_Q35 && fsmbase_supported())
            smm.fsmbase_locked = fsmbase_lock();
        if (chipset.kind == CHIPSET_Q35) {
            /* SMI_LOCK freezes GBL_SMI_EN: the OS can no longer switch SMIs off. */
            smm.smi_lock_by_fw = smi_lock_is_set();
            smm.smi_locked = smi_lock_set();
        }
        smm.locked = smram_lock();
    }
}

/* SMM's wake and timer vectors must never reach the OS (smm/image/halt.c
 * drains them before RSM): if one does, say so instead of "unexpected
 * interrupt". */
static void stray_wake(struct regs *r)
{
    smm_print_stays(cpu_index(), 3);           /* which stay left it */
    panic_regs(r, "SMM's wake vector 0x%x reached the OS (a wake IPI of smm_wait=hlt left pending)",
               SMM_WAKE_VECTOR);
}

static void stray_timer(struct regs *r)
{
    smm_print_stays(cpu_index(), 3);           /* which stay left it */
    panic_regs(r, "SMM's timer vector 0x%x reached the OS (a halt's one-shot of smm_wait=hlt left pending)",
               SMM_TIMER_VECTOR);
}

bool smm_setup(void)
{
    smm.backend = SYNCH_MEM;
    read_bounds();
    if (!smm_possible())
        return false;
    apm_enable();                   /* also learns PMBASE (TCO base) on q35 */
    if (!smm_choose_layout())
        return false;
    if (!reloc_window_ok(&boot_info, smm.why_not, sizeof(smm.why_not)))
        return false;
    smm_relocate_all();
    smm_install_image();
    if (smm.region == SMRAM_TSEG && !tseg_enable(smm.tseg_mb)) {
        smm_why("%s", "TSEG did not enable");
        return false;
    }
    lock_down();
    power_set_hooks(&synch_power_hooks);
    idt_set_handler(SMM_WAKE_VECTOR, stray_wake);
    idt_set_handler(SMM_TIMER_VECTOR, stray_timer);
    smm.ready = true;
    return true;
}
