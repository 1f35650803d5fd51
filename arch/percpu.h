/* Per-CPU data, reached through GS base (each CPU points it at its own
 * struct percpu when it starts). */
#ifndef SMMSYNC_PERCPU_H
#define SMMSYNC_PERCPU_H
#include <stdint.h>
#include <stddef.h>

#define MAX_CPUS 255             /* = SMMSYNC_MAX_CPUS in smm/smm_abi.h (the xAPIC limit) */
#define MSR_GS_BASE 0xC0000101

/* Interrupt stack table slots (SDM vol. 3A 6.14.5): the vectors that can
 * arrive whatever the interrupted code did to RSP (the mode tests load a
 * pattern into it) run on a stack of their own, so a stray NMI is counted
 * and a double fault is reported instead of ending in a triple fault. */
#define IST_NMI 1
#define IST_DF  2
#define IST_MC  3
#define IST_COUNT 3
#define IST_STACK_SIZE 4096

struct percpu {
    struct percpu *self;         /* offset 0 */
    uint32_t idx;                /* offset 8: logical CPU number */
    uint32_t apic_id;            /* offset 12 */
    const char *where;           /* what this CPU is doing (for hang reports) */
    uint64_t irq_count;
    uint32_t tick_us;            /* period of this CPU's own periodic interrupt, 0: none */
    uint32_t tick_lvt;           /* its LVT timer value (drivers/timer.c may_halt) */
    uint64_t wait_halts;         /* halts in bounded waits (drivers/timer.c wait_step) */
};

/* Points GS at CPU idx's area, and loads that CPU's GDT and task-state
 * segment (the IST stacks). Again after every INIT: it rebuilds the
 * descriptor LTR marked busy. */
void percpu_init_this(unsigned idx, uint32_t apic_id);
/* [lo, hi) of CPU idx's IST stack 'ist' (1-based), for reports. */
void percpu_ist_range(unsigned idx, unsigned ist, uintptr_t *lo, uintptr_t *hi);
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
