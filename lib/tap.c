/*
 * tap.c - TAP version 13 output; see tap.h for the line formats.
 *
 * Output is assembled in a small buffer and handed to t->write in chunks,
 * so arbitrarily long details need no large stack buffers.
 *
 * TAP parsers (e.g. Perl's TAP::Parser behind `prove`) treat the first
 * unescaped '#' on a test line as the start of the directive, so names
 * must never contain '#': that is why it is replaced by '_'.
 */
#include <stdbool.h>
#include <stddef.h>

#include "lib/kstring.h"
#include "lib/printf.h"
#include "lib/tap.h"

/* Keep one slot empty so an open-addressing probe always terminates. */
#define SEEN_LIMIT (TAP_SEEN_SLOTS - 1u)

struct out {
    struct tap *t;
    size_t len;
    char buf[128];
};

static void out_flush(struct out *o)
{
    if (o->len == 0)
        return;
    o->buf[o->len] = '\0';
    if (o->t->write)
        o->t->write(o->t->ctx, o->buf);
    o->len = 0;
}

static void out_ch(struct out *o, char c)
{
    if (o->len == sizeof(o->buf) - 1)
        out_flush(o);
    o->buf[o->len++] = c;
}

static void out_str(struct out *o, const char *s)
{
    while (*s)
        out_ch(o, *s++);
}

static void out_uint(struct out *o, unsigned v)
{
    char num[16];

    ksnprintf(num, sizeof(num), "%u", v);
    out_str(o, num);
}

static bool is_ctrl(char c)
{
    return (unsigned char)c < 0x20 || c == 0x7f;
}

/* Detail text on a result line: a single line, so controls become ' '. */
static void out_inline(struct out *o, const char *s, bool hide_hash)
{
    for (; *s; s++) {
        if (is_ctrl(*s))
            out_ch(o, ' ');
        else if (hide_hash && *s == '#')
            out_ch(o, '_');
        else
            out_ch(o, *s);
    }
}

/*
 * Emit text as diagnostic lines "<h1><h2><h3> <line>\n" (no blank after
 * the head for an empty line).  A trailing newline does not produce an
 * extra empty line; other control characters become ' '.
 */
static void out_diag_lines(struct out *o, const char *h1, const char *h2,
               const char *h3, const char *text)
{
    const char *p = text;

    while (*p) {
        out_str(o, h1);
        out_str(o, h2);
        out_str(o, h3);
        if (*p != '\n')
            out_ch(o, ' ');
        for (; *p && *p != '\n'; p++)
            out_ch(o, is_ctrl(*p) ? ' ' : *p);
        out_ch(o, '\n');
        if (*p == '\n')
            p++;
    }
}

/* 32-bit FNV-1a; 0 is reserved for "empty slot". */
static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h ? h : 1u;
}

/*
 * Look h up; insert it if absent.  Returns true if it was already there.
 * Distinct names with the same hash look like duplicates; that only costs
 * an unneeded " (k)" suffix, never a repeated name.
 */
static bool seen_check_insert(struct tap *t, uint32_t h)
{
    uint32_t i = h % TAP_SEEN_SLOTS;

    while (t->seen[i]) {
        if (t->seen[i] == h)
            return true;
        i = (i + 1) % TAP_SEEN_SLOTS;
    }
    t->seen[i] = h;
    t->nseen++;
    return false;
}

static bool seen_has(const struct tap *t, uint32_t h)
{
    uint32_t i = h % TAP_SEEN_SLOTS;

    while (t->seen[i]) {
        if (t->seen[i] == h)
            return true;
        i = (i + 1) % TAP_SEEN_SLOTS;
    }
    return false;
}

/* Sanitise name into dst (TAP_NAME_MAX chars max). */
static void sanitise_name(char *dst, const char *name)
{
    size_t n = 0, start = 0;

    if (!name)
        name = "";
    for (; *name && n < TAP_NAME_MAX; name++) {
        char c = *name;

        if (c == '#')
            c = '_';
        else if (is_ctrl(c))
            c = ' ';
        dst[n++] = c;
    }
    while (n > 0 && dst[n - 1] == ' ')
        n--;
    while (start < n && dst[start] == ' ')
        start++;
    memmove(dst, dst + start, n - start);
    n -= start;
    if (n == 0) {
        memcpy(dst, "unnamed", sizeof("unnamed"));
        return;
    }
    dst[n] = '\0';
}

/* Room after a TAP_NAME_MAX name for " (result N)" plus " (k)". */
#define SUFFIX_ROOM 48u

