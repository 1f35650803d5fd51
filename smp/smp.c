/* CPU enumeration (ACPI MADT), bring-up with INIT-SIPI-SIPI (SDM vol. 3A
 * 9.4.4.1 "Typical BSP initialization sequence"; MP spec 1.4 B.4), the idle
 * loop with on_cpu work. Every wait is bounded. The park/wake paths are in
 * smp/power.c. */
#include "smp/smp.h"
#include "smp/lowmem.h"
#include "smp/power.h"
#include "drivers/acpi.h"
#include "drivers/lapic.h"
#include "drivers/timer.h"
#include "kernel/console.h"
#include "kernel/idt.h"
#include "kernel/config.h"
#include "kernel/test.h"
#include "lib/printf.h"
#include "lib/kstring.h"
#include "arch/x86.h"

struct cpu cpus[MAX_CPUS];
unsigned ncpus;

#define AP_STACK_SIZE 16384
static uint8_t ap_stacks[MAX_CPUS][AP_STACK_SIZE] __attribute__((aligned(4096)));

extern const uint8_t boot_gdtr[];

const char *cpu_state_name(enum cpu_state s)
{
    static const char *const n[] = { "absent", "offline", "starting", "idle", "busy",
                                     "parked-hlt", "parking-init", "parked-init", "failed" };
    return (unsigned)s < sizeof(n) / sizeof(n[0]) ? n[s] : "?";
}

int cpu_by_apic(uint32_t apic_id)
{
    for (unsigned i = 0; i < ncpus; i++)
        if (cpus[i].apic_id == apic_id)
            return (int)i;
    return -1;
}

bool cpu_usable(unsigned cpu)
{
    return cpu < ncpus && (cpus[cpu].state == CPU_IDLE || cpus[cpu].state == CPU_BUSY);
}

unsigned smp_online(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < ncpus; i++)
        n += cpu_usable(i);
    return n;
}

/* Package / core / thread from CPUID leaf 0Bh (SDM vol. 3A 9.9.1). */
static void topology_decode(void)
{
    uint32_t a, b, c, d, smt_shift = 0, core_shift = 0, max;
    cpuid(0, 0, &max, &b, &c, &d);
    if (max >= 0xB) {
        for (uint32_t level = 0; level < 8; level++) {
            cpuid(0xB, level, &a, &b, &c, &d);
            uint32_t type = (c >> 8) & 0xFF;
            if (!type)
                break;
            if (type == 1)
                smt_shift = a & 0x1F;
            else if (type == 2)
                core_shift = a & 0x1F;
        }
    }
    if (core_shift < smt_shift)
        core_shift = smt_shift;
    for (unsigned i = 0; i < ncpus; i++) {
        uint32_t id = cpus[i].apic_id;
        cpus[i].thread = id & ((1u << smt_shift) - 1);
        cpus[i].core = (id >> smt_shift) & ((1u << (core_shift - smt_shift)) - 1);
        cpus[i].pkg = id >> core_shift;
    }
}

bool smp_init(char *err, unsigned errlen)
{
    uint32_t me = lapic_id();
    ncpus = 0;
    for (unsigned i = 0; i < acpi_madt.ncpus; i++) {
        const struct acpi_cpu *m = &acpi_madt.cpus[i];
        if (!m->enabled)
            continue;
        if (ncpus == MAX_CPUS) {
            ksnprintf(err, errlen, "MADT lists more than %u enabled CPUs", MAX_CPUS);
            return false;
        }
        struct cpu *c = &cpus[ncpus];
        c->apic_id = m->apic_id;
        c->online_capable = m->online_capable;
        c->bsp = m->apic_id == me;
        c->state = c->bsp ? CPU_IDLE : CPU_OFFLINE;
        c->stack_top = ap_stacks[ncpus] + AP_STACK_SIZE;
        ncpus++;
    }
    int bsp = cpu_by_apic(me);
    if (bsp != 0) {
        ksnprintf(err, errlen, "the BSP (APIC ID %u) is %s the MADT's first enabled CPU", me,
                  bsp < 0 ? "missing from" : "not");
        return false;
    }
    topology_decode();
    return true;
}

int smp_add_cpu(uint32_t apic_id)
{
    if (ncpus == MAX_CPUS || cpu_by_apic(apic_id) >= 0)
        return -1;
    struct cpu *c = &cpus[ncpus];
    memset(c, 0, sizeof(*c));
    c->apic_id = apic_id;
    c->state = CPU_OFFLINE;
    c->stack_top = ap_stacks[ncpus] + AP_STACK_SIZE;
    ncpus++;
    topology_decode();
    return (int)ncpus - 1;
}

