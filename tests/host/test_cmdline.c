/*
 * test_cmdline.c - command-line lookup, globbing and number parsing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "lib/cmdline.h"

static void test_get_basic(void **state)
{
    const char *cl = "console=ttyS0 quiet smmsync.filter=smm.*,acpi.? debug=";
    char v[64];

    (void)state;
    assert_true(cmdline_get(cl, "console", v, sizeof(v)));
    assert_string_equal(v, "ttyS0");
    assert_true(cmdline_get(cl, "quiet", v, sizeof(v)));
    assert_string_equal(v, "");
    assert_true(cmdline_get(cl, "smmsync.filter", v, sizeof(v)));
    assert_string_equal(v, "smm.*,acpi.?");
    assert_true(cmdline_get(cl, "debug", v, sizeof(v)));
    assert_string_equal(v, "");
    assert_false(cmdline_get(cl, "missing", v, sizeof(v)));
    assert_string_equal(v, "");
}

static void test_get_matching_rules(void **state)
{
    char v[32];

    (void)state;
    /* Whole-word key match only. */
    assert_false(cmdline_get("consoles=x", "console", v, sizeof(v)));
    assert_false(cmdline_get("xconsole=x", "console", v, sizeof(v)));
    assert_false(cmdline_get("console", "console=", v, sizeof(v)));
    /* Last occurrence wins, bare or with value. */
    assert_true(cmdline_get("a=1 b=2 a=3", "a", v, sizeof(v)));
    assert_string_equal(v, "3");
    assert_true(cmdline_get("a=1 a", "a", v, sizeof(v)));
    assert_string_equal(v, "");
    assert_true(cmdline_get("a a=7", "a", v, sizeof(v)));
    assert_string_equal(v, "7");
    /* Only the first '=' separates; blanks of every kind separate words. */
    assert_true(cmdline_get("\tk=x=y\n z=1\r", "k", v, sizeof(v)));
    assert_string_equal(v, "x=y");
    assert_true(cmdline_get("\tk=x=y\n z=1\r", "z", v, sizeof(v)));
    assert_string_equal(v, "1");
    /* Degenerate inputs. */
    assert_false(cmdline_get("", "a", v, sizeof(v)));
    assert_false(cmdline_get("   ", "a", v, sizeof(v)));
    assert_false(cmdline_get(NULL, "a", v, sizeof(v)));
    assert_false(cmdline_get("a=1", "", v, sizeof(v)));
    assert_false(cmdline_get("a=1", NULL, v, sizeof(v)));
    assert_false(cmdline_get("=1", "", v, sizeof(v)));
    assert_false(cmdline_get("a=1", "a", NULL, 0));
    assert_false(cmdline_get("a=1", "a", v, 0));
}

static void test_get_truncation(void **state)
{
    char v[4];

    (void)state;
    assert_true(cmdline_get("k=abc", "k", v, sizeof(v)));
    assert_string_equal(v, "abc");
    memset(v, 'Z', sizeof(v));
    assert_false(cmdline_get("k=abcd", "k", v, sizeof(v)));
    assert_string_equal(v, "abc");      /* still terminated */
    assert_false(cmdline_get("k=a", "k", v, 1));
    assert_string_equal(v, "");
    assert_true(cmdline_get("k", "k", v, 1));
    assert_string_equal(v, "");
}

static void test_has(void **state)
{
    (void)state;
    assert_true(cmdline_has("a b=1 c", "a"));
    assert_true(cmdline_has("a b=1 c", "b"));
    assert_true(cmdline_has("a b=1 c", "c"));
    assert_false(cmdline_has("a b=1 c", "d"));
    assert_false(cmdline_has("ab", "a"));
    assert_false(cmdline_has(NULL, "a"));
    assert_false(cmdline_has("", ""));
}

static void test_glob(void **state)
{
    (void)state;
    assert_true(glob_match("", ""));
    assert_false(glob_match("", "a"));
    assert_true(glob_match("*", ""));
    assert_true(glob_match("*", "anything"));
    assert_true(glob_match("**", "x"));
    assert_false(glob_match("?", ""));
    assert_true(glob_match("?", "a"));
    assert_false(glob_match("?", "ab"));
    assert_true(glob_match("smm.*", "smm.entry"));
    assert_true(glob_match("smm.*", "smm."));
    assert_false(glob_match("smm.*", "smm"));
    assert_true(glob_match("*.entry", "smm.entry"));
    assert_false(glob_match("*.entry", "smm.entryx"));
    assert_true(glob_match("a*b*c", "aXXbYYc"));
    assert_true(glob_match("a*b*c", "abc"));
    assert_false(glob_match("a*b*c", "acb"));
    assert_true(glob_match("a*a*a*a*b", "aaaaaaaaaaaaaaab"));
    assert_false(glob_match("a*a*a*a*b", "aaaaaaaaaaaaaaaa"));
    assert_true(glob_match("*?", "x"));
    assert_false(glob_match("*?", ""));
    assert_true(glob_match("?*?", "ab"));
    assert_true(glob_match("*ab", "aab"));      /* needs backtracking */
    assert_true(glob_match("*aab", "aaab"));
    /* No other metacharacters: [ ] \ are literal. */
    assert_true(glob_match("[a]", "[a]"));
    assert_false(glob_match("[a]", "a"));
    assert_true(glob_match("a\\*", "a\\xyz"));
    assert_false(glob_match(NULL, "a"));
    assert_false(glob_match("a", NULL));
}

