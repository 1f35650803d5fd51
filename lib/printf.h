/*
 * printf.h - bounded formatted output for the kernel (and host tests).
 *
 * C99 snprintf semantics (C11 7.21.6.5): the return value is the length
 * the full output would have had; the buffer is always NUL-terminated
 * when size > 0; size 0 with buf NULL just measures.
 *
 * Supported: %d %i %u %x %X %o %p %s %c %%, flags "-0+ #", width and
 * precision (including '*'), length modifiers hh h l ll z t j.
 * No floating point (the kernel is built -mgeneral-regs-only) and no %n.
 * %p always prints "0x" followed by 16 lowercase hex digits; a NULL %s
 * prints "(null)".
 */
#ifndef SMMSYNC_PRINTF_H
#define SMMSYNC_PRINTF_H

#include <stdarg.h>
#include <stddef.h>

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The parsers' error return: formats the message into err (when the caller
 * gave a buffer) and returns code. */
int kfail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif /* SMMSYNC_PRINTF_H */
