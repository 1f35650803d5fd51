/* Sets of logical CPUs: a bitmap with room for CPUSET_MAX CPUs (255, the
 * xAPIC limit, fits), passed by value. The records, the rendezvous and the
 * tests use it wherever a set of CPUs is meant; no uint64_t masks, so
 * nothing stops at 64 CPUs. The cs_atomic_* forms are for sets that
 * several CPUs change at once (the rendezvous's joined/left sets): each
 * word is loaded, stored or or-ed atomically on its own, which is all a
 * set with one writer per bit needs. Pure: kernel, SMM image and host. */
#ifndef SMMSYNC_CPUSET_H
#define SMMSYNC_CPUSET_H
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

#define CPUSET_MAX   256u
#define CPUSET_WORDS (CPUSET_MAX / 64)

typedef struct cpuset {
    uint64_t w[CPUSET_WORDS];
} cpuset_t;

static inline cpuset_t cs_none(void)
{
    cpuset_t s = { { 0 } };
    return s;
}

static inline bool cs_has(cpuset_t s, unsigned c)
{
    return c < CPUSET_MAX && (s.w[c / 64] >> (c % 64) & 1);
}

static inline void cs_add(cpuset_t *s, unsigned c)
{
    if (c < CPUSET_MAX)
        s->w[c / 64] |= 1ull << (c % 64);
}

static inline void cs_del(cpuset_t *s, unsigned c)
{
    if (c < CPUSET_MAX)
        s->w[c / 64] &= ~(1ull << (c % 64));
}

static inline cpuset_t cs_of(unsigned c)
{
    cpuset_t s = cs_none();
    cs_add(&s, c);
    return s;
}

/* {0, 1, ..., n-1} */
static inline cpuset_t cs_first_n(unsigned n)
{
    cpuset_t s = cs_none();
    for (unsigned k = 0; k < CPUSET_WORDS; k++) {
        unsigned lo = k * 64;
        s.w[k] = n >= lo + 64 ? ~0ull : n > lo ? (1ull << (n - lo)) - 1 : 0;
    }
    return s;
}

static inline cpuset_t cs_or(cpuset_t a, cpuset_t b)
{
    for (unsigned k = 0; k < CPUSET_WORDS; k++)
        a.w[k] |= b.w[k];
    return a;
}

static inline cpuset_t cs_and(cpuset_t a, cpuset_t b)
{
    for (unsigned k = 0; k < CPUSET_WORDS; k++)
        a.w[k] &= b.w[k];
    return a;
}

/* a without b */
static inline cpuset_t cs_minus(cpuset_t a, cpuset_t b)
{
    for (unsigned k = 0; k < CPUSET_WORDS; k++)
        a.w[k] &= ~b.w[k];
    return a;
}

static inline bool cs_empty(cpuset_t s)
{
    uint64_t any = 0;
    for (unsigned k = 0; k < CPUSET_WORDS; k++)
        any |= s.w[k];
    return !any;
}

static inline bool cs_eq(cpuset_t a, cpuset_t b)
{
    uint64_t diff = 0;
    for (unsigned k = 0; k < CPUSET_WORDS; k++)
        diff |= a.w[k] ^ b.w[k];
    return !diff;
}

/* a is a subset of b */
static inline bool cs_subset(cpuset_t a, cpuset_t b)
{
    return cs_empty(cs_minus(a, b));
}

/* Bits set in one word (SWAR; the kernel has no libgcc for __builtin_popcountll). */
static inline unsigned cs_popcount64(uint64_t v)
{
    v = v - ((v >> 1) & 0x5555555555555555ull);
    v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
    v = (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0Full;
    return (unsigned)((v * 0x0101010101010101ull) >> 56);
}

static inline unsigned cs_count(cpuset_t s)
{
    unsigned n = 0;
    for (unsigned k = 0; k < CPUSET_WORDS; k++)
        n += cs_popcount64(s.w[k]);
    return n;
}

/* The lowest CPU in s, or -1. */
static inline int cs_first(cpuset_t s)
{
    for (unsigned k = 0; k < CPUSET_WORDS; k++)
        if (s.w[k])
            return (int)(k * 64 + (unsigned)__builtin_ctzll(s.w[k]));
    return -1;
}

/* Every CPU c of s in increasing order: for (int c = cs_first(s); c >= 0; c = cs_next(s, c)) */
static inline int cs_next(cpuset_t s, int c)
{
    for (unsigned i = (unsigned)c + 1; i < CPUSET_MAX; i++) {
        uint64_t rest = s.w[i / 64] >> (i % 64);
        if (rest)
            return (int)(i + (unsigned)__builtin_ctzll(rest));
        i |= 63;                        /* on to the next word */
    }
    return -1;
}

/* Sequentially consistent (a locked OR on x86): what a Dekker-style
 * "add myself, then look at the flag" needs (smm_wait=hlt's halters). */
static inline void cs_atomic_add(cpuset_t *s, unsigned c)
{
    if (c < CPUSET_MAX)
        __atomic_or_fetch(&s->w[c / 64], 1ull << (c % 64), __ATOMIC_SEQ_CST);
}

/* Sequentially consistent too (a plain move on x86): the halting monarch's
 * look at who joined pairs with its seq_cst publish (rendezvous.c). */
static inline bool cs_atomic_has(const cpuset_t *s, unsigned c)
{
    return c < CPUSET_MAX && (__atomic_load_n(&s->w[c / 64], __ATOMIC_SEQ_CST) >> (c % 64) & 1);
}

static inline cpuset_t cs_atomic_load(const cpuset_t *s)
{
    cpuset_t v;
    for (unsigned k = 0; k < CPUSET_WORDS; k++)
        v.w[k] = __atomic_load_n(&s->w[k], __ATOMIC_SEQ_CST);    /* plain moves on x86 */
    return v;
}

static inline void cs_atomic_store(cpuset_t *s, cpuset_t v)
{
    for (unsigned k = 0; k < CPUSET_WORDS; k++)
        __atomic_store_n(&s->w[k], v.w[k], __ATOMIC_RELEASE);
}

/* "0-3,5,9-11", or "none": at most len bytes with the NUL; a set that does
 * not fit ends in "...". Returns buf. (lib/cpuset.c) */
const char *cs_format(cpuset_t s, char *buf, size_t len);
/* Longest text of a set of CPUSET_MAX CPUs, with the NUL. */
#define CPUSET_STR 1024
#endif
