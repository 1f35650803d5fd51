#ifndef SMMSYNC_DEBUGEXIT_H
#define SMMSYNC_DEBUGEXIT_H
/* Guest verdicts written to isa-debug-exit (QEMU exits with (v << 1) | 1). */
enum verdict {
    VERDICT_PASS = 0,       /* QEMU status 1 */
    VERDICT_FAIL = 1,       /* QEMU status 3 */
    VERDICT_SKIP = 38,      /* QEMU status 77: nothing ran but skips */
    VERDICT_CRASH = 63,     /* QEMU status 127: panic */
};
__attribute__((noreturn)) void debug_exit(enum verdict v);
#endif
