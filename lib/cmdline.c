/*
 * cmdline.c - command-line lookup, glob matching, number parsing.
 * See cmdline.h for the exact rules.
 */
#include "lib/cmdline.h"
#include "lib/kstring.h"

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * Scan for the last word whose name is `key`.  On a match *value points
 * at the value (after '=') or at the end of the word for a bare key, and
 * *vlen is its length.
 */
static bool find_last(const char *cmdline, const char *key,
              const char **value, size_t *vlen)
{
    size_t klen;
    bool found = false;
    const char *p = cmdline;

    if (!cmdline || !key)
        return false;
    klen = strlen(key);
    if (klen == 0)
        return false;

    while (*p) {
        const char *w, *e;

        while (is_blank(*p))
            p++;
        if (!*p)
            break;
        w = p;
        while (*p && !is_blank(*p))
            p++;
        e = p;  /* word is [w, e) */

        if ((size_t)(e - w) < klen || memcmp(w, key, klen) != 0)
            continue;
        if (w + klen == e) {
            *value = e;
            *vlen = 0;
            found = true;
        } else if (w[klen] == '=') {
            *value = w + klen + 1;
            *vlen = (size_t)(e - *value);
            found = true;
        }
    }
    return found;
}

bool cmdline_get(const char *cmdline, const char *key, char *val, size_t vallen)
{
    const char *v;
    size_t n;

    if (!val || vallen == 0)
        return false;
    val[0] = '\0';
    if (!find_last(cmdline, key, &v, &n))
        return false;
    if (n >= vallen) {
        memcpy(val, v, vallen - 1);
        val[vallen - 1] = '\0';
        return false;
    }
    memcpy(val, v, n);
    val[n] = '\0';
    return true;
}

bool cmdline_has(const char *cmdline, const char *key)
{
    const char *v;
    size_t n;

    return find_last(cmdline, key, &v, &n);
}

/*
 * Match pattern [p, p+plen) against NUL-terminated s.  Iterative with a
 * single backtrack point (the most recent '*'): this is enough because a
 * later '*' can absorb anything an earlier one could, and it keeps the
 * cost at O(|p|*|s|) with no recursion on the kernel stack.
 */
static bool glob_match_n(const char *p, size_t plen, const char *s)
{
    size_t pi = 0, star_pi = 0;
    const char *star_s = NULL;

    while (*s) {
        if (pi < plen && p[pi] == '*') {
            star_pi = ++pi;
            star_s = s;
        } else if (pi < plen && (p[pi] == '?' || p[pi] == *s)) {
            pi++;
            s++;
        } else if (star_s) {
            /* Let the last '*' swallow one more character. */
            pi = star_pi;
            s = ++star_s;
        } else {
            return false;
        }
    }
    while (pi < plen && p[pi] == '*')
        pi++;
    return pi == plen;
}

bool glob_match(const char *pattern, const char *s)
{
    if (!pattern || !s)
        return false;
    return glob_match_n(pattern, strlen(pattern), s);
}

bool glob_list_match(const char *globs, const char *s)
{
    const char *p = globs;

    if (!globs || !s)
        return false;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);

        if (n > 0 && glob_match_n(p, n, s))
            return true;
        if (!c)
            return false;
        p = c + 1;
    }
}

bool parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    unsigned base = 10;

    if (!s || !out)
        return false;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned d;

        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            return false;
        if (v > (UINT64_MAX - d) / base)
            return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}

bool cmdline_get_u64(const char *cmdline, const char *key, uint64_t *out)
{
    /* Room for 0x + 16 digits or 20 decimal digits, with leading zeros. */
    char buf[64];

    if (!cmdline_get(cmdline, key, buf, sizeof(buf)))
        return false;
    return parse_u64(buf, out);
}
