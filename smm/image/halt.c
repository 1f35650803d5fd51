/* smm_wait=hlt: a CPU halts while it waits in SMM (a member for its
 * release, the monarch for its arrivals), so its vCPU gives the host core
 * back (smm_abi.h, enum smm_wait_method). Each halt is bounded by this
 * CPU's own local APIC timer (a one-shot of at most SMM_HALT_MAX_US on
 * SMM_TIMER_VECTOR, apart from the wake IPIs' SMM_WAKE_VECTOR, so that the
 * records can tell them apart), which is why only a CPU whose timer the OS leaves
 * masked, or lends (smm_config.lent_tick_lvt), may halt: its LVT timer,
 * initial count and divider are put back before RSM (a lent periodic tick
 * so restarts with a full period). The task priority (CR8) is raised to
 * class 0xE for the wait, so the OS's own interrupts, its tick among them,
 * stay pending until after RSM. */
#include "smm/image/smm.h"
#include "drivers/apic_regs.h"

#define TIMER_DIV16 0x3u                 /* APIC_TIMER_DIV encoding of divide-by-16 */

bool smm_halt_possible(void)
{
    if (smm_config.wait_method != SMM_WAIT_HLT || !smm_config.apic_timer_per_ms)
        return false;
    uint32_t lvt = smm_apic_read(APIC_LVT_TIMER) & ~LVT_SEND_PENDING;
    return (lvt & LVT_MASKED) || (smm_config.lent_tick_lvt && lvt == smm_config.lent_tick_lvt);
}

/* The CPU's timer as the OS left it, and its task priority. */
struct timer_save { uint32_t lvt, init, div; uint64_t tpr; };

static struct timer_save halt_begin(void)
{
    struct timer_save t = { smm_apic_read(APIC_LVT_TIMER), smm_apic_read(APIC_TIMER_INIT),
                            smm_apic_read(APIC_TIMER_DIV), read_cr8() };
    write_cr8(SMM_WAKE_TPR);
    return t;
}

static void halt_end(struct timer_save t)
{
    smm_apic_write(APIC_LVT_TIMER, t.lvt | LVT_MASKED);
    smm_apic_write(APIC_TIMER_DIV, t.div);
    smm_apic_write(APIC_TIMER_INIT, t.init);           /* a periodic tick restarts its period */
    smm_apic_write(APIC_LVT_TIMER, t.lvt);
    write_cr8(t.tpr);
}

/* A one-shot of 'ticks' on SMM_TIMER_VECTOR. Unmasked before the count
 * starts: a one-shot that ran out while its LVT was masked would raise
 * nothing, and the halt would never end (seen: a vCPU thread preempted
 * between the two writes; a remainder under a microsecond is one tick). */
static void arm_ticks(uint64_t ticks)
{
    smm_apic_write(APIC_LVT_TIMER, LVT_MASKED | SMM_TIMER_VECTOR);
    smm_apic_write(APIC_TIMER_DIV, TIMER_DIV16);
    smm_apic_write(APIC_LVT_TIMER, SMM_TIMER_VECTOR);    /* one-shot, unmasked */
    smm_apic_write(APIC_TIMER_INIT, ticks > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)ticks);
}

static void arm(uint64_t now, uint64_t end)
{
    uint64_t us = end > now ? (end - now) * 1000000 / smm_config.tsc_hz : 0;
    if (us > SMM_HALT_MAX_US)
        us = SMM_HALT_MAX_US;
    arm_ticks(us * smm_config.apic_timer_per_ms / 1000 + 1);
}

/* One halt, counted: a wake IPI or the timer ends it. */
static void halt_counted(struct smm_rec *r)
{
    r->halts++;
    smm_halt_once();
    if (!smm_apic_read(APIC_TIMER_CUR))
        r->timer_wakes++;
}

bool smm_wait_halting(bool (*done)(void *ctx), void *ctx, uint64_t end, struct smm_rec *r)
{
    struct timer_save t = halt_begin();
    bool ok;
    for (;;) {
        if (done(ctx)) {
            ok = true;
            break;
        }
        uint64_t now = smm_clock();
        if (now >= end) {
            ok = done(ctx);
            break;
        }
        arm(now, end);
        halt_counted(r);
    }
    halt_end(t);
    return ok;
}

/* SMM_LOCAL_SHORT_HALT: one halt on a one-shot of one tick, which runs out
 * at once; it must still end (by that timer). */
void smm_halt_one_tick(struct smm_rec *r)
{
    struct timer_save t = halt_begin();
    arm_ticks(1);
    halt_counted(r);
    halt_end(t);
}

/* Whether an SMM interrupt (a wake IPI, a halt's one-shot) is pending in
 * this CPU's IRR (SDM 11.8.4: vectors 0xE0-0xFF in the eighth word). */
static bool wake_pending(void)
{
    uint32_t irr = smm_apic_read(APIC_IRR + 0x70);
    return irr >> (SMM_WAKE_VECTOR % 32) & 1 || irr >> (SMM_TIMER_VECTOR % 32) & 1;
}

/* A window takes one interrupt, the higher vector first: with a wake IPI
 * and the one-shot both pending, one window left the wake for the OS (seen
 * under run-configs -j 2: the kernel's panic on 0xF8, cpu0's record showing
 * its halt ended and both bits still set). So one window, then one more
 * for as long as the IRR shows one, at most SMM_DRAIN_WINDOWS. */
#define SMM_DRAIN_WINDOWS 8

void smm_halt_drain(void)
{
    uint64_t tpr = read_cr8();
    write_cr8(SMM_WAKE_TPR);
    smm_irq_window();
    for (int i = 0; i < SMM_DRAIN_WINDOWS && wake_pending(); i++)
        smm_irq_window();
    write_cr8(tpr);
}

/* SMM_LOCAL_SHORT_HALT's second half: a wake IPI to itself and a one-tick
 * one-shot, both pending at once (interrupts off), then the drain; true
 * when nothing is left. *both: they were both pending before it. What a
 * faulty drain leaves is taken here after the look, so that the verdict
 * is this result, not a panic racing it. */
bool smm_drain_selftest(unsigned cpu, bool *both)
{
    struct timer_save t = halt_begin();
    smm_wake(cpu);
    arm_ticks(1);
    uint32_t want = 1u << (SMM_WAKE_VECTOR % 32) | 1u << (SMM_TIMER_VECTOR % 32);
    for (int i = 0; i < 100000 && (smm_apic_read(APIC_IRR + 0x70) & want) != want; i++)
        cpu_relax();
    *both = (smm_apic_read(APIC_IRR + 0x70) & want) == want;
    halt_end(t);
    smm_halt_drain();
    bool clear = !wake_pending();
    uint64_t tpr = read_cr8();
    write_cr8(SMM_WAKE_TPR);
    for (int i = 0; i < SMM_DRAIN_WINDOWS && wake_pending(); i++)
        smm_irq_window();
    write_cr8(tpr);
    return clear;
}
