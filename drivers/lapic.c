/* Local APIC: xAPIC through MMIO at 0xFEE00000, x2APIC through MSRs 0x800+
 * (SDM vol. 3A ch. 11). QEMU 7.2's TCG has no x2APIC (docs/PLATFORM.md Q4);
 * KVM has. Every ICR wait is bounded. */
#include "drivers/lapic.h"
#include "arch/x86.h"
#include "arch/percpu.h"
#include "drivers/timer.h"

#define SVR_ENABLE (1u << 8)

static bool use_x2apic;

bool lapic_x2apic(void) { return use_x2apic; }

uint32_t lapic_read_reg(uint32_t off)
{
    if (use_x2apic)
        return (uint32_t)rdmsr(X2APIC_MSR(off));
    return mmio_read32(XAPIC_BASE + off);
}

void lapic_write_reg(uint32_t off, uint32_t v)
{
    if (use_x2apic)
        wrmsr(X2APIC_MSR(off), v);
    else
        mmio_write32(XAPIC_BASE + off, v);
}

static bool cpu_has_x2apic(void)
{
    uint32_t a, b, c, d;
    cpuid(1, 0, &a, &b, &c, &d);
    return c & (1u << 21);
}

void lapic_init(void)
{
    uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
    base |= APIC_BASE_ENABLE;
    /* Every CPU makes the same choice, so the BSP's decision holds for all. */
    if (cpu_has_x2apic()) {
        base |= APIC_BASE_X2APIC;
        use_x2apic = true;
    }
    wrmsr(MSR_IA32_APIC_BASE, base);
    lapic_write_reg(APIC_SVR, SVR_ENABLE | 0xFF);
    lapic_write_reg(APIC_TPR, 0);
    lapic_write_reg(APIC_LVT_LINT0, LVT_MASKED);
    lapic_write_reg(APIC_LVT_LINT1, LVT_MASKED);
    lapic_write_reg(APIC_LVT_ERROR, LVT_MASKED);
    lapic_write_reg(APIC_LVT_TIMER, LVT_MASKED);
    if (!use_x2apic) {
        lapic_write_reg(APIC_DFR, 0xFFFFFFFF);          /* flat model */
        lapic_write_reg(APIC_LDR, (1u << (24 + (cpu_index() & 7))));
    }
    lapic_write_reg(APIC_ESR, 0);
}

uint32_t lapic_id(void)
{
    uint32_t id = lapic_read_reg(APIC_ID);
    return use_x2apic ? id : id >> 24;
}

bool lapic_send_ipi(uint32_t dest, uint32_t icr_low)
{
    if (use_x2apic) {
        wrmsr(X2APIC_MSR(APIC_ICR_LO), ((uint64_t)dest << 32) | icr_low);
        return true;
    }
    uint64_t flags = read_rflags();
    cli();
    mmio_write32(XAPIC_BASE + APIC_ICR_HI, dest << 24);
    mmio_write32(XAPIC_BASE + APIC_ICR_LO, icr_low);
    bool ok = false;
    for (unsigned i = 0; i < 1000000; i++) {
        if (!(mmio_read32(XAPIC_BASE + APIC_ICR_LO) & ICR_DELIVS)) {
            ok = true;
            break;
        }
        cpu_relax();
    }
    if (flags & RFLAGS_IF)
        sti();
    return ok;
}

void lapic_eoi(void) { lapic_write_reg(APIC_EOI, 0); }

uint32_t lapic_esr(void)
{
    lapic_write_reg(APIC_ESR, 0);
    return lapic_read_reg(APIC_ESR);
}

void lapic_timer_start(uint32_t lvt, uint32_t initial_count, unsigned divide_log2)
{
    /* Divide configuration encoding, SDM figure 11-10. */
    static const uint8_t div[8] = { 0xB, 0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xA };
    lapic_write_reg(APIC_TIMER_DIV, div[divide_log2 & 7]);
    lapic_write_reg(APIC_LVT_TIMER, lvt);
    lapic_write_reg(APIC_TIMER_INIT, initial_count);
}

void lapic_timer_stop(void)
{
    lapic_write_reg(APIC_LVT_TIMER, LVT_MASKED);
    lapic_write_reg(APIC_TIMER_INIT, 0);
}

uint32_t lapic_timer_current(void) { return lapic_read_reg(APIC_TIMER_CUR); }

/* Timer ticks per millisecond at divide-by-16, counted down masked over
 * 1 ms of the TSC, once (all local APIC timers run at the same rate). */
uint32_t lapic_timer_per_ms(void)
{
    static uint32_t per_ms;
    if (!per_ms) {
        lapic_timer_start(LVT_MASKED, 0xFFFFFFFF, 4);
        udelay(1000);
        per_ms = 0xFFFFFFFF - lapic_timer_current();
        lapic_timer_stop();
        if (!per_ms)
            per_ms = 1000;
    }
    return per_ms;
}
