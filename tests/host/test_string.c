/*
 * test_string.c - the kernel's freestanding string.c, checked against libc.
 *
 * string.c normally compiles to nothing on the host (libc is used there),
 * so here it is built a second time with SMMSYNC_HOST undefined and every
 * function renamed, then compared with libc over many random inputs.
 */
#undef SMMSYNC_HOST
#define memcpy  kt_memcpy
#define memmove kt_memmove
#define memset  kt_memset
#define memcmp  kt_memcmp
#define strlen  kt_strlen
#define strnlen kt_strnlen
#define strcmp  kt_strcmp
#define strncmp kt_strncmp
#define strchr  kt_strchr
#include "lib/string.c"
#undef memcpy
#undef memmove
#undef memset
#undef memcmp
#undef strlen
#undef strnlen
#undef strcmp
#undef strncmp
#undef strchr
#undef SMMSYNC_KSTRING_H
#define SMMSYNC_HOST 1

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include "lib/kstring.h"        /* libc's string.h plus strnlen */

static uint32_t rng = 12345;

static uint32_t rnd(void)
{
    /* xorshift32: deterministic, so failures reproduce. */
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static int sign(int v)
{
    return (v > 0) - (v < 0);
}

static void fill(unsigned char *p, size_t n, unsigned alphabet)
{
    size_t i;

    for (i = 0; i < n; i++)
        p[i] = (unsigned char)(rnd() % alphabet);
}

static void test_mem_copy_set(void **state)
{
    unsigned char a[96], b[96], src[96];
    int iter;

    (void)state;
    for (iter = 0; iter < 20000; iter++) {
        size_t n = rnd() % 64, d = rnd() % 32, s = rnd() % 32;
        int c = (int)(rnd() % 512) - 256;

        fill(src, sizeof(src), 256);
        memcpy(a, src, sizeof(a));
        memcpy(b, src, sizeof(b));
        /* memmove with arbitrary overlap, both directions. */
        assert_ptr_equal(kt_memmove(a + d, a + s, n), a + d);
        memmove(b + d, b + s, n);
        assert_memory_equal(a, b, sizeof(a));
        /* memset, including values outside 0..255. */
        assert_ptr_equal(kt_memset(a + s, c, n), a + s);
        memset(b + s, c, n);
        assert_memory_equal(a, b, sizeof(a));
        /* memcpy between disjoint buffers. */
        assert_ptr_equal(kt_memcpy(a + d, src + s, n), a + d);
        memcpy(b + d, src + s, n);
        assert_memory_equal(a, b, sizeof(a));
    }
}

static void test_compare(void **state)
{
    unsigned char x[40], y[40];
    int iter;

    (void)state;
    for (iter = 0; iter < 50000; iter++) {
        size_t n = rnd() % 40;
        /* Small alphabets with high bytes make equal prefixes and sign bugs likely. */
        fill(x, sizeof(x), 3);
        memcpy(y, x, sizeof(y));
        if (rnd() % 2)
            y[rnd() % sizeof(y)] = (unsigned char)(rnd() % 2 ? 0 : 0xff);
        if (rnd() % 4 == 0)
            x[rnd() % sizeof(x)] = 0x80;
        /* Terminate last so strlen/strcmp stay inside the arrays. */
        x[sizeof(x) - 1] = y[sizeof(y) - 1] = 0;
        assert_int_equal(sign(kt_memcmp(x, y, n)), sign(memcmp(x, y, n)));
        assert_int_equal(sign(kt_strcmp((char *)x, (char *)y)),
                 sign(strcmp((char *)x, (char *)y)));
        assert_int_equal(sign(kt_strncmp((char *)x, (char *)y, n)),
                 sign(strncmp((char *)x, (char *)y, n)));
        assert_int_equal(kt_strlen((char *)x), strlen((char *)x));
        assert_int_equal(kt_strnlen((char *)x, n), strnlen((char *)x, n));
    }
    assert_true(kt_strcmp("a", "\xff") < 0);    /* compares as unsigned char */
    assert_int_equal(kt_strncmp("abc", "abd", 2), 0);
    assert_int_equal(kt_strncmp("abc", "abd", 0), 0);
    assert_int_equal(kt_strcmp("", ""), 0);
}

static void test_strchr(void **state)
{
    const char *s = "hello, world";

    (void)state;
    assert_ptr_equal(kt_strchr(s, 'o'), s + 4);
    assert_ptr_equal(kt_strchr(s, 'z'), NULL);
    /* The terminator itself can be found (C11 7.24.5.2). */
    assert_ptr_equal(kt_strchr(s, '\0'), s + strlen(s));
    assert_ptr_equal(kt_strchr(s, 'h' + 256), s);       /* converted to char */
    assert_ptr_equal(kt_strchr("", 'a'), NULL);
}

static void test_strnlen_no_overread(void **state)
{
    /* Exactly-sized heap buffer without NUL: ASan flags any over-read. */
    char *p = malloc(5);

    (void)state;
    assert_non_null(p);
    memcpy(p, "abcde", 5);
    assert_int_equal(kt_strnlen(p, 5), 5);
    assert_int_equal(kt_strnlen(p, 3), 3);
    assert_int_equal(kt_strnlen(p, 0), 0);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mem_copy_set),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_strchr),
        cmocka_unit_test(test_strnlen_no_overread),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
