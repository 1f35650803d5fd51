/*
 * test_tap.c - TAP 13 formatting: exact lines, name sanitising and
 * uniqueness, totals, verdicts, and (when Perl's TAP::Parser is
 * installed) how a real TAP consumer classifies what we print.
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp, popen, fdopen */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/tap.h"

/* ---- capture ------------------------------------------------------------ */

static char out[1 << 20];
static size_t outlen;
static unsigned nwrites;

static void cap_write(void *ctx, const char *s)
{
    size_t n = strlen(s);

    assert_ptr_equal(ctx, out);
    assert_true(n > 0); /* no empty chunks */
    assert_true(outlen + n < sizeof(out));
    memcpy(out + outlen, s, n + 1);
    outlen += n;
    nwrites++;
}

static struct tap t;

static void start(void)
{
    memset(&t, 0x5a, sizeof(t));        /* tap_begin must reset everything */
    t.write = cap_write;
    t.ctx = out;
    outlen = 0;
    out[0] = '\0';
    nwrites = 0;
    tap_begin(&t);
}

/* Drop the output so far (after checking it). */
static void clear(void)
{
    outlen = 0;
    out[0] = '\0';
}

/* ---- exact formats ---------------------------------------------------- */

static void test_empty_run(void **state)
{
    (void)state;
    start();
    tap_end(&t);
    assert_string_equal(out,
        "TAP version 13\n"
        "1..0\n"
        "# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:0 timeout:0\n");
    assert_int_equal(tap_verdict(&t), TAP_VERDICT_SKIP_ONLY);
}

static void test_each_kind(void **state)
{
    (void)state;
    start();
    clear();
    tap_result(&t, TAP_PASS, "smm.entry", NULL);
    assert_string_equal(out, "ok 1 - smm.entry\n");
    clear();
    tap_result(&t, TAP_PASS, "smm.detail_ignored", "not shown");
    assert_string_equal(out, "ok 2 - smm.detail_ignored\n");
    clear();
    tap_result(&t, TAP_FAIL, "smm.fail", NULL);
    assert_string_equal(out, "not ok 3 - smm.fail\n");
    clear();
    tap_result(&t, TAP_FAIL, "smm.fail2", "expected 1, got 2");
    assert_string_equal(out,
        "not ok 4 - smm.fail2\n"
        "# smm.fail2: expected 1, got 2\n");
    clear();
    tap_result(&t, TAP_SKIP, "smm.skip", "no SMRR on this CPU");
    assert_string_equal(out, "ok 5 - smm.skip # SKIP no SMRR on this CPU\n");
    clear();
    tap_result(&t, TAP_SKIP, "smm.skip2", NULL);
    assert_string_equal(out, "ok 6 - smm.skip2 # SKIP\n");
    clear();
    tap_result(&t, TAP_XFAIL, "smm.xfail", "QEMU does not model SMRR");
    assert_string_equal(out, "not ok 7 - smm.xfail # TODO known-deviation QEMU does not model SMRR\n");
    clear();
    tap_result(&t, TAP_XFAIL, "smm.xfail2", "");
    assert_string_equal(out, "not ok 8 - smm.xfail2 # TODO known-deviation\n");
    clear();
    tap_result(&t, TAP_XPASS, "smm.xpass", "SMRR now honoured");
    assert_string_equal(out, "not ok 9 - smm.xpass # deviation no longer observed: SMRR now honoured\n");
    clear();
    tap_result(&t, TAP_TIMEOUT, "smm.hang", "no reply in 500 ms");
    assert_string_equal(out, "not ok 10 - smm.hang # TIMEOUT no reply in 500 ms\n");
    clear();
    tap_result(&t, TAP_TIMEOUT, "smm.hang2", NULL);
    assert_string_equal(out, "not ok 11 - smm.hang2 # TIMEOUT\n");
    clear();
    tap_end(&t);
    assert_string_equal(out,
        "1..11\n"
        "# Totals: pass:2 fail:2 xfail:2 xpass:1 skip:2 timeout:2\n");
    assert_int_equal(t.n, 11);
}

