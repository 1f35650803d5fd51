/* The list of known platform deviations is data (tests/deviations.cfg,
 * embedded in the kernel). Pure code: also built into host tests. */
#ifndef SMMSYNC_DEVIATIONS_H
#define SMMSYNC_DEVIATIONS_H
#include <stdbool.h>
#include <stddef.h>

/* Each non-comment line: "<id> <platforms> <description...>", where
 * <platforms> is a comma-separated list of tag sets; a tag set is tags
 * joined by '+' that must all hold (e.g. "tcg", "pc", "tcg+q35", "*").
 * A tag "qemu<X.Y[.Z]" or "qemu>=X.Y[.Z]" holds when the platform's tag
 * "qemu=A.B.C" is in that range (or when the platform has no such tag): a
 * deviation QEMU fixed in a version is listed up to it.
 * Returns true if <id> is listed for a platform having all of 'tags'
 * in some set; copies the description into desc. */
bool deviation_listed(const char *cfg, const char *id, const char *const *tags,
                      unsigned ntags, char *desc, size_t desclen);
/* Checks the syntax of the whole file; returns the 1-based line of the first
 * bad line, or 0. */
unsigned deviation_check(const char *cfg);
#endif
