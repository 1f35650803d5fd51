/* TSC calibration. PIT: Intel 8254 datasheet (channel 2 gated through
 * port 0x61, mode 0 "interrupt on terminal count"); 1.193182 MHz input. */
#include "drivers/timer.h"
#include "arch/x86.h"
#include "arch/percpu.h"
#include "drivers/lapic.h"
#include "drivers/apic_regs.h"
#include "lib/units.h"

#define PIT_HZ        1193182u
#define PIT_CH2       0x42
#define PIT_CMD       0x43
#define PORT_B        0x61        /* bit 0: ch2 gate, bit 1: speaker, bit 5: ch2 out */

static uint64_t tsc_rate = 1000000000ull;   /* until calibrated */
static uint64_t tsc_boot;
static uint16_t pm_port;
static bool pm_ext32;

uint64_t tsc_hz(void) { return tsc_rate; }


uint64_t tsc_to_ns(uint64_t t) { return muldiv(t, 1000000000u, tsc_rate); }
uint64_t ns_to_tsc(uint64_t ns) { return muldiv(ns, tsc_rate, 1000000000u); }

bool deadline_passed(uint64_t deadline) { return rdtsc() >= deadline; }

void timer_tick_set(uint32_t period_us, uint32_t lvt)
{
    this_percpu()->tick_lvt = lvt;
    this_percpu()->tick_us = period_us;
}

/* Halts only with interrupts on (the tick must be able to end the halt) and
 * a tick of this CPU's own that is still armed as it was set (its LVT);
 * interrupts are enabled only once GS points at the CPU's area, so the look
 * at the tick is safe then. */
static bool may_halt(void)
{
    struct percpu *p;
    return irqs_enabled() && (p = this_percpu())->tick_us &&
           (lapic_read_reg(APIC_LVT_TIMER) & ~LVT_SEND_PENDING) == p->tick_lvt;
}

void wait_step(struct wait_state *w)
{
    if (rdtsc() >= w->spin_end && may_halt()) {
        this_percpu()->wait_halts++;
        hlt();
    } else {
        cpu_relax();
    }
}

/* A delay ends on time: it halts only while more than one tick remains,
 * and spins the rest. */
void ndelay(uint64_t ns)
{
    uint64_t now = rdtsc(), end = now + ns_to_tsc(ns);
    while (now < end) {
        uint32_t tick = may_halt() ? this_percpu()->tick_us : 0;
        if (tick && end - now > us_to_tsc(2ull * tick)) {
            this_percpu()->wait_halts++;
            hlt();
        } else {
            cpu_relax();
        }
        now = rdtsc();
    }
}

void udelay(uint64_t us) { ndelay(us * 1000); }
void mdelay(uint64_t ms) { ndelay(ms * 1000000); }
uint64_t uptime_ns(void) { return tsc_to_ns(rdtsc() - tsc_boot); }

/* Both calibrations bracket each clock read between two TSC reads, so a
 * trial knows how far off it can be: a vCPU thread descheduled between a
 * read and its TSC read (under TCG, on a busy host) widens the bracket
 * instead of biasing the result, either way. A trial is kept when its
 * TSC count is known to CAL_PPM; else up to CAL_TRIALS are made and the
 * narrowest is used. The result is the midpoint of the bracket. */
#define CAL_TRIALS 8
#define CAL_PPM    1000u
#define CAL_BOUND  100000000000ull    /* 10 s at 10 GHz: a missing clock cannot hang the boot */

struct cal { uint64_t lo, hi; };      /* the trial's TSC count lies in [lo, hi] */

static bool cal_better(const struct cal *c, const struct cal *best)
{
    return !best->hi || c->hi - c->lo < best->hi - best->lo;
}

static bool cal_good(const struct cal *c)
{
    return c->hi && (c->hi - c->lo) * (1000000u / CAL_PPM) <= c->lo;
}

/* Trials of 'ticks' clock ticks until one is good (or the narrowest of
 * CAL_TRIALS); false if the clock does not run. */