static void test_detail_text(void **state)
{
    (void)state;
    start();
    clear();
    /* Multi-line failure detail: one diagnostic per line, no empty tail. */
    tap_result(&t, TAP_FAIL, "f", "line one\nline two\n\nline four\n");
    assert_string_equal(out,
        "not ok 1 - f\n"
        "# f: line one\n"
        "# f: line two\n"
        "# f:\n"
        "# f: line four\n");
    clear();
    /* Directive details are one line; '#' is harmless after SKIP/TODO. */
    tap_result(&t, TAP_SKIP, "s", "a\nb\r\tc # TODO not a todo");
    assert_string_equal(out, "ok 2 - s # SKIP a b  c # TODO not a todo\n");
    clear();
    tap_result(&t, TAP_XFAIL, "x", "see #42\n");
    assert_string_equal(out, "not ok 3 - x # TODO known-deviation see #42 \n");
    clear();
    /* XPASS/TIMEOUT must not grow a directive: '#' is neutralised. */
    tap_result(&t, TAP_XPASS, "xp", "was # TODO");
    assert_string_equal(out, "not ok 4 - xp # deviation no longer observed: was _ TODO\n");
    clear();
    tap_result(&t, TAP_TIMEOUT, "to", "# SKIP");
    assert_string_equal(out, "not ok 5 - to # TIMEOUT _ SKIP\n");
    assert_null(strstr(out, "# SKIP"));
}

static void test_long_detail_chunked(void **state)
{
    static char detail[5000];
    char *line;

    (void)state;
    memset(detail, 'd', sizeof(detail) - 1);
    start();
    clear();
    nwrites = 0;
    tap_result(&t, TAP_SKIP, "long", detail);
    assert_true(nwrites > 1);   /* streamed, not one giant buffer */
    line = out;
    assert_int_equal(strlen(line), strlen("ok 1 - long # SKIP ") + sizeof(detail) - 1 + 1);
    assert_memory_equal(line, "ok 1 - long # SKIP ddd", 22);
    assert_int_equal(line[strlen(line) - 1], '\n');
}

static void test_diag(void **state)
{
    (void)state;
    start();
    clear();
    tap_diag(&t, "hello");
    assert_string_equal(out, "# hello\n");
    clear();
    tap_diag(&t, "a\n\nb\n");
    assert_string_equal(out, "# a\n#\n# b\n");
    clear();
    tap_diag(&t, "");
    tap_diag(&t, NULL);
    assert_string_equal(out, "");
    clear();
    tap_diag(&t, "tab\there\x01");
    assert_string_equal(out, "# tab here \n");
    assert_int_equal(t.n, 0);
}

/* ---- names ------------------------------------------------------------ */

static void test_sanitise(void **state)
{
    (void)state;
    start();
    clear();
    tap_result(&t, TAP_PASS, "a#b", NULL);
    tap_result(&t, TAP_PASS, "  line\nbreak\t ", NULL);
    tap_result(&t, TAP_PASS, "\x7f\x1b[31mred", NULL);
    tap_result(&t, TAP_PASS, "", NULL);
    tap_result(&t, TAP_PASS, " \n\t ", NULL);
    tap_result(&t, TAP_PASS, NULL, NULL);
    tap_result(&t, TAP_PASS, "caf\xc3\xa9", NULL);      /* UTF-8 kept */
    assert_string_equal(out,
        "ok 1 - a_b\n"
        "ok 2 - line break\n"
        "ok 3 - [31mred\n"
        "ok 4 - unnamed\n"
        "ok 5 - unnamed (2)\n"
        "ok 6 - unnamed (3)\n"
        "ok 7 - caf\xc3\xa9\n");
    assert_int_equal(t.dup_count, 2);
}

static void test_sanitise_ctrl_space(void **state)
{
    (void)state;
    start();
    clear();
    /* ESC and DEL become blanks; the leading one is then trimmed. */
    tap_result(&t, TAP_PASS, "\x1bx\x7fy", NULL);
    assert_string_equal(out, "ok 1 - x y\n");
}

static void test_duplicates(void **state)
{
    (void)state;
    start();
    clear();
    tap_result(&t, TAP_PASS, "x", NULL);
    tap_result(&t, TAP_FAIL, "x", NULL);
    tap_result(&t, TAP_SKIP, "x", "why");
    tap_result(&t, TAP_PASS, "x (2)", NULL);    /* collides with a generated name */
    tap_result(&t, TAP_PASS, "x", NULL);
    tap_result(&t, TAP_PASS, "a#", NULL);
    tap_result(&t, TAP_PASS, "a_", NULL);       /* same after sanitising */
    assert_string_equal(out,
        "ok 1 - x\n"
        "not ok 2 - x (2)\n"
        "ok 3 - x (3) # SKIP why\n"
        "ok 4 - x (2) (2)\n"
        "ok 5 - x (4)\n"
        "ok 6 - a_\n"
        "ok 7 - a_ (2)\n");
    assert_int_equal(t.dup_count, 5);
}

