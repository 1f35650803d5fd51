#include <stdarg.h>
#include "tests/smm_util.h"
#include "kernel/report.h"
#include "lib/printf.h"
#include "drivers/timer.h"
#include "smp/smp.h"

/* Every CPU's last SMM entry has its record complete (the handler bumps
 * rec_count as it leaves SMM). */
static bool records_complete(void)
{
    for (unsigned i = 0; i < ncpus; i++)
        if (smm_comm.cpu[i].rec_count != smm_comm.cpu[i].entries)
            return false;
    return true;
}

/* Until every CPU in SMM has left it (bounded: 1 s times the host's scale;
 * with 64 vCPUs on 2 host CPUs the last one can take more than 20 ms),
 * then 20 ms for stray SMIs to show up. */
void settle(void)
{
    WAIT_UNTIL(records_complete(), 1000000ull * host_scale());
    mdelay(20);
}

void expect_smi_check(cpuset_t set, const uint64_t *base, bool triggered, const char *fmt, ...)
{
    static char name[160], got_s[CPUSET_STR], want_s[CPUSET_STR];
    va_list ap;
    va_start(ap, fmt);
    kvsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);
    bool arrived = triggered && smm_wait_entries(set, base, 1000000ull * host_scale());
    settle();
    cpuset_t got = cs_none(), extra = cs_none();
    for (unsigned i = 0; i < ncpus; i++) {
        uint64_t d = smm_entries(i) - base[i];
        if (d)
            cs_add(&got, i);
        if (d > 1)
            cs_add(&extra, i);
    }
    bool ok = arrived && cs_eq(got, set) && cs_empty(extra);
    if (!report(ok, "%s", name))
        report_info("%s: expected SMM entries on {%s}, saw {%s}%s%s", name, SET_STR(set, want_s),
                    SET_STR(got, got_s), cs_empty(extra) ? "" : " (more than one on some)",
                    triggered ? "" : "; trigger failed");
}

cpuset_t park_aps(cpuset_t set, bool init)
{
    cpuset_t parked = cs_none();
    for (unsigned i = 1; i < ncpus; i++)
        if (cs_has(set, i) && cpu_usable(i) && (init ? cpu_park_init(i) : cpu_park_hlt(i)))
            cs_add(&parked, i);
    return parked;
}

static cpuset_t all_aps(void) { return cs_minus(cs_first_n(ncpus), cs_of(0)); }

cpuset_t park_aps_hlt(void) { return park_aps(all_aps(), false); }
cpuset_t park_aps_hlt_but(unsigned keep) { return park_aps(usable_aps_but(keep), false); }

cpuset_t usable_aps_but(unsigned keep)
{
    cpuset_t m = cs_none();
    for (unsigned i = 1; i < ncpus; i++)
        if (i != keep && cpu_usable(i))
            cs_add(&m, i);
    return m;
}
cpuset_t park_aps_init(void) { return park_aps(all_aps(), true); }

bool wake_aps(cpuset_t set)
{
    bool ok = true;
    for (unsigned i = 1; i < ncpus; i++) {
        if (!cs_has(set, i))
            continue;
        if (cpus[i].state == CPU_PARKED_HLT)
            ok &= cpu_wake_hlt(i);
        else if (cpus[i].state == CPU_PARKED_INIT)
            ok &= cpu_wake_sipi(i);
    }
    return ok;
}
