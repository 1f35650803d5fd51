/* The test runner: selects tests (tests=GLOB[,GLOB]), skips the ones the
 * machine cannot run, and runs the rest on the BSP under a watchdog (the
 * BSP's local APIC timer): a test past its time limit is reported as a
 * TIMEOUT and the run goes on to the summary. */
#include "kernel/test.h"
#include "kernel/report.h"
#include "kernel/console.h"
#include "lib/cmdline.h"
#include "kernel/config.h"
#include "kernel/platform.h"
#include "main/testrun.h"
#include "lib/kstring.h"
#include "lib/printf.h"
#include "kernel/idt.h"
#include "arch/percpu.h"
#include "arch/x86.h"
#include "drivers/lapic.h"
#include "drivers/timer.h"
#include "smp/smp.h"

struct ctx { uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip; };
int ctx_save(struct ctx *c) __attribute__((returns_twice));
__attribute__((noreturn)) void ctx_jump(struct ctx *c, int v);

static struct ctx runner_ctx;
static const struct test *volatile current;
static volatile uint64_t current_deadline;
static volatile bool timed_out;

static uint32_t limit_ms(const struct test *t)
{
    return (t->timeout_ms ? t->timeout_ms : TEST_DEFAULT_TIMEOUT_MS) * host_scale();
}

static void watchdog_unwind(void)
{
    ctx_jump(&runner_ctx, 1);
}

static void watchdog_tick(struct regs *r)
{
    lapic_eoi();
    const struct test *t = current;
    if (!t || rdtsc() < current_deadline || timed_out)
        return;
    timed_out = true;
    char d[96];
    ksnprintf(d, sizeof(d), "%u ms limit exceeded (rip %lx)", limit_ms(t), r->rip);
    report_timeout(t->name, d);
    r->rip = (uint64_t)(uintptr_t)watchdog_unwind;     /* leave through the iretq */
    r->rsp = (r->rsp - 64) & ~0xFull;
}

/* Armed again before every test: a test may take the BSP's timer over
 * (smm.lvt_timer on a 1-CPU machine) and stop it. ~1 ms period (the count
 * only needs to be roughly right): it is also the tick that ends the BSP's
 * halting waits (drivers/timer.h). */
static void watchdog_arm(void)
{
    lapic_timer_start(LVT_WATCHDOG_TICK, lapic_timer_per_ms(), 4);
    timer_tick_set(config_is(wait, "spin") ? 0 : 1000, LVT_WATCHDOG_TICK);
}

static bool selected(const struct test *t, const char *globs)
{
    if (t->needs & FEAT_SELFTEST)      /* only by an exact name */
        return glob_list_match(globs, t->name) && !strchr(globs, '*') && !strchr(globs, '?');
    return glob_list_match(globs, t->name);
}

/* Each comma-separated item must name at least one test. */
static bool check_globs(const char *globs)
{
    char item[128];
    bool ok = true;
    const char *s = globs;
    while (*s) {
        size_t n = 0;
        while (s[n] && s[n] != ',')
            n++;
        if (n && n < sizeof(item)) {
            memcpy(item, s, n);
            item[n] = 0;
            bool any = false;
            for (const struct test *t = tests_begin(); t < tests_end(); t++)
                any |= glob_match(item, t->name);
            if (!any) {
                report(false, "tests: '%s' names no test", item);
                ok = false;
            }
        }
        s += n + (s[n] == ',');
    }
    if (!ok) {
        kprintf("# available tests:\n");
        for (const struct test *t = tests_begin(); t < tests_end(); t++)
            kprintf("#   %-36s min_cpus=%u timeout=%ums%s\n", t->name, t->min_cpus, limit_ms(t),
                    t->needs & FEAT_SELFTEST ? " (self-test: name it exactly)" : "");
    }
    return ok;
}

static void run_one(const struct test *t)
{
    report_prefix_reset();
    report_prefix_push(t->name);
    this_percpu()->where = t->name;
    timed_out = false;
    watchdog_arm();
    current_deadline = rdtsc() + us_to_tsc((uint64_t)limit_ms(t) * 1000);
    uint64_t t0 = rdtsc();
    if (ctx_save(&runner_ctx) == 0) {
        current = t;
        sti();
        t->fn();
        cli();
        current = 0;
    } else {
        cli();
        current = 0;
        kprintf("# %s: abandoned after its time limit; CPUs it used may stay busy\n", t->name);
    }
    kprintf("# %s: %lu ms\n", t->name, tsc_to_ns(rdtsc() - t0) / 1000000);
    report_prefix_reset();
    this_percpu()->where = "test runner";
}

void run_tests(void)
{
    char globs[sizeof(config.tests.v)];
    ksnprintf(globs, sizeof(globs), "%s", config.tests.set && config.tests.v[0] ? config.tests.v : "*");
    /* bench=NAME[,NAME]: run those benchmarks (tests bench.NAME) instead. */
    if (config.bench.set && config.bench.v[0]) {
        size_t n = 0;
        for (const char *b = config.bench.v; *b && n + 8 < sizeof(globs);) {
            n += (size_t)ksnprintf(globs + n, sizeof(globs) - n, "%sbench.", n ? "," : "");
            while (*b && *b != ',' && n + 2 < sizeof(globs))
                globs[n++] = *b++;
            globs[n] = 0;
            if (*b == ',')
                b++;
        }
    }
    if (!check_globs(globs))
        return;
    idt_set_handler(VEC_TIMER, watchdog_tick);
    for (const struct test *t = tests_begin(); t < tests_end(); t++) {
        if (!selected(t, globs))
            continue;
        uint32_t missing = t->needs & ~platform.features & ~FEAT_SELFTEST;
        char why[200];
        if (smp_online() < t->min_cpus) {
            ksnprintf(why, sizeof(why), "needs %u CPUs, %u online", t->min_cpus, smp_online());
            report_skip(why, "%s", t->name);
            continue;
        }
        if (missing & platform.expected) {
            /* No silent skips: the configuration said this would be here. */
            report(false, "%s: needs what this configuration expects (%s)", t->name,
                   platform_missing(missing & platform.expected, why, sizeof(why)));
            continue;
        }
        if (missing) {
            report_skip(platform_missing(missing, why, sizeof(why)), "%s", t->name);
            continue;
        }
        run_one(t);
    }
    timer_tick_set(0, 0);
    lapic_timer_stop();
}
