/* Helpers shared by the SMM tests. */
#ifndef SMMSYNC_SMM_UTIL_H
#define SMMSYNC_SMM_UTIL_H
#include <stdint.h>
#include <stdbool.h>
#include "smm/smm.h"

static inline uint64_t bit_of(unsigned cpu) { return 1ull << cpu; }
static inline unsigned popcount64(uint64_t m)   /* no libgcc in the kernel */
{
    unsigned n = 0;
    for (; m; m &= m - 1)
        n++;
    return n;
}

/* Checks that exactly the CPUs in 'mask' entered SMM once since 'base'
 * (bounded wait, then a settle time for strays). One TAP result. */
void expect_smi_check(uint64_t mask, const uint64_t *base, bool triggered, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define EXPECT_SMI(mask, trigger, ...)                             \
    do {                                                           \
        uint64_t base_[SMMSYNC_MAX_CPUS];                          \
        smm_snapshot(base_);                                       \
        bool trig_ = (trigger);                                    \
        expect_smi_check((mask), base_, trig_, __VA_ARGS__);       \
    } while (0)

/* Park every usable AP with HLT / INIT; returns the set parked. */
uint64_t park_aps_hlt(void);
uint64_t park_aps_hlt_but(unsigned keep);   /* every usable AP except keep, by HLT */
uint64_t usable_aps_but(unsigned keep);      /* usable APs except 'keep' */
uint64_t park_aps_init(void);
uint64_t park_aps(uint64_t mask, bool init);
/* Wake CPUs parked by the above (either kind). */
bool wake_aps(uint64_t mask);
void settle(void);              /* let stray SMIs show up: 20 ms */
/* Describes a CPU mask as "0,2,3" into buf. */
const char *mask_str(uint64_t m, char *buf, unsigned len);
#endif
