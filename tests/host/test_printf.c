/*
 * test_printf.c - kvsnprintf/ksnprintf against the host libc.
 *
 * Where C defines the output, glibc's snprintf is the oracle: a large
 * generated table of flag/width/precision/length combinations, plus hand
 * picked edge cases, each also checked for truncation at every buffer
 * size.  Our deliberate differences (%p, NULL %s, bad conversions) are
 * checked against exact strings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/printf.h"

static unsigned long n_compared;

/*
 * Check ksnprintf at every buffer size 0..want_len+1 against the full
 * expected output `want`: same return value, prefix stored, NUL placed,
 * nothing written past the buffer (each buffer is exactly sized on the
 * heap, so ASan catches overruns).
 */
static void check_truncation(const char *where, const char *fmt,
                 const char *want, int want_len, va_list ap)
{
    int size;

    for (size = 0; size <= want_len + 1; size++) {
        char *buf = size ? malloc((size_t)size) : NULL;
        va_list aq;
        int r, keep;

        if (size)
            assert_non_null(buf);
        va_copy(aq, ap);
        r = kvsnprintf(buf, (size_t)size, fmt, aq);
        va_end(aq);
        if (r != want_len)
            fail_msg("%s: fmt \"%s\" size %d: returned %d, want %d",
                 where, fmt, size, r, want_len);
        if (size) {
            keep = want_len < size - 1 ? want_len : size - 1;
            if (memcmp(buf, want, (size_t)keep) != 0 || buf[keep] != '\0')
                fail_msg("%s: fmt \"%s\" size %d: wrong truncated output",
                     where, fmt, size);
        }
        free(buf);
    }
}

/* Compare against vsnprintf; optionally test every truncation size. */
static void vcompare(const char *where, bool trunc, const char *fmt,
             va_list ap)
{
    char want[1024], got[1024];
    va_list aq;
    int rw, rg;

    memset(got, 'Z', sizeof(got));
    va_copy(aq, ap);
    rw = vsnprintf(want, sizeof(want), fmt, aq);
    va_end(aq);
    va_copy(aq, ap);
    rg = kvsnprintf(got, sizeof(got), fmt, aq);
    va_end(aq);
    assert_true(rw >= 0 && rw < (int)sizeof(want));
    /* memcmp over rw+1 bytes: %c may legitimately produce a NUL. */
    if (rw != rg || memcmp(want, got, (size_t)rw + 1) != 0)
        fail_msg("%s: fmt \"%s\": want \"%s\" (%d), got \"%s\" (%d)",
             where, fmt, want, rw, got, rg);
    if (trunc)
        check_truncation(where, fmt, want, rw, ap);
    n_compared++;
}

__attribute__((format(printf, 4, 5)))
static void compare_at(const char *file, int line, bool trunc,
               const char *fmt, ...)
{
    char where[128];
    va_list ap;

    snprintf(where, sizeof(where), "%s:%d", file, line);
    va_start(ap, fmt);
    vcompare(where, trunc, fmt, ap);
    va_end(ap);
}

/* CMP: compare with libc, including every truncation size. */
#define CMP(...) compare_at(__FILE__, __LINE__, true, __VA_ARGS__)

/* EXPECT: exact expected output, for behaviour libc does not define. */
__attribute__((format(printf, 4, 5)))
static void expect_at(int line, const char *want, bool trunc,
              const char *fmt, ...)
{
    char got[512], where[64];
    va_list ap;
    int r;

    snprintf(where, sizeof(where), "line %d", line);
    va_start(ap, fmt);
    {
        va_list aq;

        va_copy(aq, ap);
        r = kvsnprintf(got, sizeof(got), fmt, aq);
        va_end(aq);
    }
    if (r != (int)strlen(want) || strcmp(got, want) != 0)
        fail_msg("%s: fmt \"%s\": want \"%s\", got \"%s\" (%d)", where,
             fmt, want, got, r);
    if (trunc)
        check_truncation(where, fmt, want, r, ap);
    va_end(ap);
}

