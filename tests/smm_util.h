/* Helpers shared by the SMM tests. */
#ifndef SMMSYNC_SMM_UTIL_H
#define SMMSYNC_SMM_UTIL_H
#include <stdint.h>
#include <stdbool.h>
#include "smm/smm.h"

/* A set of CPUs as text into a CPUSET_STR buffer: "0-3,5" or "none". */
#define SET_STR(set, buf) cs_format((set), (buf), sizeof(buf))

/* Checks that exactly the CPUs in 'set' entered SMM once since 'base'
 * (bounded wait, then a settle time for strays). One TAP result. */
void expect_smi_check(cpuset_t set, const uint64_t *base, bool triggered, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define EXPECT_SMI(set, trigger, ...)                             \
    do {                                                           \
        uint64_t base_[SMMSYNC_MAX_CPUS];                          \
        smm_snapshot(base_);                                       \
        bool trig_ = (trigger);                                    \
        expect_smi_check((set), base_, trig_, __VA_ARGS__);        \
    } while (0)

/* Park every usable AP with HLT / INIT; returns the set parked. */
cpuset_t park_aps_hlt(void);
cpuset_t park_aps_hlt_but(unsigned keep);   /* every usable AP except keep, by HLT */
cpuset_t usable_aps_but(unsigned keep);      /* usable APs except 'keep' */
cpuset_t park_aps_init(void);
cpuset_t park_aps(cpuset_t set, bool init);
/* Wake CPUs parked by the above (either kind). */
bool wake_aps(cpuset_t set);
void settle(void);              /* every CPU out of SMM (bounded), then 20 ms for strays */
#endif
