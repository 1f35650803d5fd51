/*
 * printf.c - freestanding vsnprintf subset; see printf.h for the contract.
 *
 * Everything funnels through struct sink, which counts every character
 * the full output would contain but only stores those that fit, so
 * truncation and the C99 return value fall out naturally.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/kstring.h"
#include "lib/printf.h"

/* %zd / %tu reinterpret between size_t and ptrdiff_t; they must match. */
_Static_assert(sizeof(size_t) == sizeof(ptrdiff_t), "size_t/ptrdiff_t width");

struct sink {
    char *buf;
    size_t size;        /* capacity of buf including the NUL */
    size_t pos; /* characters the untruncated output has so far */
};

static void put(struct sink *s, char c)
{
    /* Keep the last slot for the terminating NUL. */
    if (s->size && s->pos < s->size - 1)
        s->buf[s->pos] = c;
    s->pos++;
}

static void put_n(struct sink *s, const char *p, size_t n)
{
    while (n--)
        put(s, *p++);
}

static void put_rep(struct sink *s, char c, size_t n)
{
    while (n--)
        put(s, c);
}

enum {
    F_LEFT = 1u << 0,   /* '-' */
    F_ZERO = 1u << 1,   /* '0' */
    F_PLUS = 1u << 2,   /* '+' */
    F_SPACE = 1u << 3,  /* ' ' */
    F_ALT = 1u << 4,    /* '#' */
};

enum length { L_NONE, L_HH, L_H, L_L, L_LL, L_Z, L_T, L_J };

struct spec {
    unsigned flags;
    size_t width;
    bool has_prec;
    size_t prec;
    enum length len;
};

/* Largest width/precision we honour; keeps arithmetic far from overflow. */
#define FIELD_MAX ((size_t)INT_MAX)

static size_t parse_num(const char **fmt)
{
    size_t v = 0;

    while (**fmt >= '0' && **fmt <= '9') {
        if (v < FIELD_MAX)
            v = v * 10 + (size_t)(**fmt - '0');
        (*fmt)++;
    }
    return v < FIELD_MAX ? v : FIELD_MAX;
}

/* Pad to sp->width around a body of body_len chars (used by %s %c %p). */
static void pad_left(struct sink *s, const struct spec *sp, size_t body_len)
{
    if (!(sp->flags & F_LEFT) && sp->width > body_len)
        put_rep(s, ' ', sp->width - body_len);
}

static void pad_right(struct sink *s, const struct spec *sp, size_t body_len)
{
    if ((sp->flags & F_LEFT) && sp->width > body_len)
        put_rep(s, ' ', sp->width - body_len);
}

static void emit_int(struct sink *s, const struct spec *sp, uintmax_t mag,
             bool negative, bool is_signed, unsigned base, bool upper)
{
    const char *digs = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    /* Octal needs ceil(bits/3) digits: the worst case. */
    char tmp[sizeof(uintmax_t) * CHAR_BIT / 3 + 2];
    size_t nd = 0;
    char prefix[2];
    size_t npre = 0;
    size_t nzero, body;

    /* C11 7.21.6.1p8: precision 0 with value 0 produces no digits. */
    if (!(sp->has_prec && sp->prec == 0 && mag == 0)) {
        do {
            tmp[nd++] = digs[mag % base];
            mag /= base;
        } while (mag);
    }
    nzero = (sp->has_prec && sp->prec > nd) ? sp->prec - nd : 0;

    if (is_signed) {
        if (negative)
            prefix[npre++] = '-';
        else if (sp->flags & F_PLUS)
            prefix[npre++] = '+';
        else if (sp->flags & F_SPACE)
            prefix[npre++] = ' ';
    }
    if (sp->flags & F_ALT) {
        /* '#' with o: first digit must be 0; with x/X: 0x if nonzero. */
        if (base == 8 && nzero == 0 && (nd == 0 || tmp[nd - 1] != '0'))
            nzero = 1;
        else if (base == 16 && nd > 0 && !(nd == 1 && tmp[0] == '0')) {
            prefix[npre++] = '0';
            prefix[npre++] = upper ? 'X' : 'x';
        }
    }

    body = npre + nzero + nd;
    /* '0' is ignored with '-' or an explicit precision (7.21.6.1p6). */
    if ((sp->flags & F_ZERO) && !(sp->flags & F_LEFT) && !sp->has_prec &&
        sp->width > body) {
        nzero += sp->width - body;
        body = sp->width;
    }

    pad_left(s, sp, body);
    put_n(s, prefix, npre);
    put_rep(s, '0', nzero);
    while (nd)
        put(s, tmp[--nd]);
    pad_right(s, sp, body);
}