static void test_glob_list(void **state)
{
    (void)state;
    assert_true(glob_list_match("smm.*,acpi.madt", "acpi.madt"));
    assert_true(glob_list_match("smm.*,acpi.madt", "smm.x"));
    assert_false(glob_list_match("smm.*,acpi.madt", "acpi.fadt"));
    assert_true(glob_list_match("a", "a"));
    /* Empty items are ignored rather than matching the empty string. */
    assert_false(glob_list_match("", ""));
    assert_false(glob_list_match(",,", ""));
    assert_true(glob_list_match(",x,", "x"));
    assert_true(glob_list_match("q,*", ""));
    /* A list item is bounded by the comma, not run into the next one. */
    assert_false(glob_list_match("ab,c", "abc"));
    assert_false(glob_list_match("a*,", "b"));
    assert_true(glob_list_match("x,a?", "ab"));
    assert_false(glob_list_match(NULL, "a"));
}

static void test_parse_u64(void **state)
{
    uint64_t v = 99;

    (void)state;
    assert_true(parse_u64("0", &v));
    assert_int_equal(v, 0);
    assert_true(parse_u64("42", &v));
    assert_int_equal(v, 42);
    assert_true(parse_u64("007", &v));  /* decimal, not octal */
    assert_int_equal(v, 7);
    assert_true(parse_u64("18446744073709551615", &v));
    assert_int_equal(v, UINT64_MAX);
    assert_true(parse_u64("0xffffffffffffffff", &v));
    assert_int_equal(v, UINT64_MAX);
    assert_true(parse_u64("0XdeadBEEF", &v));
    assert_int_equal(v, 0xdeadbeefu);
    assert_true(parse_u64("0x000000000000000000001", &v));
    assert_int_equal(v, 1);

    v = 99;
    assert_false(parse_u64("18446744073709551616", &v));
    assert_false(parse_u64("99999999999999999999", &v));
    assert_false(parse_u64("0x10000000000000000", &v));
    assert_false(parse_u64("", &v));
    assert_false(parse_u64("0x", &v));
    assert_false(parse_u64("x1", &v));
    assert_false(parse_u64("-1", &v));
    assert_false(parse_u64("+1", &v));
    assert_false(parse_u64(" 1", &v));
    assert_false(parse_u64("1 ", &v));
    assert_false(parse_u64("12a", &v));
    assert_false(parse_u64("0x1g", &v));
    assert_false(parse_u64("1e3", &v));
    assert_false(parse_u64(NULL, &v));
    assert_false(parse_u64("1", NULL));
    assert_int_equal(v, 99);    /* untouched on failure */
}

static void test_get_u64(void **state)
{
    uint64_t v = 5;

    (void)state;
    assert_true(cmdline_get_u64("smm.iters=1000 smm.base=0x30000", "smm.iters", &v));
    assert_int_equal(v, 1000);
    assert_true(cmdline_get_u64("smm.iters=1000 smm.base=0x30000", "smm.base", &v));
    assert_int_equal(v, 0x30000);
    v = 5;
    assert_false(cmdline_get_u64("n=", "n", &v));
    assert_false(cmdline_get_u64("n", "n", &v));
    assert_false(cmdline_get_u64("n=12x", "n", &v));
    assert_false(cmdline_get_u64("m=1", "n", &v));
    assert_false(cmdline_get_u64("n=18446744073709551616", "n", &v));
    /* A value longer than the internal buffer is rejected, not cut. */
    assert_false(cmdline_get_u64("n=0x00000000000000000000000000000000000000000000000000000000000000001", "n", &v));
    assert_int_equal(v, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_basic),
        cmocka_unit_test(test_get_matching_rules),
        cmocka_unit_test(test_get_truncation),
        cmocka_unit_test(test_has),
        cmocka_unit_test(test_glob),
        cmocka_unit_test(test_glob_list),
        cmocka_unit_test(test_parse_u64),
        cmocka_unit_test(test_get_u64),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