#define EXPECT(want, ...) expect_at(__LINE__, want, true, __VA_ARGS__)

static void test_basic(void **state)
{
    (void)state;
    CMP("plain text");
    CMP("%s", "");
    CMP("%d", 0);
    CMP("%d %i %u %x %X %o", -42, 17, 3000000000u, 0xbeefu, 0xbeefu, 8u);
    CMP("[%c][%c]", 'a', 255);
    CMP("%%");
    CMP("a%%b%%%d", 7);
    CMP("%s=%d, %s=%#x", "alpha", 1, "beta", 0x1f);
    CMP("%5s|%-5s|%.2s|%5.1s|%-5.3s|", "abc", "abc", "abc", "abc", "abcdef");
    CMP("%3c|%-3c|", 'x', 'y');
}

/*
 * Several cases below deliberately combine flags that C says are ignored
 * ("+ ", "-0", '0' with a precision); GCC rightly warns about those in
 * real code, but here they are the point.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
static void test_int_edges(void **state)
{
    (void)state;
    CMP("%d %d", INT_MIN, INT_MAX);
    CMP("%ld %ld", LONG_MIN, LONG_MAX);
    CMP("%lld %lld", LLONG_MIN, LLONG_MAX);
    CMP("%" PRId64 " %" PRIu64, INT64_MIN, UINT64_MAX);
    CMP("%jd %ju", INTMAX_MIN, UINTMAX_MAX);
    CMP("%" PRIx64 " %" PRIX64 " %" PRIo64, UINT64_MAX, UINT64_MAX, UINT64_MAX);
    CMP("%+" PRId64 "|% " PRId64 "|%030" PRId64 "|%-30" PRId64 "|", INT64_MIN,
        INT64_MIN, INT64_MIN, INT64_MIN);
    CMP("%.25" PRId64 "|%30.25" PRId64, INT64_MIN, INT64_MIN);
    CMP("%#o %#x %#X", 0u, 0u, 0u);
    CMP("%#.0o|%#.0x|%.0d|%.0u|%5.0d|%-5.0x|", 0u, 0u, 0, 0u, 0, 0u);
    CMP("%#o|%#5o|%#.5o|%#05o|", 8u, 8u, 8u, 8u);
    CMP("%#x|%#10x|%#010x|%#-10x|%#.6x|", 255u, 255u, 255u, 255u, 255u);
    CMP("%hhd %hhu %hhx %hhd", -129, 257, 0x1ff, 127);
    CMP("%hd %hu %hx", -32769, 65537, 0x1ffff);
    CMP("%zu %zx %zd", (size_t)-1, (size_t)0x1234, (size_t)42);
    CMP("%td %tu %tx", (ptrdiff_t)-5, (ptrdiff_t)7, (ptrdiff_t)-1);
    CMP("%lu %lx %lo", ULONG_MAX, ULONG_MAX, ULONG_MAX);
    CMP("%+d %+d % d % d %+ d", 5, -5, 5, -5, 5);
    CMP("%05d|%-05d|%+05d|% 05d|%05.3d|", -42, -42, 42, 42, 42);
}

static void test_star(void **state)
{
    (void)state;
    CMP("%*d|", 8, 42);
    CMP("%*d|", -8, 42);                /* negative width -> left-justify */
    CMP("%-*d|", -8, 42);
    CMP("%0*d|", -8, 42);               /* '-' from the negative width wins */
    CMP("%.*d|", 5, 42);
    CMP("%.*d|", -1, 42);               /* negative precision = omitted */
    CMP("%0.*d|", -1, 42);
    CMP("%08.*d|", -3, 42);             /* zero flag honoured again */
    CMP("%*.*d|", 10, 4, -42);
    CMP("%*.*s|", -10, 2, "hello");
    CMP("%.*s|", -1, "hello");
    CMP("%.*s|", 0, "hello");
    CMP("%*c|", 4, 'z');
    CMP("%*s|%*s|", 0, "", 3, "");
}

#pragma GCC diagnostic pop

