/*
 * kstring.h - the string/memory functions shared by kernel and host tests.
 *
 * On the host (SMMSYNC_HOST) the pure library code is compiled against the
 * real libc so the sanitizers see genuine libc calls; in the kernel we
 * provide our own freestanding versions in lib/string.c.
 */
#ifndef SMMSYNC_KSTRING_H
#define SMMSYNC_KSTRING_H

#ifdef SMMSYNC_HOST
#include <string.h>
/*
 * strnlen is POSIX, not ISO C, so glibc hides it under -std=c11 unless a
 * feature macro was set before the first system header.  Redeclaring it
 * (compatibly) is simpler than policing include order.
 */
size_t strnlen(const char *s, size_t maxlen);
#else
#include <stddef.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t maxlen);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
#endif

#endif /* SMMSYNC_KSTRING_H */
