#include "lib/deviations.h"
#include "lib/kstring.h"

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Copies the next whitespace-separated word of the line at *p into w;
 * returns its full length (>= wlen means it did not fit). */
static size_t next_word(const char **p, const char *eol, char *w, size_t wlen)
{
    const char *s = *p;
    while (s < eol && is_space(*s))
        s++;
    size_t n = 0;
    while (s < eol && !is_space(*s)) {
        if (n + 1 < wlen)
            w[n] = *s;
        n++;
        s++;
    }
    if (wlen)
        w[n < wlen ? n : wlen - 1] = 0;
    *p = s;
    return n;
}

/* "7.2.22" -> 7002022 (each part up to 999); *end past the digits. */
static unsigned long version_num(const char *s, size_t len)
{
    unsigned long v = 0, part = 0;
    int parts = 1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (parts == 3)
                break;
            v = v * 1000 + (part > 999 ? 999 : part);
            part = 0;
            parts++;
        } else if (s[i] >= '0' && s[i] <= '9') {
            part = part * 10 + (unsigned long)(s[i] - '0');
        } else {
            break;
        }
    }
    v = v * 1000 + (part > 999 ? 999 : part);
    for (; parts < 3; parts++)
        v *= 1000;
    return v;
}

/* A version range tag, "qemu<8.0" or "qemu>=9.1.2", against the platform's
 * "qemu=7.2.22" tag. A platform that does not say its version matches
 * every range: the deviation stays expected, as it was before ranges. */
static bool version_tag(const char *t, size_t len, const char *const *tags, unsigned ntags, bool *match)
{
    bool lt = len > 5 && !strncmp(t, "qemu<", 5);
    bool ge = len > 6 && !strncmp(t, "qemu>=", 6);
    if (!lt && !ge)
        return false;
    size_t skip = lt ? 5 : 6;
    unsigned long want = version_num(t + skip, len - skip);
    *match = true;
    for (unsigned i = 0; i < ntags; i++)
        if (!strncmp(tags[i], "qemu=", 5)) {
            unsigned long have = version_num(tags[i] + 5, strlen(tags[i] + 5));
            *match = lt ? have < want : have >= want;
        }
    return true;
}

static bool has_tag(const char *t, size_t len, const char *const *tags, unsigned ntags)
{
    bool match;
    if (len == 1 && t[0] == '*')
        return true;
    if (version_tag(t, len, tags, ntags, &match))
        return match;
    for (unsigned i = 0; i < ntags; i++)
        if (strlen(tags[i]) == len && !strncmp(tags[i], t, len))
            return true;
    return false;
}

/* "tcg+q35,pc": true if any '+'-joined set has all its tags. */
static bool platforms_match(const char *spec, const char *const *tags, unsigned ntags)
{
    const char *s = spec;
    while (*s) {
        bool all = true;
        for (;;) {
            size_t n = 0;
            while (s[n] && s[n] != '+' && s[n] != ',')
                n++;
            if (!has_tag(s, n, tags, ntags))
                all = false;
            s += n;
            if (*s != '+')
                break;
            s++;
        }
        if (all)
            return true;
        if (*s == ',')
            s++;
    }
    return false;
}

static const char *line_end(const char *s)
{
    while (*s && *s != '\n')
        s++;
    return s;
}

bool deviation_listed(const char *cfg, const char *id, const char *const *tags,
                      unsigned ntags, char *desc, size_t desclen)
{
    for (const char *l = cfg; l && *l;) {
        const char *eol = line_end(l);
        const char *p = l;
        char word[64], plats[64];
        size_t wn = next_word(&p, eol, word, sizeof(word)), pn;
        if (wn && wn < sizeof(word) && word[0] != '#' && !strcmp(word, id) &&
            (pn = next_word(&p, eol, plats, sizeof(plats))) && pn < sizeof(plats) &&
            platforms_match(plats, tags, ntags)) {
            while (p < eol && is_space(*p))
                p++;
            const char *end = eol;
            while (end > p && end[-1] == '\r')          /* CR of a CRLF line end */
                end--;
            size_t n = (size_t)(end - p);
            if (desclen) {
                if (n >= desclen)
                    n = desclen - 1;
                memcpy(desc, p, n);
                desc[n] = 0;
            }
            return true;
        }
        l = *eol ? eol + 1 : eol;
    }
    return false;
}

unsigned deviation_check(const char *cfg)
{
    unsigned lineno = 1;
    for (const char *l = cfg; l && *l; lineno++) {
        const char *eol = line_end(l);
        const char *p = l;
        char word[64], plats[64], d[8];
        size_t n = next_word(&p, eol, word, sizeof(word)), pn;
        if (n && word[0] != '#') {
            if (n >= sizeof(word) || !(pn = next_word(&p, eol, plats, sizeof(plats))) ||
                pn >= sizeof(plats) || !next_word(&p, eol, d, sizeof(d)))
                return lineno;
        }
        l = *eol ? eol + 1 : eol;
    }
    return 0;
}
