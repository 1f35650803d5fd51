/*
 * test_deviations.c - the known-deviations list (tests/deviations.cfg):
 * lookup by id and platform tags ('+' = all of, ',' = any of, '*'),
 * comments, blank lines, CRLF, descriptions and their truncation, the
 * syntax check, and the real file on disk.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/deviations.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char desc[256];

/* deviation_listed with a tag list given as a string "a b c". */
static bool listed(const char *cfg, const char *id, const char *tagstr)
{
    static char buf[256];
    const char *tags[16];
    unsigned n = 0;
    char *save = NULL;

    snprintf(buf, sizeof(buf), "%s", tagstr);
    for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        assert_true(n < N(tags));
        tags[n++] = t;
    }
    memset(desc, 0x7E, sizeof(desc));
    desc[sizeof(desc) - 1] = '\0';
    return deviation_listed(cfg, id, tags, n, desc, sizeof(desc));
}

static const char *const CFG =
    "# Known deviations\n"
    "#   id  platforms  description\n"
    "\n"
    "single     tcg        only under TCG\n"
    "both       kvm+q35    KVM on q35 only\n"
    "either     tcg,kvm    TCG or KVM\n"
    "mixed      tcg+q35,pc TCG on q35, or any pc\n"
    "anywhere   *          everywhere\n"
    "star-and   *+tcg      a star inside a set\n"
    "star-alt   hw,*       hardware or anything\n"
    "   \t \n"
    "indented\tpc\t\ttabs   between   words  \n"
    "  # an indented comment: notlisted tcg x\n"
    "three      tcg+q35+kvm all three\n"
    "last       hw         no newline at the end";

/* ---- tags ---------------------------------------------------------------- */

static void test_single_tag(void **state)
{
    (void)state;
    assert_true(listed(CFG, "single", "tcg"));
    assert_string_equal(desc, "only under TCG");
    assert_true(listed(CFG, "single", "q35 tcg"));
    assert_true(listed(CFG, "single", "pc hw tcg kvm"));
    assert_false(listed(CFG, "single", "kvm"));
    assert_false(listed(CFG, "single", "q35"));
    assert_false(listed(CFG, "single", ""));
    /* Tags match whole, not by prefix either way. */
    assert_false(listed(CFG, "single", "tc"));
    assert_false(listed(CFG, "single", "tcgx"));
    assert_false(listed(CFG, "single", "TCG"));
    assert_false(listed(CFG, "single", "*"));
}

static void test_tag_sets(void **state)
{
    (void)state;
    assert_false(listed(CFG, "both", "kvm"));
    assert_false(listed(CFG, "both", "q35"));
    assert_false(listed(CFG, "both", "tcg q35"));
    assert_true(listed(CFG, "both", "kvm q35"));
    assert_string_equal(desc, "KVM on q35 only");
    assert_true(listed(CFG, "both", "q35 kvm"));
    assert_true(listed(CFG, "both", "hw q35 tcg kvm"));
    assert_false(listed(CFG, "three", "tcg q35"));
    assert_false(listed(CFG, "three", "kvm q35"));
    assert_true(listed(CFG, "three", "kvm q35 tcg"));
    assert_string_equal(desc, "all three");
}

static void test_alternatives(void **state)
{
    (void)state;
    assert_true(listed(CFG, "either", "tcg"));
    assert_string_equal(desc, "TCG or KVM");
    assert_true(listed(CFG, "either", "kvm"));
    assert_true(listed(CFG, "either", "pc kvm"));
    assert_false(listed(CFG, "either", "pc q35 hw"));
    /* "tcg+q35,pc" */
    assert_true(listed(CFG, "mixed", "pc"));
    assert_string_equal(desc, "TCG on q35, or any pc");
    assert_true(listed(CFG, "mixed", "tcg q35"));
    assert_true(listed(CFG, "mixed", "pc tcg"));
    assert_false(listed(CFG, "mixed", "tcg"));
    assert_false(listed(CFG, "mixed", "q35"));
    assert_false(listed(CFG, "mixed", "kvm q35"));
    /* Empty alternatives match nothing by themselves. */
    assert_true(listed("x ,tcg d\n", "x", "tcg"));
    assert_false(listed("x ,tcg d\n", "x", "kvm"));
    assert_true(listed("x tcg, d\n", "x", "tcg"));
    assert_false(listed("x tcg, d\n", "x", "pc"));
    assert_false(listed("x tcg++q35 d\n", "x", "tcg q35"));
}

