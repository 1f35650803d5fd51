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

static bool has_tag(const char *t, size_t len, const char *const *tags, unsigned ntags)
{
    if (len == 1 && t[0] == '*')
        return true;
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
