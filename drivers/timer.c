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

uint64_t tsc_hz_by_pit(unsigned ms)
{
    uint32_t count = (uint32_t)((uint64_t)PIT_HZ * ms / 1000);
    if (count > 0xFFFF)
        count = 0xFFFF;
    uint8_t b = inb(PORT_B);
    outb(PORT_B, (uint8_t)((b & ~0x02) | 0x01));  /* gate on, speaker off */
    outb(PIT_CMD, 0xB0);                            /* ch2, lo/hi, mode 0, binary */
    outb(PIT_CH2, (uint8_t)count);
    outb(PIT_CH2, (uint8_t)(count >> 8));
    uint64_t t0 = rdtsc(), t1 = t0;
    /* OUT2 goes high at terminal count; bound the loop by TSC too (10 s at
     * 10 GHz) so a missing PIT cannot hang the boot. */
    while (!(inb(PORT_B) & 0x20)) {
        t1 = rdtsc();
        if (t1 - t0 > 100000000000ull)
            return 0;
    }
    t1 = rdtsc();
    outb(PORT_B, b);
    return muldiv(t1 - t0, PIT_HZ, count);
}

/* Prefer the ACPI PM timer: the calibration reads the timer and the TSC
 * back to back, so a vCPU thread descheduled while it waits does not bias
 * it. The PIT method polls for terminal count and notices it late when
 * descheduled, which can only make a measurement too high: without a PM
 * timer, keep the lowest of several. */
bool timer_init(void)
{
    tsc_boot = rdtsc();
    uint64_t best = 0;
    for (int i = 0; i < 3; i++) {
        uint64_t hz = pm_port ? tsc_hz_by_pmtimer(100) : tsc_hz_by_pit(50);
        if (hz && (!best || hz < best))
            best = hz;
    }
    if (!best)
        return false;
    tsc_rate = best;
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

uint64_t tsc_hz_by_pmtimer(unsigned ms)
{
    if (!pm_port)
        return 0;
    uint32_t mask = pm_ext32 ? 0xFFFFFFFFu : 0xFFFFFFu;
    uint64_t want = (uint64_t)PM_TIMER_HZ * ms / 1000, got = 0;
    uint32_t last = pmtimer_read();
    uint64_t t0 = rdtsc(), t1;
    while (got < want) {
        uint32_t now = pmtimer_read();
        got += (now - last) & mask;
        last = now;
        t1 = rdtsc();
        if (t1 - t0 > 100000000000ull)
            return 0;
    }
    t1 = rdtsc();
    return muldiv(t1 - t0, PM_TIMER_HZ, got);
}