static void test_star(void **state)
{
    (void)state;
    assert_true(listed(CFG, "anywhere", ""));
    assert_string_equal(desc, "everywhere");
    assert_true(listed(CFG, "anywhere", "tcg"));
    assert_true(listed(CFG, "anywhere", "pc kvm q35 hw"));
    assert_true(listed(CFG, "star-and", "tcg"));
    assert_false(listed(CFG, "star-and", "kvm"));
    assert_false(listed(CFG, "star-and", ""));
    assert_true(listed(CFG, "star-alt", ""));
    assert_true(listed(CFG, "star-alt", "hw"));
    /* '*' is a whole tag: "**" or "*x" are not wildcards. */
    assert_false(listed("x ** d\n", "x", "tcg"));
    assert_false(listed("x *x d\n", "x", "tcg"));
}

/* ---- ids ----------------------------------------------------------------- */

static void test_id_prefixes(void **state)
{
    static const char *const cfg =
        "wfs-smi-not-pended-2 tcg second\n"
        "wfs-smi-not-pended   tcg first\n"
        "wfs                  tcg short\n";

    (void)state;
    assert_true(listed(cfg, "wfs-smi-not-pended", "tcg"));
    assert_string_equal(desc, "first");
    assert_true(listed(cfg, "wfs-smi-not-pended-2", "tcg"));
    assert_string_equal(desc, "second");
    assert_true(listed(cfg, "wfs", "tcg"));
    assert_string_equal(desc, "short");
    assert_false(listed(cfg, "wfs-smi", "tcg"));
    assert_false(listed(cfg, "wfs-smi-not-pended-", "tcg"));
    assert_false(listed(cfg, "wfs-smi-not-pended-23", "tcg"));
    assert_false(listed(cfg, "wf", "tcg"));
    assert_false(listed(cfg, "", "tcg"));
    assert_false(listed(cfg, "tcg", "tcg"));
    assert_false(listed(cfg, "second", "tcg"));
    assert_false(listed(cfg, "WFS", "tcg"));
}

/* The first line that matches id and platform wins; a line for the same
 * id on another platform does not hide a later one. */
static void test_first_match(void **state)
{
    static const char *const cfg =
        "dup kvm on kvm\n"
        "dup tcg on tcg, first\n"
        "dup tcg on tcg, second\n";

    (void)state;
    assert_true(listed(cfg, "dup", "tcg"));
    assert_string_equal(desc, "on tcg, first");
    assert_true(listed(cfg, "dup", "kvm tcg"));
    assert_string_equal(desc, "on kvm");
    assert_false(listed(cfg, "dup", "pc"));
}

/* ---- comments, blank lines, line endings ----------------------------------- */

static void test_comments_and_blanks(void **state)
{
    (void)state;
    assert_false(listed(CFG, "notlisted", "tcg"));
    assert_false(listed(CFG, "#", ""));
    assert_false(listed(CFG, "#", "tcg"));
    assert_false(listed("# single tcg commented out\n", "single", "tcg"));
    assert_false(listed("#single tcg commented out\n", "single", "tcg"));
    assert_false(listed("#single tcg commented out\n", "#single", "tcg"));
    assert_true(listed(CFG, "indented", "pc"));
    /* Leading blanks of the description go, inner ones stay. */
    assert_string_equal(desc, "tabs   between   words  ");
    assert_true(listed(CFG, "last", "hw"));
    assert_string_equal(desc, "no newline at the end");
    assert_true(listed("\n\n\n\nx tcg after blank lines\n\n", "x", "tcg"));
    assert_string_equal(desc, "after blank lines");
    assert_false(listed("", "x", "tcg"));
    assert_false(deviation_listed(NULL, "x", NULL, 0, NULL, 0));
    assert_false(listed("\n", "x", "tcg"));
    /* An id alone, or id and platforms with no description. */
    assert_false(listed("x\n", "x", "tcg"));
    assert_false(listed("x   \n", "x", "tcg"));
    if (listed("x tcg\n", "x", "tcg"))
        assert_string_equal(desc, "");
    if (listed("x tcg   \ny tcg next line\n", "x", "tcg"))
        assert_string_equal(desc, "");
}

