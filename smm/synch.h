/* The synchbyte (patent claims 2-7, 10): one per CPU, three values; the zero
 * default means inactive, so CPUs never started read inactive without anyone
 * writing it. Non-SMM code changes only its own byte, only on the park and
 * wake paths (smp/power.c). */
#ifndef SMMSYNC_SYNCH_H
#define SMMSYNC_SYNCH_H
#include <stdint.h>
#include <stdbool.h>

enum synch_value {
    SYNCH_INACTIVE = 0x00,      /* low-power state, or never started */
    SYNCH_ACTIVE   = 0xA5,      /* running, not in SMM */
    SYNCH_IN_SMM   = 0x5A,      /* in SMM */
};

/* Where the bytes live (claims 3, 8, 47-49). */
enum synch_backend {
    SYNCH_MEM = 0,              /* system memory in the windows' overlap, below SMRAM */
    SYNCH_SMRAM = 1,            /* inside SMRAM (overlap); non-SMM writes via SMM service call */
    SYNCH_CMOS = 2,             /* CMOS NVRAM bytes (controller-hub storage) via 0x70/0x71 */
    SYNCH_BACKEND_COUNT
};

/* The cmos backend's bytes: CMOS NVRAM 0x60-0x7F, unused by SeaBIOS and
 * QEMU. 32 of them, so it holds at most 32 CPUs' synchbytes; an index from
 * 0x80 on would set port 0x70's NMI-disable bit and reach the RTC's own
 * registers (0x00-0x0D). */
#define SYNCH_CMOS_FIRST 0x60
#define SYNCH_CMOS_BYTES 32

static inline bool synch_valid(uint8_t v)
{
    return v == SYNCH_INACTIVE || v == SYNCH_ACTIVE || v == SYNCH_IN_SMM;
}

const char *synch_name(uint8_t v);
const char *synch_backend_name(enum synch_backend b);

/* Kernel side (smm/synch.c): this CPU's transition; a no-op until SMM is
 * installed. Returns false if the backend did not take it. */
bool synch_self_set(enum synch_value v);
/* Reads any CPU's byte from the non-SMM side (mem backend only; others
 * need SMM, so they return false). */
bool synch_peek(unsigned cpu, uint8_t *v);
#endif
