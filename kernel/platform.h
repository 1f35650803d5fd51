/* Machine facts the test runner and the tests consult, filled in by kmain
 * from what the drivers and SMM setup found. */
#ifndef SMMSYNC_PLATFORM_H
#define SMMSYNC_PLATFORM_H
#include <stdint.h>
#include <stdbool.h>

enum feature {
    FEAT_SMM       = 1u << 0,   /* SMM usable: known chipset, smm=on, image installed */
    FEAT_Q35       = 1u << 1,
    FEAT_PC        = 1u << 2,
    FEAT_TCG       = 1u << 3,
    FEAT_KVM       = 1u << 4,
    FEAT_TSEG      = 1u << 5,
    FEAT_FW_SMM    = 1u << 6,   /* the firmware owns and locked SMRAM: audit mode */
    FEAT_SELFTEST  = 1u << 30,  /* runs only when named explicitly in tests= */
};

struct platform {
    bool q35, pc, tcg, kvm, smm, vga;
    const char *machine_name, *accel_name;
    const char *smm_why_not;    /* why SMM is unusable (when it is) */
    char qemu_tag[32];          /* "qemu=7.2.22" (qemu= on the command line), or "" */
    uint32_t features;          /* enum feature bits that hold */
    uint32_t expected;          /* feature bits the configuration says must hold:
                                   a test skipped for lack of one of them fails */
};
extern struct platform platform;

/* Why the features in 'missing' are absent (for SKIP lines). */
const char *platform_missing(uint32_t missing, char *buf, unsigned len);
#endif