static void test_crlf(void **state)
{
    static const char *const cfg =
        "# comment\r\n"
        "\r\n"
        "one tcg first line\r\n"
        "two kvm+q35,pc second line\r\n"
        "   \r\n"
        "three * third\r\n";

    (void)state;
    assert_int_equal(deviation_check(cfg), 0);
    assert_true(listed(cfg, "one", "tcg"));
    assert_memory_equal(desc, "first line", 10);
    assert_true(listed(cfg, "two", "pc"));
    assert_true(listed(cfg, "two", "kvm q35"));
    assert_false(listed(cfg, "two", "kvm"));
    assert_true(listed(cfg, "three", ""));
    assert_memory_equal(desc, "third", 5);
    assert_false(listed(cfg, "one", "kvm"));
    /* The platform word ends at the CR too. */
    assert_true(listed("x tcg\r\n", "x", "tcg"));
    assert_int_equal(deviation_check("ok tcg d\r\nbad tcg\r\n"), 2);
    assert_int_equal(deviation_check("bad\r\n"), 1);
}

/*
 * Regression (fixed): with CRLF line endings the
 * description keeps the CR: deviation_listed("one tcg first line\r\n",
 * "one", {"tcg"}) copies "first line\r". Expected "first line"; flip the
 * assertions once fixed.
 */
static void test_known_bug_crlf_description(void **state)
{
    (void)state;
    assert_true(listed("one tcg first line\r\n", "one", "tcg"));
    assert_string_equal(desc, "first line");
    assert_true(listed("one tcg first line\r", "one", "tcg"));
    assert_string_equal(desc, "first line");
}

/* ---- the description buffer --------------------------------------------- */

static void test_desc_truncation(void **state)
{
    static const char *const cfg = "x tcg 0123456789\n";
    const char *tags[] = { "tcg" };
    char d[16];

    (void)state;
    for (size_t len = 1; len <= sizeof(d); len++) {
        memset(d, 'Z', sizeof(d));
        assert_true(deviation_listed(cfg, "x", tags, 1, d, len));
        size_t want = len - 1 < 10 ? len - 1 : 10;

        assert_int_equal(strlen(d), want);
        assert_memory_equal(d, "0123456789", want);
        /* Nothing written past desclen. */
        for (size_t i = len; i < sizeof(d); i++)
            assert_int_equal(d[i], 'Z');
    }
    /* desclen 0: desc not touched (may be NULL). */
    memset(d, 'Z', sizeof(d));
    assert_true(deviation_listed(cfg, "x", tags, 1, d, 0));
    assert_int_equal(d[0], 'Z');
    assert_true(deviation_listed(cfg, "x", tags, 1, NULL, 0));
    assert_false(deviation_listed(cfg, "y", tags, 1, NULL, 0));
    /* Exactly fitting: 10 chars + NUL. */
    assert_true(deviation_listed(cfg, "x", tags, 1, d, 11));
    assert_string_equal(d, "0123456789");
    assert_true(deviation_listed(cfg, "x", tags, 1, d, 10));
    assert_string_equal(d, "012345678");
}

/* Heap copies, so ASan sees any read past the terminator. */
static void test_exact_allocation(void **state)
{
    static const char *const cfgs[] = {
        "x tcg d", "x tcg", "x", "#", "# c", "x tcg+q35,pc,* text", "   ", "x\ttcg\td\r",
    };

    (void)state;
    for (unsigned i = 0; i < N(cfgs); i++) {
        char *c = strdup(cfgs[i]);
        const char *tags[] = { "tcg", "q35" };
        char d[8];

        assert_non_null(c);
        (void)deviation_listed(c, "x", tags, 2, d, sizeof(d));
        (void)deviation_listed(c, "y", tags, 2, d, sizeof(d));
        (void)deviation_check(c);
        free(c);
    }
}

/* ---- the syntax check ---------------------------------------------------- */