static void test_long_names(void **state)
{
    char name[400];

    (void)state;
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    start();
    clear();
    tap_result(&t, TAP_PASS, name, NULL);
    tap_result(&t, TAP_PASS, name, NULL);
    /* "ok N - " + TAP_NAME_MAX chars (+ suffix) + "\n" */
    assert_int_equal(strchr(out, '\n') - out, 7 + TAP_NAME_MAX);
    assert_non_null(strstr(out, "n (2)\n"));
}

/* Every emitted name is unique, even past the hash set's capacity. */
static void test_uniqueness_at_scale(void **state)
{
    enum { N = 2500 };
    static char *names[N];
    char nm[32];
    unsigned i, j, k = 0;
    char *p;

    (void)state;
    start();
    clear();
    for (i = 0; i < N; i++) {
        snprintf(nm, sizeof(nm), "t%u", i % 37);
        tap_result(&t, i % 5 ? TAP_PASS : TAP_SKIP, nm, "s");
    }
    /* Collect the names back from the output lines. */
    for (p = out; *p; p = strchr(p, '\n') + 1) {
        char *s = strstr(p, " - ") + 3;
        char *e = strchr(s, '\n');
        char *d = strstr(s, " # SKIP");

        if (d && d < e)
            e = d;
        names[k] = strndup(s, (size_t)(e - s));
        k++;
    }
    assert_int_equal(k, N);
    for (i = 0; i < N; i++)
        for (j = i + 1; j < N; j++)
            if (strcmp(names[i], names[j]) == 0)
                fail_msg("duplicate name \"%s\" at %u and %u",
                     names[i], i + 1, j + 1);
    for (i = 0; i < N; i++)
        free(names[i]);
    assert_int_equal(t.n, N);
    /* Every result after the 37 distinct base names was a repeat. */
    assert_int_equal(t.dup_count, N - 37);
    assert_non_null(strstr(out, "ok 2500 - t20 (result 2500)\n"));
}

/* Past capacity, a remembered name equal to a " (result N)" one is avoided. */
static void test_full_set_collision(void **state)
{
    char nm[32];
    unsigned i;

    (void)state;
    start();
    tap_result(&t, TAP_PASS, "foo (result 1100)", NULL);
    for (i = 0; i < 1098; i++) {
        snprintf(nm, sizeof(nm), "u%u", i);
        tap_result(&t, TAP_PASS, nm, NULL);
    }
    clear();
    tap_result(&t, TAP_PASS, "foo", NULL);
    assert_string_equal(out, "ok 1100 - foo (result 1100) (2)\n");
    assert_int_equal(t.dup_count, 0);
}

/* ---- verdicts and totals ---------------------------------------------- */

static enum tap_verdict verdict_of(const enum tap_kind *ks, unsigned n)
{
    unsigned i;

    start();
    for (i = 0; i < n; i++)
        tap_result(&t, ks[i], "v", NULL);
    return tap_verdict(&t);
}

static void test_verdicts(void **state)
{
    (void)state;
    {
        enum tap_kind k[] = { TAP_PASS };
        assert_int_equal(verdict_of(k, 1), TAP_VERDICT_PASS);
    }
    {
        enum tap_kind k[] = { TAP_SKIP, TAP_SKIP };
        assert_int_equal(verdict_of(k, 2), TAP_VERDICT_SKIP_ONLY);
    }
    {
        enum tap_kind k[] = { TAP_SKIP, TAP_XFAIL };
        assert_int_equal(verdict_of(k, 2), TAP_VERDICT_PASS);
    }
    {
        enum tap_kind k[] = { TAP_PASS, TAP_SKIP, TAP_XFAIL };
        assert_int_equal(verdict_of(k, 3), TAP_VERDICT_PASS);
    }
    {
        enum tap_kind k[] = { TAP_PASS, TAP_FAIL };
        assert_int_equal(verdict_of(k, 2), TAP_VERDICT_FAIL);
    }
    {
        enum tap_kind k[] = { TAP_SKIP, TAP_XPASS };
        assert_int_equal(verdict_of(k, 2), TAP_VERDICT_FAIL);
    }
    {
        enum tap_kind k[] = { TAP_TIMEOUT, TAP_SKIP };
        assert_int_equal(verdict_of(k, 2), TAP_VERDICT_FAIL);
    }
    assert_int_equal(verdict_of(NULL, 0), TAP_VERDICT_SKIP_ONLY);
    /* An out-of-range kind counts as a failure, never a pass. */
    start();
    clear();
    tap_result(&t, (enum tap_kind)42, "bogus", NULL);
    assert_string_equal(out, "not ok 1 - bogus\n");
    assert_int_equal(tap_verdict(&t), TAP_VERDICT_FAIL);
}

