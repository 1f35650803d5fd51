/* Time-unit conversions, pure: shared by the kernel's timer and the SMM
 * image (which has its own copy of the TSC rate in smm_config). */
#ifndef SMMSYNC_UNITS_H
#define SMMSYNC_UNITS_H
#include <stdint.h>

/* a * b / c without overflow for b, c below ~1.8e10 (no libgcc division). */
static inline uint64_t muldiv(uint64_t a, uint64_t b, uint64_t c)
{
    return (a / c) * b + ((a % c) * b) / c;
}

/* Microseconds to ticks of a clock running at hz. */
static inline uint64_t ticks_of_us(uint64_t us, uint64_t hz) { return muldiv(us, hz, 1000000u); }
#endif
