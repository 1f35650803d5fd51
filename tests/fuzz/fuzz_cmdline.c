/*
 * fuzz_cmdline.c - libFuzzer target for lib/cmdline.c.
 *
 * Input: [0] is vallen (the size of cmdline_get's output buffer, 0..255);
 * the rest is split at its first NUL into A and B (B empty if there is no
 * NUL).  A is used as the key / glob pattern / glob list, B as the command
 * line / the string to match; both are exactly sized heap strings, and the
 * output buffer is an exactly sized heap buffer, so ASan reports any read
 * or write outside them.
 *
 * Every function is compared with a straightforward reference written here
 * from the rules in cmdline.h (abort() on a difference): cmdline_get,
 * cmdline_has, glob_match (dynamic programming), glob_list_match,
 * parse_u64 (128-bit accumulation) and cmdline_get_u64.
 *
 * Build: tools/fuzz.sh (clang -fsanitize=fuzzer,address,undefined).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cmdline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                      \
    do {                                                             \
        if (!(cond)) {                                           \
            fprintf(stderr, "fuzz_cmdline: check failed: %s (%s:%d)\n", \
                #cond, __FILE__, __LINE__);              \
            abort();                                         \
        }                                                        \
    } while (0)

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p)
        abort();
    return p;
}

static char *str_exact(const uint8_t *p, size_t n)
{
    char *s = xmalloc(n + 1);

    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* ---- references --------------------------------------------------------- */

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Last word equal to key or starting with key"=": value [*v, *v + *n). */
static bool ref_find(const char *cl, const char *key, const char **v, size_t *n)
{
    size_t klen = strlen(key), i = 0, len = strlen(cl);
    bool found = false;

    if (klen == 0)
        return false;
    while (i < len) {
        size_t start, wlen;

        if (blank(cl[i])) {
            i++;
            continue;
        }
        start = i;
        while (i < len && !blank(cl[i]))
            i++;
        wlen = i - start;
        if (wlen == klen && strncmp(cl + start, key, klen) == 0) {
            *v = cl + i;
            *n = 0;
            found = true;
        } else if (wlen > klen && strncmp(cl + start, key, klen) == 0 &&
               cl[start + klen] == '=') {
            *v = cl + start + klen + 1;
            *n = wlen - klen - 1;
            found = true;
        }
    }
    return found;
}

/* Glob [p, p+plen) against s by dynamic programming over prefixes. */
static bool ref_glob(const char *p, size_t plen, const char *s)
{
    size_t slen = strlen(s);
    bool *prev = xmalloc(slen + 1), *cur = xmalloc(slen + 1), *t;
    bool r;

    /* prev[j]: pattern prefix of length i matches s prefix of length j. */
    prev[0] = true;
    for (size_t j = 1; j <= slen; j++)
        prev[j] = false;
    for (size_t i = 1; i <= plen; i++) {
        char pc = p[i - 1];

        cur[0] = pc == '*' && prev[0];
        for (size_t j = 1; j <= slen; j++) {
            if (pc == '*')
                cur[j] = prev[j] || cur[j - 1];
            else
                cur[j] = prev[j - 1] && (pc == '?' || pc == s[j - 1]);
        }
        t = prev, prev = cur, cur = t;
    }
    r = prev[slen];
    free(prev);
    free(cur);
    return r;
}

static bool ref_glob_list(const char *globs, const char *s)
{
    const char *p = globs;

    for (;;) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);

        if (n && ref_glob(p, n, s))
            return true;
        if (!c)
            return false;
        p = c + 1;
    }
}

static bool ref_u64(const char *s, uint64_t *out)
{
    unsigned __int128 v = 0;
    unsigned base = 10;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        base = 16, s += 2;
    if (!*s)
        return false;
    for (; *s; s++) {
        const char *digits = "0123456789abcdef", *d;
        char ch = *s;

        if (base == 16 && ch >= 'A' && ch <= 'F')
            ch = (char)(ch - 'A' + 'a');
        d = ch ? strchr(digits, ch) : NULL;
        if (!d || (unsigned)(d - digits) >= base)
            return false;
        v = v * base + (unsigned)(d - digits);
        if (v > UINT64_MAX)
            return false;
    }
    *out = (uint64_t)v;
    return true;
}

/* ---- the target ------------------------------------------------------- */

static void check_u64(const char *s)
{
    uint64_t a = 0x1111, b = 0x2222;
    bool ra = parse_u64(s, &a), rb = ref_u64(s, &b);

    CHECK(ra == rb);
    if (ra)
        CHECK(a == b);
    else
        CHECK(a == 0x1111);     /* *out untouched on failure */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *rest, *nul;
    size_t vallen, alen, blen;
    char *a, *b, *val;
    const char *rv = NULL;
    size_t rn = 0;
    uint64_t u = 0, ru = 0;
    bool got, want;

    if (size < 1)
        return 0;
    vallen = data[0];
    rest = data + 1;
    nul = memchr(rest, '\0', size - 1);
    alen = nul ? (size_t)(nul - rest) : size - 1;
    blen = nul ? size - 1 - alen - 1 : 0;
    a = str_exact(rest, alen);
    b = str_exact(nul ? nul + 1 : rest + alen, blen);

    /* cmdline_get / cmdline_has: B is the command line, A the key. */
    val = vallen ? xmalloc(vallen) : NULL;
    got = cmdline_get(b, a, val, vallen);
    want = ref_find(b, a, &rv, &rn);
    CHECK(cmdline_has(b, a) == want);
    if (vallen == 0) {
        CHECK(!got);
    } else {
        size_t keep = want ? (rn < vallen ? rn : vallen - 1) : 0;

        CHECK(got == (want && rn < vallen));
        CHECK(strlen(val) == keep);
        CHECK(memcmp(val, rv ? rv : "", keep) == 0);
    }
    got = cmdline_get_u64(b, a, &u);
    if (want && rn < 64) {
        char tmp[64];

        memcpy(tmp, rv, rn);
        tmp[rn] = '\0';
        CHECK(got == ref_u64(tmp, &ru));
        if (got)
            CHECK(u == ru);
    } else {
        CHECK(!got);
    }

    /* Globs: A is the pattern (or list), B the string. */
    CHECK(glob_match(a, b) == ref_glob(a, alen, b));
    CHECK(glob_list_match(a, b) == ref_glob_list(a, b));

    check_u64(a);
    check_u64(b);

    free(val);
    free(a);
    free(b);
    return 0;
}
