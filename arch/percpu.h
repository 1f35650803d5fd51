/* Per-CPU data, reached through GS base (each CPU points it at its own
 * struct percpu when it starts). */
#ifndef SMMSYNC_PERCPU_H
#define SMMSYNC_PERCPU_H
#include <stdint.h>
#include <stddef.h>

#define MAX_CPUS 64              /* = SMMSYNC_MAX_CPUS in smm/smm_abi.h */
#define MSR_GS_BASE 0xC0000101

struct percpu {
    struct percpu *self;         /* offset 0 */
    uint32_t idx;                /* offset 8: logical CPU number */
    uint32_t apic_id;            /* offset 12 */
    const char *where;           /* what this CPU is doing (for hang reports) */
    uint64_t irq_count;
};

void percpu_init_this(unsigned idx, uint32_t apic_id);
struct percpu *percpu_of(unsigned idx);

static inline unsigned cpu_index(void)
{
    uint32_t v;
    __asm__ volatile("movl %%gs:8, %0" : "=r"(v));
    return v;
}
static inline struct percpu *this_percpu(void)
{
    struct percpu *p;
    __asm__ volatile("movq %%gs:0, %0" : "=r"(p));
    return p;
}
#endif
