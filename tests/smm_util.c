#include <stdarg.h>
#include "tests/smm_util.h"
#include "kernel/report.h"
#include "lib/printf.h"
#include "drivers/timer.h"
#include "smp/smp.h"

void settle(void) { mdelay(20); }

const char *mask_str(uint64_t m, char *buf, unsigned len)
{
    unsigned n = 0;
    buf[0] = 0;
    for (unsigned i = 0; i < 64 && n + 4 < len; i++)
        if (m >> i & 1)
            n += (unsigned)ksnprintf(buf + n, len - n, "%s%u", n ? "," : "", i);
    if (!n)
        ksnprintf(buf, len, "none");
    return buf;
}

void expect_smi_check(uint64_t mask, const uint64_t *base, bool triggered, const char *fmt, ...)
{
    char name[160], got_s[96], want_s[96];
    va_list ap;
    va_start(ap, fmt);
    kvsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);
    bool arrived = triggered && smm_wait_entries(mask, base, 1000000);
    settle();
    uint64_t got = 0, extra = 0;
    for (unsigned i = 0; i < ncpus; i++) {
        uint64_t d = smm_entries(i) - base[i];
        if (d)
            got |= bit_of(i);
        if (d > 1)
            extra |= bit_of(i);
    }
    bool ok = arrived && got == mask && !extra;
    if (!report(ok, "%s", name))
        report_info("%s: expected SMM entries on {%s}, saw {%s}%s%s", name,
                    mask_str(mask, want_s, sizeof(want_s)), mask_str(got, got_s, sizeof(got_s)),
                    extra ? " (more than one on some)" : "", triggered ? "" : "; trigger failed");
}

uint64_t park_aps(uint64_t mask, bool init)
{
    uint64_t parked = 0;
    for (unsigned i = 1; i < ncpus; i++)
        if ((mask >> i & 1) && cpu_usable(i) && (init ? cpu_park_init(i) : cpu_park_hlt(i)))
            parked |= bit_of(i);
    return parked;
}

uint64_t park_aps_hlt(void) { return park_aps(~1ull, false); }
uint64_t park_aps_hlt_but(unsigned keep) { return park_aps(usable_aps_but(keep), false); }

uint64_t usable_aps_but(unsigned keep)
{
    uint64_t m = 0;
    for (unsigned i = 1; i < ncpus; i++)
        if (i != keep && cpu_usable(i))
            m |= bit_of(i);
    return m;
}
uint64_t park_aps_init(void) { return park_aps(~1ull, true); }

bool wake_aps(uint64_t mask)
{
    bool ok = true;
    for (unsigned i = 1; i < ncpus; i++) {
        if (!(mask >> i & 1))
            continue;
        if (cpus[i].state == CPU_PARKED_HLT)
            ok &= cpu_wake_hlt(i);
        else if (cpus[i].state == CPU_PARKED_INIT)
            ok &= cpu_wake_sipi(i);
    }
    return ok;
}
