/* Test results: prefix stack + TAP formatting (lib/tap.c) + the
 * known-deviation list. SMP-safe behind one lock. */
#include <stdarg.h>
#include "kernel/report.h"
#include "lib/tap.h"
#include "kernel/console.h"
#include "lib/printf.h"
#include "arch/spinlock.h"
#include "lib/kstring.h"
#include "lib/deviations.h"
#include "kernel/test.h"
#include "kernel/config.h"
#include "kernel/platform.h"
#include "drivers/debugexit.h"

extern const char deviations_cfg[];     /* kernel/blobs.asm */

static struct tap tap;
static struct spinlock report_lock = SPINLOCK_INIT;
static char prefix[256];
static unsigned prefix_len[16];
static unsigned prefix_depth;
static bool begun;

static void tap_write(void *ctx, const char *s)
{
    (void)ctx;
    kputs(s);
}

void report_begin(void)
{
    tap.write = tap_write;
    tap_begin(&tap);
    begun = true;
}

void report_prefix_push(const char *p)
{
    spin_lock(&report_lock);
    if (prefix_depth < 16) {
        prefix_len[prefix_depth++] = (unsigned)strlen(prefix);
        size_t n = strlen(prefix);
        ksnprintf(prefix + n, sizeof(prefix) - n, "%s%s", n ? "." : "", p);
    }
    spin_unlock(&report_lock);
}

void report_prefix_pop(void)
{
    spin_lock(&report_lock);
    if (prefix_depth)
        prefix[prefix_len[--prefix_depth]] = 0;
    spin_unlock(&report_lock);
}

void report_prefix_reset(void)
{
    spin_lock(&report_lock);
    prefix[0] = 0;
    prefix_depth = 0;
    spin_unlock(&report_lock);
}

static void emit(enum tap_kind k, const char *detail, const char *fmt, va_list ap)
{
    char name[256], msg[200];
    kvsnprintf(msg, sizeof(msg), fmt, ap);
    spin_lock(&report_lock);
    if (prefix[0])
        ksnprintf(name, sizeof(name), "%s: %s", prefix, msg);
    else
        ksnprintf(name, sizeof(name), "%s", msg);
    tap_result(&tap, k, name, detail);
    spin_unlock(&report_lock);
}

bool report(bool pass, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(pass ? TAP_PASS : TAP_FAIL, 0, fmt, ap);
    va_end(ap);
    return pass;
}

void report_skip(const char *reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(TAP_SKIP, reason, fmt, ap);
    va_end(ap);
}

static unsigned platform_tags(const char **tags)
{
    unsigned n = 0;
    tags[n++] = platform.machine_name;
    tags[n++] = platform.accel_name;
    tags[n++] = platform.vga ? "vga" : "novga";
    if (platform.qemu_tag[0])
        tags[n++] = platform.qemu_tag;      /* "qemu=7.2.22": version ranges */
    if (config.firmware.set && config.firmware.v[0])
        tags[n++] = config.firmware.v;
    return n;
}

bool report_deviation_listed(const char *cfg, const char *id)
{
    const char *tags[6];
    char desc[8];
    return deviation_listed(cfg, id, tags, platform_tags(tags), desc, sizeof(desc));
}

bool report_deviation_known(const char *id)
{
    return report_deviation_listed(deviations_cfg, id);
}

void report_deviation(const char *dev_id, bool deviates, const char *evidence,
                      const char *fmt, ...)
{
    const char *tags[6];
    char desc[160], detail[400];
    bool listed = deviation_listed(deviations_cfg, dev_id, tags, platform_tags(tags),
                                   desc, sizeof(desc));
    enum tap_kind k;
    if (listed && deviates) {
        k = TAP_XFAIL;
        ksnprintf(detail, sizeof(detail), "%s (%s): %s", dev_id, desc, evidence);
    } else if (listed) {
        k = TAP_XPASS;
        ksnprintf(detail, sizeof(detail), "%s listed for %s/%s but not observed: %s",
                  dev_id, platform.machine_name, platform.accel_name, evidence);
    } else if (deviates) {
        k = TAP_FAIL;
        ksnprintf(detail, sizeof(detail), "unlisted deviation %s on %s/%s: %s", dev_id,
                  platform.machine_name, platform.accel_name, evidence);
    } else {
        k = TAP_PASS;
        detail[0] = 0;
    }
    if (k == TAP_PASS && evidence && evidence[0])
        report_info("%s: %s", dev_id, evidence);
    va_list ap;
    va_start(ap, fmt);
    emit(k, detail, fmt, ap);
    va_end(ap);
}

void report_timeout(const char *name, const char *detail)
{
    console_break_lock();
    if (report_lock.locked)         /* the watchdog may have cut a report short */
        spin_unlock(&report_lock);
    spin_lock(&report_lock);
    tap_result(&tap, TAP_TIMEOUT, name, detail);
    spin_unlock(&report_lock);
}

void report_info(const char *fmt, ...)
{
    char msg[480], line[512];
    va_list ap;
    va_start(ap, fmt);
    kvsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    spin_lock(&report_lock);
    if (prefix[0])
        ksnprintf(line, sizeof(line), "%s: %s", prefix, msg);
    else
        ksnprintf(line, sizeof(line), "%s", msg);
    tap_diag(&tap, line);
    spin_unlock(&report_lock);
}

unsigned report_failures(void)
{
    return tap.count[TAP_FAIL] + tap.count[TAP_XPASS] + tap.count[TAP_TIMEOUT];
}

int report_end(void)
{
    tap_end(&tap);
    switch (tap_verdict(&tap)) {
    case TAP_VERDICT_PASS: return VERDICT_PASS;
    case TAP_VERDICT_SKIP_ONLY: return VERDICT_SKIP;
    default: return VERDICT_FAIL;
    }
}

void report_panic_summary(const char *why)
{
    if (!begun)
        report_begin();
    report_lock.locked = 0;
    tap_result(&tap, TAP_FAIL, "kernel.panic", why);
    tap_end(&tap);
}
