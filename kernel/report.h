/* The test API, in the spirit of kvm-unit-tests' lib/report.c: every result
 * is one TAP line with a unique name built from the prefix stack. */
#ifndef SMMSYNC_REPORT_H
#define SMMSYNC_REPORT_H
#include <stdbool.h>

void report_begin(void);
bool report(bool pass, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void report_skip(const char *reason, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A behaviour that the SDM specifies and a platform may not follow.
 * 'deviates' is what the test observed; 'evidence' says what it saw. If the
 * deviation is listed for this platform (tests/deviations.cfg) an observed
 * deviation is a known-deviation result (TAP TODO) and a missing one is an
 * unexpected pass (a failure, so the list stays true); if it is not listed,
 * the deviation is a plain failure. */
void report_deviation(const char *dev_id, bool deviates, const char *evidence,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Whether deviation 'id' of the list 'cfg' holds on this platform (the tags
 * report_deviation uses: machine, accelerator, vga, qemu=VERSION, firmware). */
bool report_deviation_listed(const char *cfg, const char *id);
/* The same for the known deviations (tests/deviations.cfg). */
bool report_deviation_known(const char *id);
void report_timeout(const char *name, const char *detail);
void report_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void report_prefix_push(const char *p);
void report_prefix_pop(void);
void report_prefix_reset(void);
int report_end(void);               /* prints plan + totals, returns verdict */
void report_panic_summary(const char *why);
unsigned report_failures(void);
#endif