static bool calibrate(bool (*trial)(uint64_t ticks, struct cal *c), uint64_t ticks, struct cal *best)
{
    struct cal c;
    *best = (struct cal){ 0, 0 };
    for (int i = 0; i < CAL_TRIALS && !cal_good(best); i++) {
        if (!trial(ticks, &c))
            return false;
        if (cal_better(&c, best))
            *best = c;
    }
    return true;
}

/* PIT channel 2 counts 'count' ticks from the write of its high byte; its
 * OUT goes high at terminal count, seen by polling port B. */
static bool pit_trial(uint64_t count, struct cal *c)
{
    uint8_t b = inb(PORT_B);
    outb(PORT_B, (uint8_t)((b & ~0x02) | 0x01));  /* gate on, speaker off */
    outb(PIT_CMD, 0xB0);                            /* ch2, lo/hi, mode 0, binary */
    outb(PIT_CH2, (uint8_t)count);
    uint64_t a = rdtsc();
    outb(PIT_CH2, (uint8_t)(count >> 8));           /* the count starts */
    uint64_t z = rdtsc(), low_before = z, before, after;
    for (;;) {
        before = rdtsc();
        uint8_t v = inb(PORT_B);
        after = rdtsc();
        if (v & 0x20)
            break;
        low_before = before;                        /* terminal count came after this */
        if (after - a > CAL_BOUND) {
            outb(PORT_B, b);
            return false;
        }
    }
    outb(PORT_B, b);
    c->lo = low_before > z ? low_before - z : 0;
    c->hi = after - a;
    return true;
}

uint64_t tsc_hz_by_pit(unsigned ms)
{
    uint32_t count = (uint32_t)((uint64_t)PIT_HZ * ms / 1000);
    if (count > 0xFFFF)
        count = 0xFFFF;
    struct cal best;
    if (!calibrate(pit_trial, count, &best))
        return 0;
    return muldiv((best.lo + best.hi) / 2, PIT_HZ, count);
}

/* Prefer the ACPI PM timer: it is read, not polled for an event. */
bool timer_init(void)
{
    tsc_boot = rdtsc();
    uint64_t hz = pm_port ? tsc_hz_by_pmtimer(100) : tsc_hz_by_pit(50);
    if (!hz)
        return false;
    tsc_rate = hz;
    return true;
}

void pmtimer_set_port(uint16_t port, bool ext32)
{
    pm_port = port;
    pm_ext32 = ext32;
}

bool pmtimer_present(void) { return pm_port != 0; }

uint32_t pmtimer_read(void)
{
    uint32_t v = inl(pm_port);
    return pm_ext32 ? v : (v & 0xFFFFFF);
}

/* One PM-timer read bracketed by TSC reads. */
static uint32_t pm_read_at(uint64_t *a, uint64_t *z)
{
    *a = rdtsc();
    uint32_t v = pmtimer_read();
    *z = rdtsc();
    return v;
}

/* The PM timer advanced 'got' ticks between two reads made in [a0, z0] and
 * [a1, z1]. */
static bool pm_trial(uint64_t want, struct cal *c)
{
    uint32_t mask = pm_ext32 ? 0xFFFFFFFFu : 0xFFFFFFu;
    uint64_t a0, z0, a1 = 0, z1 = 0, got = 0;
    uint32_t last = pm_read_at(&a0, &z0);
    while (got < want) {
        uint32_t now = pm_read_at(&a1, &z1);
        got += (now - last) & mask;
        last = now;
        if (z1 - a0 > CAL_BOUND)
            return false;
    }
    /* Scaled to exactly 'want' ticks, so trials compare. */
    c->lo = muldiv(a1 > z0 ? a1 - z0 : 0, want, got);
    c->hi = muldiv(z1 - a0, want, got);
    return true;
}

uint64_t tsc_hz_by_pmtimer(unsigned ms)
{
    if (!pm_port)
        return 0;
    uint64_t want = (uint64_t)PM_TIMER_HZ * ms / 1000;
    struct cal best;
    if (!calibrate(pm_trial, want, &best))
        return 0;
    return muldiv((best.lo + best.hi) / 2, PM_TIMER_HZ, want);
}
