/*
 * test_cpuset.c - CPU sets (lib/cpuset.h): every operation against a plain
 * bool[] reference on random sets over all 256 bits, word edges included,
 * the iteration order, the range formatting and its truncation, and the
 * atomic forms from several threads at once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cpuset.h"

struct ref { bool b[CPUSET_MAX]; };

static cpuset_t from_ref(const struct ref *r)
{
    cpuset_t s = cs_none();
    for (unsigned c = 0; c < CPUSET_MAX; c++)
        if (r->b[c])
            cs_add(&s, c);
    return s;
}

static void random_ref(struct ref *r, unsigned density)
{
    for (unsigned c = 0; c < CPUSET_MAX; c++)
        r->b[c] = (unsigned)rand() % 100 < density;
}

static void same(cpuset_t s, const struct ref *r, const char *what)
{
    for (unsigned c = 0; c < CPUSET_MAX; c++)
        if (cs_has(s, c) != r->b[c])
            fail_msg("%s: cpu %u is %d, expected %d", what, c, cs_has(s, c), r->b[c]);
}

static void test_ops_against_reference(void **state)
{
    (void)state;
    srand(12345);
    for (int round = 0; round < 2000; round++) {
        struct ref a, b, r;
        random_ref(&a, (unsigned)(round % 5) * 25);
        random_ref(&b, (unsigned)(round % 3) * 40 + 5);
        cpuset_t sa = from_ref(&a), sb = from_ref(&b);
        unsigned na = 0, nb = 0;
        bool sub = true, eq = true;
        for (unsigned c = 0; c < CPUSET_MAX; c++) {
            na += a.b[c], nb += b.b[c];
            sub &= !a.b[c] || b.b[c];
            eq &= a.b[c] == b.b[c];
        }
        for (unsigned c = 0; c < CPUSET_MAX; c++) r.b[c] = a.b[c] || b.b[c];
        same(cs_or(sa, sb), &r, "or");
        for (unsigned c = 0; c < CPUSET_MAX; c++) r.b[c] = a.b[c] && b.b[c];
        same(cs_and(sa, sb), &r, "and");
        for (unsigned c = 0; c < CPUSET_MAX; c++) r.b[c] = a.b[c] && !b.b[c];
        same(cs_minus(sa, sb), &r, "minus");
        assert_int_equal(cs_count(sa), na);
        assert_int_equal(cs_count(sb), nb);
        assert_int_equal(cs_empty(sa), na == 0);
        assert_int_equal(cs_subset(sa, sb), sub);
        assert_int_equal(cs_eq(sa, sb), eq);
        assert_true(cs_eq(sa, sa));
        /* Iteration: increasing, every member once. */
        unsigned seen = 0;
        int prev = -1;
        for (int c = cs_first(sa); c >= 0; c = cs_next(sa, c)) {
            assert_true(c > prev && a.b[c]);
            prev = c;
            seen++;
        }
        assert_int_equal(seen, na);
    }
}

static void test_edges(void **state)
{
    (void)state;
    for (unsigned n = 0; n <= CPUSET_MAX; n++) {
        cpuset_t s = cs_first_n(n);
        assert_int_equal(cs_count(s), n);
        for (unsigned c = 0; c < CPUSET_MAX; c++)
            assert_int_equal(cs_has(s, c), c < n);
    }
    unsigned edges[] = { 0, 1, 62, 63, 64, 65, 127, 128, 191, 192, 254, 255 };
    for (unsigned k = 0; k < sizeof(edges) / sizeof(edges[0]); k++) {
        cpuset_t s = cs_of(edges[k]);
        assert_int_equal(cs_count(s), 1);
        assert_int_equal(cs_first(s), (int)edges[k]);
        assert_int_equal(cs_next(s, (int)edges[k]), -1);
        cs_del(&s, edges[k]);
        assert_true(cs_empty(s));
    }
    /* Out of range: ignored, never set. */
    cpuset_t s = cs_none();
    cs_add(&s, CPUSET_MAX);
    assert_true(cs_empty(s));
    assert_false(cs_has(s, CPUSET_MAX + 5));
    assert_int_equal(cs_first(s), -1);
}

static void test_format(void **state)
{
    char b[CPUSET_STR];
    cpuset_t s = cs_none();
    (void)state;
    assert_string_equal(cs_format(s, b, sizeof(b)), "none");
    cs_add(&s, 5);
    assert_string_equal(cs_format(s, b, sizeof(b)), "5");
    s = cs_first_n(4);
    cs_add(&s, 6);
    cs_add(&s, 63);
    cs_add(&s, 64);
    cs_add(&s, 65);
    cs_add(&s, 200);
    assert_string_equal(cs_format(s, b, sizeof(b)), "0-3,6,63-65,200");
    assert_string_equal(cs_format(cs_first_n(255), b, sizeof(b)), "0-254");
    /* Every other CPU of 256: the longest text; it fits CPUSET_STR. */
    s = cs_none();
    for (unsigned c = 0; c < CPUSET_MAX; c += 2)
        cs_add(&s, c);
    cs_format(s, b, sizeof(b));
    assert_null(strstr(b, "..."));
    assert_true(strlen(b) < CPUSET_STR);
    /* Too small a buffer: cut at a member, marked, terminated. */
    char small[12];
    cs_format(s, small, sizeof(small));
    assert_string_equal(small, "0,2,4,6...");
    cs_format(s, small, 1);
    assert_string_equal(small, "");
}

#include <pthread.h>
static cpuset_t shared;
static void *adder(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    for (unsigned c = id; c < CPUSET_MAX; c += 4)
        cs_atomic_add(&shared, c);
    return NULL;
}

static void test_atomic(void **state)
{
    pthread_t t[4];
    (void)state;
    cs_atomic_store(&shared, cs_none());
    for (unsigned i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, adder, (void *)(uintptr_t)i);
    for (unsigned i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    cpuset_t v = cs_atomic_load(&shared);
    assert_int_equal(cs_count(v), CPUSET_MAX);
    assert_true(cs_atomic_has(&shared, 255));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops_against_reference),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_atomic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
