/* The power transitions (patent claims 11-14): HLT park, INIT park, and
 * their wakes. A parking CPU says "inactive" before it stops (claim 12), a
 * waking one "active" when it runs again (claim 13); the hooks SMM
 * registered turn that into its synchbyte (smp/power.h). */
#include "smp/power.h"
#include "smp/smp.h"
#include "drivers/lapic.h"
#include "drivers/timer.h"
#include "arch/percpu.h"
#include "arch/x86.h"


static void park_hlt_fn(void *arg)
{
    (void)arg;
    struct cpu *c = &cpus[cpu_index()];
    cli();
    power_self(POWER_INACTIVE);                /* claim 12: low-power state */
    c->state = CPU_PARKED_HLT;
    this_percpu()->where = "parked (hlt)";
    while (!READ_ONCE(c->wake_req))
        hlt();                                 /* NMI or SMI wakes it */
    c->wake_req = 0;
    power_self(POWER_ACTIVE);                  /* claim 13: waking up */
}

bool cpu_park_hlt(unsigned cpu)
{
    if (cpu == 0 || !on_cpu_async(cpu, park_hlt_fn, 0))
        return false;
    return cpu_wait_state(cpu, CPU_PARKED_HLT, 1000000);
}

bool cpu_wake_hlt(unsigned cpu)
{
    struct cpu *c = &cpus[cpu];
    if (c->state != CPU_PARKED_HLT)
        return false;
    c->wake_req = 1;
    /* The NMI may land between the check and the hlt: resend until it wakes
     * (bounded; a vCPU thread on a loaded host can be slow to run). */
    uint64_t end = deadline_after_us(5000000);
    while (c->state == CPU_PARKED_HLT) {
        lapic_send_ipi(c->apic_id, ICR_DM_NMI);
        if (deadline_passed(end))
            return false;
        udelay(100);
    }
    return on_cpu_wait(cpu, 5000000);
}

static void park_init_fn(void *arg)
{
    (void)arg;
    struct cpu *c = &cpus[cpu_index()];
    cli();
    power_self(POWER_INACTIVE);                /* claim 12: before the INIT */
    c->state = CPU_PARKING_INIT;
    this_percpu()->where = "waiting for the parking INIT";
    /* The INIT ends this loop; if it never comes, give up and stay active. */
    uint64_t end = deadline_after_us(5000000);
    while (!deadline_passed(end)) {
        c->park_spins++;
        cpu_relax();
    }
    power_self(POWER_ACTIVE);
}

/* TCG takes the INIT at the next branch of the target's vCPU thread,
 * which may not be running: wait until its loop has stopped counting
 * for 5 ms (at least 10 ms in all, at most 1 s). An SMI sent while the
 * INIT is still pending would be dropped with it (docs/PLATFORM.md Q3). */
static void wait_init_taken(unsigned cpu)
{
    uint64_t t_end = deadline_after_us(1000000), quiet_from = rdtsc(), last = cpus[cpu].park_spins;
    uint64_t start = rdtsc();
    while (!deadline_passed(t_end)) {
        udelay(500);
        uint64_t now = cpus[cpu].park_spins;
        if (now != last) {
            last = now;
            quiet_from = rdtsc();
        } else if (rdtsc() - quiet_from >= us_to_tsc(5000) && rdtsc() - start >= us_to_tsc(10000)) {
            break;
        }
    }
}

bool cpu_park_init(unsigned cpu)
{
    if (cpu == 0 || !on_cpu_async(cpu, park_init_fn, 0) ||
        !cpu_wait_state(cpu, CPU_PARKING_INIT, 1000000))
        return false;
    /* Not while it is in SMM: TCG would reset it mid-handler and leave its
     * byte "in SMM" (found by the model: regress-tcg-init-*). A window remains
     * between this check and the INIT (docs/model: residual-tcg-init-*). */
    WAIT_UNTIL(!power_busy(cpu), 100000);
    lapic_send_ipi(cpus[cpu].apic_id, ICR_DM_INIT | ICR_LEVEL_ASSERT | ICR_TRIGGER_LEVEL);
    lapic_send_ipi(cpus[cpu].apic_id, ICR_DM_INIT | ICR_TRIGGER_LEVEL);
    wait_init_taken(cpu);
    cpus[cpu].state = CPU_PARKED_INIT;
    return true;
}

bool cpu_wake_sipi(unsigned cpu)
{
    if (cpus[cpu].state != CPU_PARKED_INIT)
        return false;
    return cpu_restart(cpu);
}