/*
 * Turn the sanitised name into one not emitted before, in place (buffer
 * of TAP_NAME_MAX + SUFFIX_ROOM bytes), and remember it.
 */
static void make_unique(struct tap *t, char *name)
{
    size_t base = strlen(name), len;
    char *end = name + TAP_NAME_MAX + SUFFIX_ROOM;
    unsigned k;

    if (t->nseen >= SEEN_LIMIT) {
        /*
         * Set full: later names cannot be remembered, but the result
         * number is unique, so every further name carries it (plus a
         * " (k)" in the freak case that a remembered name matches).
         */
        if (seen_has(t, name_hash(name)))
            t->dup_count++;
        ksnprintf(name + base, (size_t)(end - (name + base)),
              " (result %u)", t->n + 1);
        len = strlen(name);
        for (k = 2; seen_has(t, name_hash(name)); k++)
            ksnprintf(name + len, (size_t)(end - (name + len)),
                  " (%u)", k);
        return;
    }
    if (!seen_check_insert(t, name_hash(name)))
        return;
    t->dup_count++;
    for (k = 2;; k++) {
        ksnprintf(name + base, (size_t)(end - (name + base)), " (%u)", k);
        if (!seen_check_insert(t, name_hash(name)))
            return;
    }
}

void tap_begin(struct tap *t)
{
    struct out o = { .t = t };

    t->n = 0;
    memset(t->count, 0, sizeof(t->count));
    memset(t->seen, 0, sizeof(t->seen));
    t->nseen = 0;
    t->dup_count = 0;
    out_str(&o, "TAP version 13\n");
    out_flush(&o);
}

void tap_result(struct tap *t, enum tap_kind k, const char *name,
        const char *detail)
{
    struct out o = { .t = t };
    char nm[TAP_NAME_MAX + SUFFIX_ROOM];
    bool has_detail = detail && *detail;

    if ((unsigned)k >= TAP_KIND_COUNT)
        k = TAP_FAIL;   /* an unknown kind must not pass silently */
    sanitise_name(nm, name);
    make_unique(t, nm);
    t->n++;
    t->count[k]++;

    out_str(&o, (k == TAP_PASS || k == TAP_SKIP) ? "ok " : "not ok ");
    out_uint(&o, t->n);
    out_str(&o, " - ");
    out_str(&o, nm);

    switch (k) {
    case TAP_SKIP:
        out_str(&o, " # SKIP");
        break;
    case TAP_XFAIL:
        out_str(&o, " # TODO known-deviation");
        break;
    case TAP_XPASS:
        /* Deliberately no directive: this must count as a failure. */
        out_str(&o, " # deviation no longer observed:");
        break;
    case TAP_TIMEOUT:
        out_str(&o, " # TIMEOUT");
        break;
    default:
        break;
    }
    if (has_detail && k != TAP_PASS && k != TAP_FAIL) {
        out_ch(&o, ' ');
        /*
         * SKIP/TODO lines already carry their directive, so a '#' in
         * the detail is harmless there.  XPASS/TIMEOUT lines must not
         * gain one, even for sloppier parsers: hide '#' there.
         */
        out_inline(&o, detail, k == TAP_XPASS || k == TAP_TIMEOUT);
    }
    out_ch(&o, '\n');
    /* A failure's detail follows it: it is the reason of that result. */
    if (k == TAP_FAIL && has_detail)
        out_diag_lines(&o, "# ", nm, ":", detail);
    out_flush(&o);
}

void tap_diag(struct tap *t, const char *text)
{
    struct out o = { .t = t };

    if (!text)
        return;
    out_diag_lines(&o, "#", "", "", text);
    out_flush(&o);
}

void tap_end(struct tap *t)
{
    struct out o = { .t = t };
    char line[160];

    ksnprintf(line, sizeof(line), "1..%u\n", t->n);
    out_str(&o, line);
    ksnprintf(line, sizeof(line),
          "# Totals: pass:%u fail:%u xfail:%u xpass:%u skip:%u timeout:%u\n",
          t->count[TAP_PASS], t->count[TAP_FAIL], t->count[TAP_XFAIL],
          t->count[TAP_XPASS], t->count[TAP_SKIP], t->count[TAP_TIMEOUT]);
    out_str(&o, line);
    out_flush(&o);
}

enum tap_verdict tap_verdict(const struct tap *t)
{
    if (t->count[TAP_FAIL] || t->count[TAP_XPASS] || t->count[TAP_TIMEOUT])
        return TAP_VERDICT_FAIL;
    if (t->n == 0 || t->count[TAP_SKIP] == t->n)
        return TAP_VERDICT_SKIP_ONLY;
    return TAP_VERDICT_PASS;
}
