/* SMI triggers: every source the platform has (local APIC IPIs, APM port
 * 0xB2, the ICH9 TCO block), which CPUs may be sent one, and the q35
 * negotiation that makes APM SMIs broadcast. */
#include "smm/smm.h"
#include "drivers/ich9_tco.h"
#include "smp/smp.h"
#include "drivers/chipset.h"
#include "drivers/fwcfg_smi.h"
#include "drivers/lapic.h"
#include "arch/x86.h"

const char *smi_source_name(enum smi_source s)
{
    static const char *const n[] = { "ipi-physical", "ipi-self", "ipi-all", "ipi-others",
                                     "apm", "tco" };
    return (unsigned)s < SMI_SOURCE_COUNT ? n[s] : "?";
}

static void apm_here(void *arg)
{
    (void)arg;
    apm_trigger(APM_CMD_SMMSYNC);
}

bool smi_trigger(enum smi_source s, unsigned target)
{
    switch (s) {
    case SMI_IPI_PHYS:
        return target < ncpus && lapic_send_ipi(cpus[target].apic_id, ICR_DM_SMI | ICR_LEVEL_ASSERT);
    case SMI_IPI_SELF:
        return lapic_send_ipi(0, ICR_DEST_SELF | ICR_DM_SMI | ICR_LEVEL_ASSERT);
    case SMI_IPI_ALL:
        return lapic_send_ipi(0, ICR_DEST_ALL | ICR_DM_SMI | ICR_LEVEL_ASSERT);
    case SMI_IPI_OTHERS:
        return lapic_send_ipi(0, ICR_DEST_OTHERS | ICR_DM_SMI | ICR_LEVEL_ASSERT);
    case SMI_APM:
        /* On q35 without broadcast the writing CPU takes it: write from the target. */
        if (target == cpu_index()) {
            apm_here(0);
            return true;
        }
        return on_cpu_async(target, apm_here, 0);
    case SMI_TCO:
        if (chipset.kind != CHIPSET_Q35)
            return false;
        outw((uint16_t)(chipset.pmbase + ICH9_TCO_OFF + TCO_DAT_IN), 0x5A);
        return true;
    default:
        return false;
    }
}

bool smm_cpu_ok(unsigned cpu)
{
    return smm.ready && cpu < ncpus && smm.relocated[cpu] && cpu_usable(cpu);
}

cpuset_t smm_ok_set(void)
{
    cpuset_t m = cs_none();
    for (unsigned i = 0; i < ncpus; i++)
        if (smm_cpu_ok(i))
            cs_add(&m, i);
    return m;
}

/* q35: ask QEMU to broadcast APM SMIs to every CPU (drivers/fwcfg_smi.c);
 * once agreed it holds until reset. */
bool smm_apm_negotiate_broadcast(char *whyb, unsigned whylen)
{
    if (smm.apm_broadcast)
        return true;
    if (!fwcfg_smi_broadcast(whyb, whylen))
        return false;
    smm.apm_broadcast = true;
    return true;
}
