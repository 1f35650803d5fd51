/* Tests are data: each TEST() puts a struct test into the .tests section
 * (linker.ld keeps them sorted by section name, so 'order' sets the run
 * order). */
#ifndef SMMSYNC_TEST_H
#define SMMSYNC_TEST_H
#include <stdint.h>
#include <stdbool.h>

enum feature {
    FEAT_SMM       = 1u << 0,   /* SMM usable: known chipset, smm=on, image installed */
    FEAT_Q35       = 1u << 1,
    FEAT_PC        = 1u << 2,
    FEAT_TCG       = 1u << 3,
    FEAT_KVM       = 1u << 4,
    FEAT_TSEG      = 1u << 5,
    FEAT_SELFTEST  = 1u << 30,  /* runs only when named explicitly in tests= */
};

struct test {
    const char *name;
    void (*fn)(void);
    unsigned min_cpus;
    uint32_t needs;             /* enum feature bits */
    uint32_t timeout_ms;        /* 0: TEST_DEFAULT_TIMEOUT_MS */
};

#define TEST_DEFAULT_TIMEOUT_MS 30000
#define TEST_CAT2(a, b) a##b
#define TEST_CAT(a, b) TEST_CAT2(a, b)
/* order: two digits, e.g. "10"; name: "smp.on_cpu". */
#define TEST(order, name_, fn_, ...)                                          \
    static const struct test TEST_CAT(test_desc_, fn_)                        \
        __attribute__((used, section(".tests." order "." name_), aligned(8))) \
        = { .name = name_, .fn = fn_, __VA_ARGS__ }

extern const struct test __tests_start[], __tests_end[];
/* The bounds come from the linker: hide their provenance from the compiler,
 * which may otherwise assume two distinct arrays never meet. */
static inline const struct test *tests_begin(void)
{
    const struct test *p = __tests_start;
    __asm__("" : "+r"(p));
    return p;
}
static inline const struct test *tests_end(void)
{
    const struct test *p = __tests_end;
    __asm__("" : "+r"(p));
    return p;
}

/* Machine facts the test runner and the tests consult. */
struct platform {
    bool q35, pc, tcg, kvm, smm, vga;
    const char *machine_name, *accel_name;
    uint32_t features;          /* enum feature bits that hold */
    uint32_t expected;          /* feature bits the configuration says must hold:
                                   a test skipped for lack of one of them fails */
};
extern struct platform platform;

/* The kernel command line (multiboot2 + fw_cfg opt/smmsync/cmdline). */
extern char kernel_cmdline[];

uint64_t test_seed(void);
/* Why the features in 'missing' are absent (for SKIP lines). */
const char *platform_missing(uint32_t missing, char *buf, unsigned len);
void run_tests(void);
#endif
