/*
 * tap.h - TAP version 13 result formatting (https://testanything.org/tap-version-13-specification.html).
 *
 * Pure: output goes through t->write, so the kernel can send it to the
 * serial port and host tests can capture it in a buffer.
 *
 * Result kinds and their lines (N is the result number, from 1):
 *   PASS     ok N - name
 *   FAIL     not ok N - name
 *            # name: detail           (one per detail line, if any: the reason)
 *   SKIP     ok N - name # SKIP detail
 *   XFAIL    not ok N - name # TODO known-deviation detail
 *   XPASS    not ok N - name # deviation no longer observed: detail
 *   TIMEOUT  not ok N - name # TIMEOUT detail
 * XFAIL is a known platform deviation that was observed (TAP TODO, so not
 * a failure); XPASS means a listed deviation vanished and *is* a failure,
 * so its line must carry no SKIP/TODO directive.
 */
#ifndef SMMSYNC_TAP_H
#define SMMSYNC_TAP_H

#include <stdint.h>

enum tap_kind {
    TAP_PASS,
    TAP_FAIL,
    TAP_SKIP,
    TAP_XFAIL,
    TAP_XPASS,
    TAP_TIMEOUT,
    TAP_KIND_COUNT
};

#define TAP_SEEN_SLOTS 1024u
#define TAP_NAME_MAX 200u       /* longer names are cut before de-duplication */

struct tap {
    void (*write)(void *ctx, const char *s);    /* writes a NUL-terminated chunk */
    void *ctx;
    unsigned n;                                 /* results so far */
    unsigned count[TAP_KIND_COUNT];
    uint32_t seen[TAP_SEEN_SLOTS];                      /* hash set of emitted names, for uniqueness */
    unsigned nseen;
    unsigned dup_count;
};

/* Reset the counters (write/ctx are kept) and print "TAP version 13". */
void tap_begin(struct tap *t);

/*
 * Emit one result.  Names are sanitised ('#' -> '_', control characters
 * -> ' ', outer blanks trimmed, empty -> "unnamed", cut to TAP_NAME_MAX)
 * and made unique with a " (2)", " (3)", ... suffix (dup_count counts
 * those).  Once TAP_SEEN_SLOTS - 1 names are remembered, every further
 * name gets " (result N)" instead, which is unique by construction.
 * detail may be NULL.
 */
void tap_result(struct tap *t, enum tap_kind k, const char *name,
        const char *detail);

/* Each line of text becomes a "# line" diagnostic. */
void tap_diag(struct tap *t, const char *text);

/* Plan line "1..N" then a "# Totals: ..." summary. */
void tap_end(struct tap *t);

enum tap_verdict { TAP_VERDICT_PASS, TAP_VERDICT_FAIL, TAP_VERDICT_SKIP_ONLY };

/* FAIL if any FAIL/XPASS/TIMEOUT; SKIP_ONLY if nothing ran or all skipped. */
enum tap_verdict tap_verdict(const struct tap *t);

#endif /* SMMSYNC_TAP_H */