static void test_long_output(void **state)
{
    char big[400];

    (void)state;
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CMP("%s", big);
    CMP("<%s>%d<%s>", big, 12345, big + 200);
    CMP("%300d|", 7);
    CMP("%-300x|", 7u);
    CMP("%.300d|", -7);
}

/* Precision on %s must not read past it: use an unterminated heap buffer. */
static void test_string_precision_no_overread(void **state)
{
    char *p = malloc(4);

    (void)state;
    assert_non_null(p);
    memcpy(p, "wxyz", 4);
    EXPECT("wxyz|", "%.4s|", p);
    EXPECT("wx|", "%.2s|", p);
    EXPECT("  wxy|", "%5.3s|", p);
    free(p);
}

static void test_own_conventions(void **state)
{
    const char *volatile null_str = NULL;
    void *volatile null_ptr = NULL;

    (void)state;
    /* %p: always 0x plus 16 lowercase digits (libc prints it minimally). */
    EXPECT("0x0000000000001234", "%p", (void *)0x1234);
    EXPECT("0x0000000000000000", "%p", null_ptr);
    EXPECT("0xffffffff80000000", "%p", (void *)(uintptr_t)0xffffffff80000000u);
    EXPECT("  0x00000000deadbeef|", "%20p|", (void *)0xdeadbeef);
    EXPECT("0x00000000deadbeef  |", "%-20p|", (void *)0xdeadbeef);
    EXPECT("0x00000000deadbeef|", "%5p|", (void *)0xdeadbeef);
    /* NULL %s prints "(null)", cut by precision like any string. */
    EXPECT("(null)", "%s", null_str);
    EXPECT("[  (null)]", "[%8s]", null_str);
    EXPECT("[(nu]", "[%.3s]", null_str);
    /* Unsupported conversions are shown verbatim; a trailing % is kept. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
    EXPECT("a%qb", "a%qb");
    EXPECT("100%", "100%");
    EXPECT("x%", "x%-5");
    EXPECT("%", "%5%");
    EXPECT("%f", "%f", 1.5);    /* no floating point in the kernel */
#pragma GCC diagnostic pop
}

static void test_size_zero_and_null(void **state)
{
    char c = 'K';

    (void)state;
    assert_int_equal(ksnprintf(NULL, 0, "%d-%s", 1234, "abc"), 8);
    /* size 0 with a real buffer must not touch it. */
    assert_int_equal(ksnprintf(&c, 0, "%s", "xyz"), 3);
    assert_int_equal(c, 'K');
    assert_int_equal(ksnprintf(&c, 1, "%s", "xyz"), 3);
    assert_int_equal(c, '\0');
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-zero-length"
    assert_int_equal(ksnprintf(NULL, 0, ""), 0);
#pragma GCC diagnostic pop
}

/* One generated conversion, passing exactly the promoted type its length
 * modifier names (li indexes test_generated's lens). */
static void compare_typed(const char *fmt, unsigned li, bool is_signed, int64_t v, bool trunc)
{
    const char *w = "generated";

    switch (li) {
    case 0: case 1: case 2:
        if (is_signed)
            compare_at(w, 0, trunc, fmt, (int)v);
        else
            compare_at(w, 0, trunc, fmt, (unsigned)v);
        break;
    case 3:
        if (is_signed)
            compare_at(w, 0, trunc, fmt, (long)v);
        else
            compare_at(w, 0, trunc, fmt, (unsigned long)v);
        break;
    case 4:
        if (is_signed)
            compare_at(w, 0, trunc, fmt, (long long)v);
        else
            compare_at(w, 0, trunc, fmt, (unsigned long long)v);
        break;
    case 5:
        /* %zd takes the signed type of size_t's width. */
        if (is_signed)
            compare_at(w, 0, trunc, fmt, (ptrdiff_t)v);
        else
            compare_at(w, 0, trunc, fmt, (size_t)v);
        break;
    case 6:
        if (is_signed)
            compare_at(w, 0, trunc, fmt, (ptrdiff_t)v);
        else
            compare_at(w, 0, trunc, fmt, (size_t)v);
        break;
    default:
        if (is_signed)
            compare_at(w, 0, trunc, fmt, (intmax_t)v);
        else
            compare_at(w, 0, trunc, fmt, (uintmax_t)v);
        break;
    }
}