static void emit_str(struct sink *s, const struct spec *sp, const char *str)
{
    size_t n;

    if (!str)
        str = "(null)";
    /* With a precision the string need not be NUL-terminated: don't over-read. */
    n = sp->has_prec ? strnlen(str, sp->prec) : strlen(str);
    pad_left(s, sp, n);
    put_n(s, str, n);
    pad_right(s, sp, n);
}

static void emit_ptr(struct sink *s, const struct spec *sp, uintptr_t v)
{
    /* Fixed "0x" + 16 digits so log columns line up and addresses grep well. */
    const size_t n = 2 + 16;
    int shift;

    pad_left(s, sp, n);
    put(s, '0');
    put(s, 'x');
    for (shift = 60; shift >= 0; shift -= 4)
        put(s, "0123456789abcdef"[((uint64_t)v >> shift) & 0xf]);
    pad_right(s, sp, n);
}

static intmax_t arg_signed(enum length len, va_list *ap)
{
    switch (len) {
    case L_HH: return (signed char)va_arg(*ap, int);
    case L_H:  return (short)va_arg(*ap, int);
    case L_L:  return va_arg(*ap, long);
    case L_LL: return va_arg(*ap, long long);
    /* The signed type corresponding to size_t; same width as ptrdiff_t. */
    case L_Z:  return (ptrdiff_t)va_arg(*ap, size_t);
    case L_T:  return va_arg(*ap, ptrdiff_t);
    case L_J:  return va_arg(*ap, intmax_t);
    case L_NONE:
    default:   return va_arg(*ap, int);
    }
}

static uintmax_t arg_unsigned(enum length len, va_list *ap)
{
    switch (len) {
    case L_HH: return (unsigned char)va_arg(*ap, unsigned int);
    case L_H:  return (unsigned short)va_arg(*ap, unsigned int);
    case L_L:  return va_arg(*ap, unsigned long);
    case L_LL: return va_arg(*ap, unsigned long long);
    case L_Z:  return va_arg(*ap, size_t);
    case L_T:  return (size_t)va_arg(*ap, ptrdiff_t);
    case L_J:  return va_arg(*ap, uintmax_t);
    case L_NONE:
    default:   return va_arg(*ap, unsigned int);
    }
}

static enum length parse_length(const char **fmt)
{
    switch (**fmt) {
    case 'h':
        (*fmt)++;
        if (**fmt == 'h') {
            (*fmt)++;
            return L_HH;
        }
        return L_H;
    case 'l':
        (*fmt)++;
        if (**fmt == 'l') {
            (*fmt)++;
            return L_LL;
        }
        return L_L;
    case 'z': (*fmt)++; return L_Z;
    case 't': (*fmt)++; return L_T;
    case 'j': (*fmt)++; return L_J;
    default:  return L_NONE;
    }
}

/*
 * Parse flags, width, precision and length of one conversion.  *fmt points
 * just past the '%'; on return it points at the conversion character.
 */
