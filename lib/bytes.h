/* Little-endian loads from byte buffers that need not be aligned (firmware
 * tables, the multiboot2 information): one copy for every parser. */
#ifndef SMMSYNC_BYTES_H
#define SMMSYNC_BYTES_H
#include <stdint.h>
#include "lib/kstring.h"

static inline uint16_t rd16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}
#endif