static void test_check(void **state)
{
    (void)state;
    assert_int_equal(deviation_check(CFG), 0);
    assert_int_equal(deviation_check(""), 0);
    assert_int_equal(deviation_check(NULL), 0);
    assert_int_equal(deviation_check("\n\n# only comments\n   \n\t\n"), 0);
    assert_int_equal(deviation_check("x tcg d"), 0);
    /* An id alone; id and platforms but no description. */
    assert_int_equal(deviation_check("x\n"), 1);
    assert_int_equal(deviation_check("x tcg\n"), 1);
    assert_int_equal(deviation_check("x tcg   \t\n"), 1);
    /* The line number of the first bad line, 1-based, counting comments
     * and blank lines. */
    assert_int_equal(deviation_check("# c\n\nok tcg d\nbad tcg\nalso bad\n"), 4);
    assert_int_equal(deviation_check("ok tcg d\nok2 pc d\nbad"), 3);
    assert_int_equal(deviation_check("a * d\n\n\n\n\n\n\n\n\nz\n"), 10);
    assert_int_equal(deviation_check("  lonely\n"), 1);
}

/*
 * Regression (fixed): next_word() returned the number of
 * characters it stored (at most 63), so deviation_check's "word too long"
 * test (n >= 64) never fires, and a long id or platform list is silently
 * cut to 63 characters:
 *  - "<70 x's> tcg d" passes deviation_check; deviation_listed finds it
 *    under the 63-x prefix and not under its real id;
 *  - "dev <59 a's>,tcgX d" passes deviation_check and is listed for
 *    platform "tcg" (its last tag "tcgX" cut to "tcg").
 * Now deviation_check returns 1 for both and neither is listed.
 */
static void test_known_bug_long_words(void **state)
{
    char cfg[256], id70[71], id63[64], plats[80];

    (void)state;
    memset(id70, 'x', 70);
    id70[70] = '\0';
    memset(id63, 'x', 63);
    id63[63] = '\0';
    snprintf(cfg, sizeof(cfg), "%s tcg d\n", id70);
    assert_int_equal(deviation_check(cfg), 1);
    assert_false(listed(cfg, id63, "tcg"));
    assert_false(listed(cfg, id70, "tcg"));

    memset(plats, 'a', 59);
    strcpy(plats + 59, ",tcgX");
    snprintf(cfg, sizeof(cfg), "dev %s d\n", plats);
    assert_int_equal(deviation_check(cfg), 1);
    assert_false(listed(cfg, "dev", "tcg"));

    /* 63 characters are still whole. */
    snprintf(cfg, sizeof(cfg), "%s tcg d\n", id63);
    assert_int_equal(deviation_check(cfg), 0);
    assert_true(listed(cfg, id63, "tcg"));
    memset(plats, 'a', 58);
    strcpy(plats + 58, ",tcgX");                /* 63 characters */
    snprintf(cfg, sizeof(cfg), "dev %s d\n", plats);
    assert_false(listed(cfg, "dev", "tcg"));
    assert_true(listed(cfg, "dev", "tcgX"));
}

/* ---- the real file ---------------------------------------------------------- */

/* Static buffers: a failing assertion leaves the test without freeing. */
static char file_buf[1 << 16], file_copy[1 << 16];

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    if (!f)
        fail_msg("cannot open %s (tests run from the repository root)", path);
    n = fread(file_buf, 1, sizeof(file_buf) - 1, f);
    assert_true(feof(f));
    fclose(f);
    assert_true(n > 0);
    file_buf[n] = '\0';
    return file_buf;
}

/* The entry id is found, with its description text, for each tag set of
 * its platform list plats. */
static void found_for_each_set(const char *cfg, const char *id, const char *plats, const char *text)
{
    char setbuf[64], *s2 = NULL;

    snprintf(setbuf, sizeof(setbuf), "%s", plats);
    for (char *set = strtok_r(setbuf, ",", &s2); set; set = strtok_r(NULL, ",", &s2)) {
        char tags[64];

        snprintf(tags, sizeof(tags), "%s", set);
        for (char *c = tags; *c; c++)
            if (*c == '+')
                *c = ' ';
        if (!strcmp(tags, "*"))
            tags[0] = '\0';
        if (!listed(cfg, id, tags))
            fail_msg("%s not listed for \"%s\"", id, set);
        assert_string_equal(desc, text);
    }
}

/* Tags are ones the kernel can have (kernel/report.c's platform_tags:
 * machine, accelerator, VGA or not, the firmware run-qemu.sh names, a QEMU
 * version range), so a typo cannot silently disable an entry. */
