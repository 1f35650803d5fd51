/* SMRAM layout with partially overlapping SMM windows (patent claims 20-30,
 * 36-40, 53-58). Pure: no hardware access; the same code runs in the kernel
 * and in the host unit tests.
 *
 * CPU i gets SMBASE_i = R - 0x8000 + i * stride, where R is the bottom of
 * SMRAM: its entry stub sits at R + i*stride and its save state at
 * R + 0x7E00 + i*stride. Window i = [SMBASE_i, SMBASE_i + 64 KiB). All
 * windows share [SMBASE_{n-1}, R + 0x8000): the part below R is ordinary
 * RAM (the mem-backend synchbytes live there, claim 25/40: modifiable by
 * every CPU), the part above R is SMRAM (the smram-backend synchbytes). Each
 * window's part that no other CPU's window covers from below is 'stride'
 * bytes >= max(save state, stub) (claims 22-24). */
#ifndef SMMSYNC_LAYOUT_H
#define SMMSYNC_LAYOUT_H
#include <stdint.h>
#include <stddef.h>
#include "smm/smm_abi.h"

struct smm_layout_req {
    unsigned ncpus;
    uint64_t smram_base, smram_size;
    /* Usable non-SMRAM RAM just below SMRAM ([lo, hi), hi <= smram_base), for
     * the mem-backend synch area; hi == lo means "none". */
    uint64_t shared_lo, shared_hi;
    uint32_t stub_size, save_size;
    uint32_t stack_size, image_size, pt_size;
    uint32_t synch_stride;          /* 1 = packed bytes, 64 = a cache line each */
};

struct smm_layout {
    unsigned ncpus;
    uint32_t stride;
    uint64_t smram_base, smram_size;
    uint64_t smbase[SMMSYNC_MAX_CPUS];
    uint64_t stub[SMMSYNC_MAX_CPUS];
    uint64_t save[SMMSYNC_MAX_CPUS];
    uint64_t stack[SMMSYNC_MAX_CPUS];      /* bottom; top = stack + stack_size */
    uint32_t stub_size, save_size, stack_size;
    uint64_t image, pt;
    uint32_t image_size, pt_size;
    uint64_t synch_mem, synch_smram;
    uint32_t synch_stride, synch_size;
    uint64_t overlap_lo, overlap_hi;       /* intersection of all windows */
};

enum smm_layout_err {
    LAYOUT_OK = 0,
    LAYOUT_E_ARGS = -1,            /* zero CPUs, zero sizes, stub larger than a stride... */
    LAYOUT_E_TOO_MANY = -2,        /* stubs would reach CPU 0's save state: no common overlap */
    LAYOUT_E_NO_SPACE = -3,        /* SMRAM too small for stubs, saves, image, tables, stacks */
    LAYOUT_E_NO_SHARED = -4,       /* no room for the mem synch area below SMRAM in the overlap */
};

int smm_layout_compute(const struct smm_layout_req *q, struct smm_layout *l,
                       char *err, size_t errlen);
/* Checks every invariant against the request; 0 or a message. Used on the
 * computed layout at boot and by the host tests on broken layouts. */
int smm_layout_check(const struct smm_layout_req *q, const struct smm_layout *l,
                     char *err, size_t errlen);
/* Largest CPU count a request's SMRAM size allows (for error messages). */
unsigned smm_layout_max_cpus(const struct smm_layout_req *q);
/* Prints the layout as a table, one line at a time. */
void smm_layout_print(const struct smm_layout *l, void (*line)(void *ctx, const char *s),
                      void *ctx);
#endif