unsigned host_scale(void)
{
    return config_host_scale(ncpus);
}

void smp_print_topology(void)
{
    kprintf("# cpus: %u enabled in the MADT, %u online\n", ncpus, smp_online());
    if (config.host_cpus.set)
        kprintf("# host: %lu CPUs for %u vCPUs: waits for other CPUs x%u (more than %u vCPUs a host CPU)\n",
                config.host_cpus.v, ncpus, host_scale(), VCPUS_PER_HOST_CPU);
    kprintf("# %-4s %-7s %-4s %-5s %-7s %s\n", "cpu", "apic-id", "pkg", "core", "thread", "state");
    for (unsigned i = 0; i < ncpus; i++)
        kprintf("# %-4u %-7u %-4u %-5u %-7u %s%s\n", i, cpus[i].apic_id, cpus[i].pkg,
                cpus[i].core, cpus[i].thread, cpu_state_name(cpus[i].state),
                cpus[i].bsp ? " (bsp)" : "");
}

static void nmi_handler(struct regs *r)
{
    struct cpu *c = &cpus[cpu_index()];
    c->nmi_frame = (uintptr_t)r;
    c->nmi_tsc = rdtsc();
    c->nmi_count++;
}

/* The idle loop's wake-up: the interrupt itself ends the hlt. */
static void wake_handler(struct regs *r)
{
    (void)r;
    cpus[cpu_index()].wakes++;
    lapic_eoi();
}

static bool idle_halts = true;     /* idle=hlt (default) or idle=spin */

/* One pass of the idle loop with nothing to do: halt with interrupts on
 * until the next interrupt (VEC_WAKE: new work), or spin (idle=spin).
 * 'sti; hlt' is one step for interrupts: STI lets them in only after the
 * next instruction, so a wake sent after the check below halts nothing.
 * Halted, the CPU is still active for the synchbyte: an SMI wakes it and
 * it enters SMM at once (parking, claim 12, is what makes it inactive). */
static void idle_wait(struct cpu *c)
{
    if (idle_halts && c->work_seq == c->done_seq)
        __asm__ volatile("sti; hlt; cli" ::: "memory");
    else
        cpu_relax();
}

static void intr_handler(struct regs *r)
{
    (void)r;
    struct cpu *c = &cpus[cpu_index()];
    c->intr_tsc = rdtsc();
    c->intr_count++;
    lapic_eoi();
}

void ap_main(uint64_t idx)
{
    struct cpu *c = &cpus[idx];
    __asm__ volatile("lgdt (%0)" :: "r"(boot_gdtr));
    percpu_init_this((unsigned)idx, c->apic_id);   /* the TSS first: the IDT's IST gates need it */
    idt_load();
    lapic_init();
    c->starts++;
    power_self(POWER_ACTIVE);                  /* claim 13: waking up */
    c->done_seq = c->work_seq;                 /* work cut short by INIT is over */
    this_percpu()->where = "idle loop";
    c->state = CPU_IDLE;
    for (;;) {
        uint32_t seq = c->work_seq;
        if (seq != c->done_seq) {
            c->state = CPU_BUSY;
            this_percpu()->where = "on_cpu work";
            c->work_fn(c->work_arg);
            this_percpu()->where = "idle loop";
            c->state = CPU_IDLE;
            __atomic_store_n(&c->done_seq, seq, __ATOMIC_RELEASE);
        }
        c->idle_loops++;
        idle_wait(c);
    }
}

static uint64_t init_udelay = 10000, sipi_udelay = 200, ap_timeout_ms = 1000;

bool cpu_wait_state(unsigned cpu, enum cpu_state s, uint64_t us)
{
    return WAIT_UNTIL(cpus[cpu].state == s, us);
}

/* SIPI, SIPI (SDM 9.4.4.1), then keep re-sending every 10 ms until the AP
 * answers or ap_timeout_ms passes: a SIPI that lands while the AP is in SMM
 * is dropped (docs/PLATFORM.md Q3; EDK2 BZ 4132), and a running AP ignores
 * extra SIPIs. */
