/* Reading what the handler recorded in the communication area: entry
 * counts and each CPU's ring of SMM event records (struct smm_rec). */
#include "smm/smm.h"
#include "smp/smp.h"
#include "drivers/timer.h"
#include "arch/x86.h"
#include "kernel/console.h"

void smm_snapshot(uint64_t *entries)
{
    for (unsigned i = 0; i < ncpus; i++)
        entries[i] = smm_comm.cpu[i].entries;
}

/* Every CPU of 'set' has entered since 'base', left, and written its record. */
static bool entries_done(cpuset_t set, const uint64_t *base)
{
    for (unsigned i = 0; i < ncpus; i++)
        if (cs_has(set, i) && !(smm_comm.cpu[i].entries > base[i] && !smm_comm.cpu[i].in_smm &&
                                smm_comm.cpu[i].rec_count > base[i]))
            return false;
    return true;
}

/* A halting wait (WAIT_UNTIL): on the BSP a long one (the TCO timer's
 * second) gives the host core back. */
bool smm_wait_entries(cpuset_t set, const uint64_t *base, uint64_t timeout_us)
{
    return WAIT_UNTIL(entries_done(set, base), timeout_us);
}

const struct smm_rec *smm_rec(unsigned cpu, uint64_t entry)
{
    const struct smm_cpu_comm *cc = &smm_comm.cpu[cpu];
    if (!entry || entry > cc->entries || cc->entries - entry >= SMM_RING)
        return 0;
    return &cc->ring[(entry - 1) % SMM_RING];
}

const struct smm_rec *smm_last_rec(unsigned cpu)
{
    return smm_rec(cpu, smm_comm.cpu[cpu].entries);
}

void smm_print_stays(unsigned cpu, unsigned n)
{
    uint64_t last = smm_comm.cpu[cpu].rec_count;
    for (uint64_t e = last >= n ? last - n + 1 : 1; e <= last; e++) {
        const struct smm_rec *x = smm_rec(cpu, e);
        if (x)
            kprintf("# cpu%u SMM stay %lu: role %u event %u cmd 0x%x flags 0x%x halts %u (timer %u) "
                    "wake IPIs %u, tsc entry %lu exit %lu\n", cpu, e, x->role, x->event, x->cmd_id, x->flags,
                    x->halts, x->timer_wakes, x->wake_ipis, x->tsc_entry, x->tsc_exit);
    }
}