static void parse_spec(const char **fmt, struct spec *sp, va_list *ap)
{
    sp->flags = 0;
    sp->width = 0;
    sp->has_prec = false;
    sp->prec = 0;

    for (;; (*fmt)++) {
        switch (**fmt) {
        case '-': sp->flags |= F_LEFT; continue;
        case '0': sp->flags |= F_ZERO; continue;
        case '+': sp->flags |= F_PLUS; continue;
        case ' ': sp->flags |= F_SPACE; continue;
        case '#': sp->flags |= F_ALT; continue;
        default: break;
        }
        break;
    }

    if (**fmt == '*') {
        int w = va_arg(*ap, int);

        (*fmt)++;
        /* A negative '*' width means '-' flag plus its magnitude. */
        if (w < 0) {
            sp->flags |= F_LEFT;
            sp->width = (size_t)(0u - (unsigned)w);
            if (sp->width > FIELD_MAX)  /* INT_MIN */
                sp->width = FIELD_MAX;
        } else {
            sp->width = (size_t)w;
        }
    } else {
        sp->width = parse_num(fmt);
    }

    if (**fmt == '.') {
        (*fmt)++;
        sp->has_prec = true;
        if (**fmt == '*') {
            int p = va_arg(*ap, int);

            (*fmt)++;
            /* A negative '*' precision is taken as if omitted. */
            if (p < 0)
                sp->has_prec = false;
            else
                sp->prec = (size_t)p;
        } else {
            sp->prec = parse_num(fmt);
        }
    }

    sp->len = parse_length(fmt);
}

/*
 * One conversion, character conv, with its parsed spec.  Returns false for
 * a dangling '%' at the end of the format (conv is '\0'): the caller must
 * not step past it.
 */
static bool convert(struct sink *s, const struct spec *sp, char conv, va_list *ap)
{
    switch (conv) {
    case 'd':
    case 'i': {
        intmax_t v = arg_signed(sp->len, ap);
        /* Negate in unsigned arithmetic so INTMAX_MIN works. */
        uintmax_t mag = v < 0 ? (uintmax_t)0 - (uintmax_t)v
                      : (uintmax_t)v;

        emit_int(s, sp, mag, v < 0, true, 10, false);
        return true;
    }
    case 'u':
        emit_int(s, sp, arg_unsigned(sp->len, ap), false, false, 10, false);
        return true;
    case 'x':
    case 'X':
        emit_int(s, sp, arg_unsigned(sp->len, ap), false, false, 16, conv == 'X');
        return true;
    case 'o':
        emit_int(s, sp, arg_unsigned(sp->len, ap), false, false, 8, false);
        return true;
    case 'p':
        emit_ptr(s, sp, (uintptr_t)va_arg(*ap, void *));
        return true;
    case 's':
        emit_str(s, sp, va_arg(*ap, const char *));
        return true;
    case 'c': {
        char c = (char)va_arg(*ap, int);

        pad_left(s, sp, 1);
        put(s, c);
        pad_right(s, sp, 1);
        return true;
    }
    case '%':
        put(s, '%');
        return true;
    case '\0':
        /* Dangling '%' at the end: print it, don't run off. */
        put(s, '%');
        return false;
    default:
        /* Unsupported conversion: show it verbatim to flag the bug. */
        put(s, '%');
        put(s, conv);
        return true;
    }
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct sink s = { buf, buf ? size : 0, 0 };
    struct spec sp;
    va_list ap2;

    /* Work on a copy so helpers can take its address portably. */
    va_copy(ap2, ap);
    while (*fmt) {
        if (*fmt != '%') {
            put(&s, *fmt++);
            continue;
        }
        fmt++;
        parse_spec(&fmt, &sp, &ap2);
        if (convert(&s, &sp, *fmt, &ap2))
            fmt++;
    }
    va_end(ap2);

    if (s.size)
        s.buf[s.pos < s.size ? s.pos : s.size - 1] = '\0';
    /* C11 7.21.6.5: an unrepresentable length is an error. */
    return s.pos > (size_t)INT_MAX ? -1 : (int)s.pos;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = kvsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return r;
}

int kfail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        kvsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}