/*
 * Generated table: every flag subset x widths x precisions x conversions
 * x length modifiers x values, all against libc.  The combinations the
 * standard leaves undefined ('#' with d/u, '0' with precision etc.) are
 * ones glibc handles by ignoring the flag, as we do, so they are kept.
 */
static void test_generated(void **state)
{
    static const char *const flagsets[] = { "-", "0", "+", " ", "#" };
    static const char *const widths[] = { "", "1", "6", "23" };
    static const char *const precs[] = { "", ".", ".0", ".1", ".5", ".22" };
    static const char *const lens[] = { "hh", "h", "", "l", "ll", "z", "t", "j" };
    static const char convs[] = "diuxXo";
    static const int64_t values[] = {
        0, 1, -1, 7, -8, 42, 255, 256, 65535, -32768, INT32_MAX,
        INT32_MIN, (int64_t)0x89abcdef01234567, INT64_MAX, INT64_MIN,
    };
    char fmt[64];
    unsigned fmask, wi, pi, li, ci, vi, k = 0;

    (void)state;
    for (fmask = 0; fmask < 32; fmask++)
    for (wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++)
    for (pi = 0; pi < sizeof(precs) / sizeof(precs[0]); pi++)
    for (li = 0; li < sizeof(lens) / sizeof(lens[0]); li++)
    for (ci = 0; ci < sizeof(convs) - 1; ci++) {
        char *f = fmt;
        unsigned b;
        bool is_signed = convs[ci] == 'd' || convs[ci] == 'i';

        *f++ = '[';
        *f++ = '%';
        for (b = 0; b < 5; b++)
            if (fmask & (1u << b))
                f += sprintf(f, "%s", flagsets[b]);
        sprintf(f, "%s%s%s%c]", widths[wi], precs[pi], lens[li],
            convs[ci]);

        for (vi = 0; vi < sizeof(values) / sizeof(values[0]); vi++) {
            int64_t v = values[vi];
            /* Truncation sweep on a sample, it is O(n^2). */
            bool trunc = (k++ % 101) == 0;
            compare_typed(fmt, li, is_signed, v, trunc);
        }
    }
}

/* %s and %c over flags, widths and precisions. */
static void test_generated_text(void **state)
{
    static const char *const fl[] = { "", "-" };
    static const char *const widths[] = { "", "0", "1", "4", "9" };
    static const char *const precs[] = { "", ".", ".0", ".2", ".7" };
    static const char *const strs[] = { "", "a", "abcd", "abcdefghijk" };
    char fmt[32];
    unsigned a, b, c, d;

    (void)state;
    for (a = 0; a < 2; a++)
    for (b = 0; b < 5; b++) {
        for (c = 0; c < 5; c++) {
            snprintf(fmt, sizeof(fmt), "<%%%s%s%ss>", fl[a], widths[b], precs[c]);
            for (d = 0; d < 4; d++)
                compare_at("text", 0, true, fmt, strs[d]);
        }
        snprintf(fmt, sizeof(fmt), "<%%%s%sc>", fl[a], widths[b]);
        compare_at("char", 0, true, fmt, 'Q');
        compare_at("char", 0, true, fmt, 0);    /* a NUL is still output */
    }
}

static int teardown_report(void **state)
{
    (void)state;
    printf("# compared %lu format cases with libc\n", n_compared);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_int_edges),
        cmocka_unit_test(test_star),
        cmocka_unit_test(test_long_output),
        cmocka_unit_test(test_string_precision_no_overread),
        cmocka_unit_test(test_own_conventions),
        cmocka_unit_test(test_size_zero_and_null),
        cmocka_unit_test(test_generated),
        cmocka_unit_test(test_generated_text),
    };

    return cmocka_run_group_tests(tests, NULL, teardown_report);
}
