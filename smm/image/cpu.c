/* CPU-level helpers for SMM: who am I, SMI IPIs, locks. */
#include "smm/image/smm.h"
#include "drivers/apic_regs.h"
#include "lib/units.h"


/* Each CPU's own APIC mode, from its IA32_APIC_BASE: under KVM the BSP runs
 * x2APIC while CPUs never started sit in the firmware's loop in xAPIC mode,
 * so one flag for everyone (smm_config.x2apic, the BSP's) would make those
 * read MSR 0x802 and fault. Reading IA32_APIC_BASE itself never faults. */
static bool x2apic_here(void)
{
    return rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_X2APIC;
}

uint32_t smm_apic_id(void)
{
    if (x2apic_here())
        return (uint32_t)rdmsr(X2APIC_MSR(APIC_ID));
    return mmio_read32(XAPIC_BASE + APIC_ID) >> 24;
}

/* The same for the exception path, kept apart so that nothing it calls can
 * fault again (a fault there would recurse down the SMM stack). */
uint32_t smm_apic_id_nofault(void)
{
    if (rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_X2APIC)
        return (uint32_t)rdmsr(X2APIC_MSR(APIC_ID));
    return mmio_read32(XAPIC_BASE + APIC_ID) >> 24;
}

int smm_cpu_of_apic(uint32_t apic_id)
{
    for (unsigned i = 0; i < smm_config.ncpus && i < SMMSYNC_MAX_CPUS; i++)
        if (smm_config.apic_id[i] == apic_id)
            return (int)i;
    return -1;
}

/* An IPI to one CPU, physical destination (SDM vol. 3A 11.6.1). The
 * interrupted code may have been between its ICR-high and ICR-low writes:
 * put ICR-high back. */
static void send_ipi(unsigned cpu, uint32_t icr_lo)
{
    uint32_t dest = smm_config.apic_id[cpu];
    if (x2apic_here()) {
        wrmsr(X2APIC_MSR(APIC_ICR_LO), ((uint64_t)dest << 32) | icr_lo);
        return;
    }
    uint32_t saved_hi = mmio_read32(XAPIC_BASE + APIC_ICR_HI);
    mmio_write32(XAPIC_BASE + APIC_ICR_HI, dest << 24);
    mmio_write32(XAPIC_BASE + APIC_ICR_LO, icr_lo);
    for (unsigned i = 0; i < 100000 && (mmio_read32(XAPIC_BASE + APIC_ICR_LO) & ICR_DELIVS); i++)
        cpu_relax();
    mmio_write32(XAPIC_BASE + APIC_ICR_HI, saved_hi);
}

void smm_send_smi(unsigned cpu)
{
    send_ipi(cpu, ICR_DM_SMI | ICR_LEVEL_ASSERT);
}

uint64_t smm_us_to_tsc(uint64_t us)
{
    return ticks_of_us(us, smm_config.tsc_hz);
}

/* The rendezvous port's clock and wait step (rdv_port.h). */
uint64_t smm_clock(void) { return rdtsc(); }
void smm_relax(void) { cpu_relax(); }

/* This CPU's local APIC registers, in its own mode. */
uint32_t smm_apic_read(uint32_t reg)
{
    if (x2apic_here())
        return (uint32_t)rdmsr(X2APIC_MSR(reg));
    return mmio_read32(XAPIC_BASE + reg);
}

void smm_apic_write(uint32_t reg, uint32_t v)
{
    if (x2apic_here())
        wrmsr(X2APIC_MSR(reg), v);
    else
        mmio_write32(XAPIC_BASE + reg, v);
}

/* The wake IPI of smm_wait=hlt: a fixed interrupt, SMM_WAKE_VECTOR. */
void smm_wake(unsigned cpu)
{
    send_ipi(cpu, ICR_DM_FIXED | SMM_WAKE_VECTOR);
}

/* From the NMI stub (smm/image/idt.asm): an NMI taken in SMM. */
void smm_nmi_seen(void)
{
    int cpu = smm_cpu_of_apic(smm_apic_id());
    if (cpu >= 0)
        __atomic_add_fetch(&comm()->cpu[cpu].nmis_in_smm, 1, __ATOMIC_SEQ_CST);
}

void smm_self_wake(unsigned cpu) { smm_wake(cpu); }

/* From the timer stub (smm/image/idt.asm): a halt's one-shot, not counted
 * as a wake IPI (smm_wait_halting counts its own timer wakes). */
void smm_timer_eoi(void)
{
    smm_apic_write(APIC_EOI, 0);
}

/* From the wake stub (smm/image/idt.asm): end of interrupt, counted. */
void smm_wake_eoi(void)
{
    smm_apic_write(APIC_EOI, 0);
    int cpu = smm_cpu_of_apic(smm_apic_id());
    if (cpu >= 0)
        __atomic_add_fetch(&comm()->cpu[cpu].irqs_in_smm, 1, __ATOMIC_SEQ_CST);
}
