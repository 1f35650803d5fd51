/*
 * cmdline.h - kernel command-line lookup and small text matchers.
 *
 * The command line is a list of words separated by blanks (space, tab,
 * CR, LF); a word is either "key=value" or a bare "key".  There is no
 * quoting: values cannot contain blanks.  All functions are pure.
 */
#ifndef SMMSYNC_CMDLINE_H
#define SMMSYNC_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Find `key` (last occurrence wins, so later words override earlier ones,
 * as GRUB users expect when appending options).  On success copies the
 * value ("" for a bare key) into val and returns true.  Returns false if
 * the key is absent, if val/vallen cannot hold the value plus NUL (val is
 * then left holding a truncated, NUL-terminated copy), or if vallen is 0.
 */
bool cmdline_get(const char *cmdline, const char *key, char *val, size_t vallen);

/* True if `key` appears, bare or as key=value. */
bool cmdline_has(const char *cmdline, const char *key);

/* '*' matches any run (even empty), '?' exactly one char; nothing else is special. */
bool glob_match(const char *pattern, const char *s);

/* Comma-separated globs; true if any matches.  Empty list items are ignored. */
bool glob_list_match(const char *globs, const char *s);

/*
 * Whole-string unsigned parse: decimal, or hex with a 0x/0X prefix.
 * No sign, no surrounding blanks, no octal (leading zeros are decimal).
 * False on empty input, stray characters, or overflow of 64 bits.
 */
bool parse_u64(const char *s, uint64_t *out);

/* cmdline_get + parse_u64; false if absent or not a valid number. */
bool cmdline_get_u64(const char *cmdline, const char *key, uint64_t *out);

#endif /* SMMSYNC_CMDLINE_H */
