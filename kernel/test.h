/* Tests are data: each TEST() puts a struct test into the .tests section
 * (linker.ld keeps them sorted by section name, so 'order' sets the run
 * order). */
#ifndef SMMSYNC_TEST_H
#define SMMSYNC_TEST_H
#include <stdint.h>
#include <stdbool.h>
#include "kernel/platform.h"


struct test {
    const char *name;
    void (*fn)(void);
    unsigned min_cpus;
    uint32_t needs;             /* enum feature bits (kernel/platform.h) */
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

#endif