static void test_begin_resets(void **state)
{
    (void)state;
    start();
    tap_result(&t, TAP_FAIL, "a", NULL);
    tap_result(&t, TAP_FAIL, "a", NULL);
    tap_begin(&t);
    clear();
    tap_result(&t, TAP_PASS, "a", NULL);
    tap_end(&t);
    assert_string_equal(out,
        "ok 1 - a\n1..1\n"
        "# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 timeout:0\n");
    assert_int_equal(t.dup_count, 0);
    assert_int_equal(tap_verdict(&t), TAP_VERDICT_PASS);
}

/* ---- a real consumer ---------------------------------------------------- */

/*
 * Feed our output to Perl's TAP::Parser (what `prove` uses) and check how
 * it classifies each line.  Skipped when Perl/TAP::Parser is absent.
 */
static void test_tap_parser(void **state)
{
    static const char *const script =
        "perl -MTAP::Parser -e '"
        "open(my $fh, \"<\", $ARGV[0]) or die; local $/; my $tap = <$fh>;"
        "my $p = TAP::Parser->new({ tap => $tap });"
        "while (my $r = $p->next) {"
        "  if ($r->is_unknown) { print \"UNKNOWN\\n\"; next }"
        "  next unless $r->is_test;"
        "  printf \"%%d %%d %%d %%s\\n\", $r->number, $r->is_ok ? 1 : 0,"
        "         $r->is_actual_ok ? 1 : 0, $r->directive || \"-\";"
        "}"
        "printf \"plan %%s failed %%d parse_errors %%d\\n\", $p->plan,"
        "       scalar($p->failed), scalar($p->parse_errors);"
        "' %s 2>&1";
    char path[] = "/tmp/smmsync-tap-XXXXXX";
    char cmd[1024], got[4096];
    size_t n;
    FILE *f, *pp;
    int fd;

    (void)state;
    if (system("perl -MTAP::Parser -e 1 >/dev/null 2>&1") != 0)
        skip();

    start();
    tap_diag(&t, "SMM test run\nwith # hashes");
    tap_result(&t, TAP_PASS, "pass#1", NULL);
    tap_result(&t, TAP_FAIL, "fail", "boom\n# TODO sneaky");
    tap_result(&t, TAP_SKIP, "skip", "why # TODO");
    tap_result(&t, TAP_XFAIL, "xfail", "known # SKIP");
    tap_result(&t, TAP_XPASS, "xpass", "gone # TODO");
    tap_result(&t, TAP_TIMEOUT, "timeout", "slow # SKIP");
    tap_result(&t, TAP_PASS, "pass#1", NULL);
    tap_end(&t);

    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(out, 1, outlen, f), outlen);
    fclose(f);

    snprintf(cmd, sizeof(cmd), script, path);
    pp = popen(cmd, "r");
    assert_non_null(pp);
    n = fread(got, 1, sizeof(got) - 1, pp);
    got[n] = '\0';
    assert_int_equal(pclose(pp), 0);
    unlink(path);

    assert_string_equal(got,
        "1 1 1 -\n"
        "2 0 0 -\n"
        "3 1 1 SKIP\n"
        "4 1 0 TODO\n"
        "5 0 0 -\n"
        "6 0 0 -\n"
        "7 1 1 -\n"
        "plan 1..7 failed 3 parse_errors 0\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_run),
        cmocka_unit_test(test_each_kind),
        cmocka_unit_test(test_detail_text),
        cmocka_unit_test(test_long_detail_chunked),
        cmocka_unit_test(test_diag),
        cmocka_unit_test(test_sanitise),
        cmocka_unit_test(test_sanitise_ctrl_space),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_long_names),
        cmocka_unit_test(test_uniqueness_at_scale),
        cmocka_unit_test(test_full_set_collision),
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_begin_resets),
        cmocka_unit_test(test_tap_parser),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