static void tags_known(const char *id, const char *plats)
{
    static const char *const known[] = {
        "q35", "pc", "tcg", "kvm", "hw", "vga", "novga", "seabios", "ovmf", "ovmf-smm", "*",
    };

    for (const char *c = plats; *c;) {
        size_t n = strcspn(c, "+,");
        bool ok = (n > 5 && !strncmp(c, "qemu<", 5)) || (n > 6 && !strncmp(c, "qemu>=", 6));

        for (unsigned k = 0; k < N(known); k++)
            if (strlen(known[k]) == n && !strncmp(known[k], c, n))
                ok = true;
        if (!ok)
            fail_msg("%s: unknown tag \"%.*s\"", id, (int)n, c);
        c += n;
        if (*c)
            c++;
    }
}

static void test_real_file(void **state)
{
    char *cfg = read_file("tests/deviations.cfg");
    char *copy, *save = NULL;
    char ids[64][64];
    unsigned nids = 0;

    (void)state;
    assert_int_equal(deviation_check(cfg), 0);
    assert_null(strchr(cfg, '\r'));

    /* Every entry, parsed here on its own, is found for each of its tag
     * sets, with its description, and ids are unique. */
    copy = strcpy(file_copy, cfg);
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char id[64], plats[64], *p = line;
        int used = 0;

        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#')
            continue;
        assert_int_equal(sscanf(p, "%63s %63s %n", id, plats, &used), 2);
        assert_true(used > 0);
        const char *text = p + used;

        assert_true(strlen(text) > 0);
        assert_true(strlen(id) < 63 && strlen(plats) < 63);
        for (unsigned i = 0; i < nids; i++)
            if (!strcmp(ids[i], id))
                fail_msg("id %s listed twice", id);
        assert_true(nids < N(ids));
        strcpy(ids[nids++], id);

        found_for_each_set(cfg, id, plats, text);
        tags_known(id, plats);
        assert_false(listed(cfg, id, "no-such-platform"));
    }
    assert_true(nids >= 1);
    print_message("tests/deviations.cfg: %u entries\n", nids);
}

/* Version ranges: "qemu<X.Y" and "qemu>=X.Y" against the platform's
 * "qemu=A.B.C"; a platform without a version matches every range. */
static void test_version_ranges(void **state)
{
    (void)state;
    static const char *const VCFG =
        "fixed-in-8   tcg+qemu<8.0        fixed in QEMU 8.0\n"
        "new-in-9.1   qemu>=9.1.2         appeared in 9.1.2\n"
        "window       qemu>=7.1+qemu<7.2.5,pc  a window, or any pc\n";
    assert_true(listed(VCFG, "fixed-in-8", "q35 tcg qemu=7.2.22"));
    assert_false(listed(VCFG, "fixed-in-8", "q35 tcg qemu=8.0"));
    assert_false(listed(VCFG, "fixed-in-8", "q35 tcg qemu=10.1.0"));
    assert_false(listed(VCFG, "fixed-in-8", "q35 kvm qemu=7.2.22"));
    assert_true(listed(VCFG, "fixed-in-8", "q35 tcg"));           /* version unknown */
    assert_false(listed(VCFG, "new-in-9.1", "q35 tcg qemu=9.1.1"));
    assert_true(listed(VCFG, "new-in-9.1", "q35 tcg qemu=9.1.2"));
    assert_true(listed(VCFG, "new-in-9.1", "q35 tcg qemu=9.10"));  /* 9.10 > 9.2: numeric parts */
    assert_true(listed(VCFG, "window", "q35 tcg qemu=7.2.4"));
    assert_false(listed(VCFG, "window", "q35 tcg qemu=7.2.5"));
    assert_false(listed(VCFG, "window", "q35 tcg qemu=7.0.9"));
    assert_true(listed(VCFG, "window", "pc tcg qemu=10.0"));
    assert_int_equal(deviation_check(VCFG), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_tag),
        cmocka_unit_test(test_tag_sets),
        cmocka_unit_test(test_alternatives),
        cmocka_unit_test(test_star),
        cmocka_unit_test(test_id_prefixes),
        cmocka_unit_test(test_first_match),
        cmocka_unit_test(test_comments_and_blanks),
        cmocka_unit_test(test_crlf),
        cmocka_unit_test(test_known_bug_crlf_description),
        cmocka_unit_test(test_desc_truncation),
        cmocka_unit_test(test_exact_allocation),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_known_bug_long_words),
        cmocka_unit_test(test_real_file),
        cmocka_unit_test(test_version_ranges),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