static bool send_sipis(unsigned cpu)
{
    struct cpu *c = &cpus[cpu];
    uint64_t end = deadline_after_us(ap_timeout_ms * 1000);
    for (int i = 0; c->state != CPU_IDLE; i++) {
        if (deadline_passed(end)) {
            c->state = CPU_FAILED;
            return false;
        }
        lapic_send_ipi(c->apic_id, ICR_DM_STARTUP | SIPI_VECTOR);
        if (i == 0) {
            udelay(sipi_udelay);
            continue;
        }
        cpu_wait_state(cpu, CPU_IDLE, 10000);
    }
    return true;
}

static bool fault_no_sipi(unsigned cpu)
{
    unsigned n;
    return config_fault("no-sipi", &n) && n == cpu;
}

/* The AP trampoline's parameters: enter ap_main on cpu's own stack. */
static void trampoline_to(unsigned cpu)
{
    struct cpu *c = &cpus[cpu];
    struct lowmem_params *p = LOWMEM_PARAMS;
    c->state = CPU_STARTING;
    p->ap_entry = (uint64_t)(uintptr_t)ap_main;
    p->ap_stack = (uint64_t)(uintptr_t)c->stack_top;
    p->ap_arg = cpu;
}

bool cpu_start(unsigned cpu)
{
    struct cpu *c = &cpus[cpu];
    trampoline_to(cpu);
    lapic_esr();
    lapic_send_ipi(c->apic_id, ICR_DM_INIT | ICR_LEVEL_ASSERT | ICR_TRIGGER_LEVEL);
    udelay(init_udelay);
    lapic_send_ipi(c->apic_id, ICR_DM_INIT | ICR_TRIGGER_LEVEL);   /* de-assert */
    if (fault_no_sipi(cpu)) {
        cpu_wait_state(cpu, CPU_IDLE, ap_timeout_ms * 1000);
        c->state = CPU_FAILED;
        return false;
    }
    return send_sipis(cpu);
}

void smp_boot_aps(void)
{
    if (config.init_udelay.set)
        init_udelay = config.init_udelay.v;
    if (config.sipi_udelay.set)
        sipi_udelay = config.sipi_udelay.v;
    if (config.ap_timeout_ms.set)
        ap_timeout_ms = config.ap_timeout_ms.v;
    idt_set_handler(VEC_NMI, nmi_handler);
    idt_set_handler(VEC_IPI_TEST, intr_handler);
    idt_set_handler(VEC_WAKE, wake_handler);
    idle_halts = !config_is(idle, "spin");
    /* start_cpus=N: leave the rest of the MADT's CPUs never started (their
     * synchbytes keep the zero default: inactive, claim 10). */
    uint64_t start = config.start_cpus.set ? config.start_cpus.v : ncpus;
    for (unsigned i = 1; i < ncpus; i++)
        if (i >= start)
            kprintf("# smp: CPU %u (APIC ID %u) left unstarted (start_cpus=%lu)\n", i,
                    cpus[i].apic_id, start);
        else if (!cpu_start(i))
            kprintf("# smp: CPU %u (APIC ID %u) did not come up within %lu ms\n", i,
                    cpus[i].apic_id, ap_timeout_ms);
}

bool on_cpu_async(unsigned cpu, cpu_fn fn, void *arg)
{
    if (cpu >= ncpus)
        return false;
    struct cpu *c = &cpus[cpu];
    if (cpu == cpu_index()) {
        fn(arg);
        return true;
    }
    if (!cpu_usable(cpu) || c->work_seq != c->done_seq)
        return false;
    c->work_fn = fn;
    c->work_arg = arg;
    __atomic_store_n(&c->work_seq, c->work_seq + 1, __ATOMIC_RELEASE);
    lapic_send_ipi(c->apic_id, ICR_DM_FIXED | VEC_WAKE);    /* it may be halted in its idle loop */
    return true;
}

bool on_cpu_wait(unsigned cpu, uint64_t timeout_us)
{
    struct cpu *c = &cpus[cpu];
    return WAIT_UNTIL(__atomic_load_n(&c->done_seq, __ATOMIC_ACQUIRE) == c->work_seq, timeout_us);
}

bool on_cpu(unsigned cpu, cpu_fn fn, void *arg)
{
    return on_cpu_async(cpu, fn, arg) && (cpu == cpu_index() || on_cpu_wait(cpu, 10000000));
}

bool cpu_restart(unsigned cpu)
{
    trampoline_to(cpu);
    return send_sipis(cpu);
}
