#ifndef SMMSYNC_TIMER_H
#define SMMSYNC_TIMER_H
#include <stdint.h>
#include <stdbool.h>
#include "arch/x86.h"

/* The timebase is the TSC, calibrated at boot against the ACPI PM timer
 * (timer_init; PIT channel 2 only when there is no PM timer). The PIT is
 * the independent second clock the boot test (tests/boot.c) checks it with. */
bool timer_init(void);
uint64_t tsc_hz(void);
uint64_t tsc_to_ns(uint64_t ticks);
uint64_t ns_to_tsc(uint64_t ns);
static inline uint64_t us_to_tsc(uint64_t us) { return ns_to_tsc(us * 1000); }
void ndelay(uint64_t ns);
void udelay(uint64_t us);
void mdelay(uint64_t ms);
uint64_t uptime_ns(void);

/* ACPI PM timer (3.579545 MHz, ACPI 6.x 4.8.3.3). */
#define PM_TIMER_HZ 3579545u
void pmtimer_set_port(uint16_t port, bool ext32);
bool pmtimer_present(void);
uint32_t pmtimer_read(void);
/* Measures the TSC rate against the PM timer over 'ms' milliseconds. */
uint64_t tsc_hz_by_pmtimer(unsigned ms);
uint64_t tsc_hz_by_pit(unsigned ms);

/* A bounded wait: deadline in TSC ticks. */
static inline uint64_t deadline_after_us(uint64_t us)
{
    uint64_t t;
    __asm__ volatile("rdtsc; shl $32, %%rdx; or %%rdx, %%rax" : "=a"(t) :: "rdx");
    return t + us_to_tsc(us);
}
bool deadline_passed(uint64_t deadline);

/* Halting waits. A CPU that has a periodic interrupt of its own (the BSP's
 * test watchdog: timer_tick_set) and runs with interrupts enabled halts
 * between looks once a wait has spun for WAIT_SPIN_US, instead of spinning:
 * the vCPU gives its host core back, and the tick bounds how late the wait
 * notices its condition (one period). Every other CPU, and every wait with
 * interrupts off, spins as before. Each halt is counted in its struct percpu
 * (wait_halts: smp.wait_halt checks that a long wait halted). */
#define WAIT_SPIN_US 500
struct wait_state { uint64_t spin_end; };
/* 'lvt': the LVT timer value of the tick; a CPU halts only while its LVT
 * timer register still holds it (a test that takes the timer over, as
 * smm.lvt_timer does on a 1-CPU machine, turns the halting off). */
void timer_tick_set(uint32_t period_us, uint32_t lvt);
static inline void wait_begin(struct wait_state *w) { w->spin_end = deadline_after_us(WAIT_SPIN_US); }
/* One pause between looks: halts past the spin phase when it may. */
void wait_step(struct wait_state *w);

/* The one bounded wait outside SMM (the SMM image's is smm_wait_until):
 * looks at COND, an expression, until it holds or the deadline passes,
 * pausing (wait_step) between looks; evaluates to whether COND held (one
 * last look at the deadline, so a condition met just then still counts). */
#define WAIT_UNTIL_END(cond, end) __extension__({                \
    uint64_t wait_end_ = (end);                                  \
    struct wait_state wait_st_;                                  \
    wait_begin(&wait_st_);                                       \
    while (!(cond) && !deadline_passed(wait_end_))               \
        wait_step(&wait_st_);                                    \
    (bool)(cond);                                                \
})
#define WAIT_UNTIL(cond, us) WAIT_UNTIL_END(cond, deadline_after_us(us))
#endif
