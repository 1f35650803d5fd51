/* SMRAM layout with partially overlapping SMM windows (patent claims 20-30,
 * 36-40, 53-58). Pure: no hardware access; the same code runs in the kernel
 * and in the host unit tests.
 *
 * The CPUs form overlap groups of up to 'group_size' CPUs each (CPU i is in
 * group i / group_size); group g has its base R_g = R + g * 64 KiB, where R
 * is the bottom of SMRAM. CPU i, the j-th of its group, gets
 * SMBASE_i = R_g - 0x8000 + j * stride: its entry stub sits at
 * R_g + j*stride and its save state at R_g + 0x7E00 + j*stride. Window
 * i = [SMBASE_i, SMBASE_i + 64 KiB). Within a group every pair of windows
 * overlaps partially, and the part of each window that no other window of
 * its group covers from below is 'stride' bytes >= max(save state, stub)
 * (claims 20-24); across groups no stub or save state meets another.
 * One group holds at most (0x8000 - save state) / stride CPUs (63 with
 * 0x200-byte save states): more and its stubs would run into its first
 * save state. A single group is used whenever the CPUs fit one.
 *
 * The synch areas lie where group 0's windows all overlap,
 * [SMBASE_{last of group 0}, R + 0x8000): the part below R is ordinary RAM
 * (the mem-backend synchbytes, claim 25/40: modifiable by every CPU), the
 * part above R is SMRAM (the smram-backend synchbytes). The CPUs of the
 * other groups reach the same bytes through the SMM page tables (a flat
 * 4 GiB map): with more CPUs than one overlap holds no address lies in
 * every window, as the windows' spread exceeds 64 KiB. */
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

#define SMM_GROUP_SPAN  0x10000u   /* R_g = R + g * SMM_GROUP_SPAN */
#define SMM_MAX_GROUPS  16u
/* Groups of two CPUs at least (when there are two): then every window
 * overlaps another partially, inside its group and with the next group's
 * first window; groups of one would leave windows that overlap none. */
#define SMM_MIN_GROUP   2u

struct smm_group {
    unsigned first, count;                 /* CPUs [first, first + count) */
    uint64_t base;                         /* R_g: the first CPU's stub */
    uint64_t overlap_lo, overlap_hi;       /* intersection of the group's windows */
};

struct smm_layout {
    unsigned ncpus;
    unsigned group_size, ngroups;          /* CPUs per full group, groups */
    struct smm_group group[SMM_MAX_GROUPS];
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
    uint64_t overlap_lo, overlap_hi;       /* group 0's overlap: the synch areas */
};

enum smm_layout_err {
    LAYOUT_OK = 0,
    LAYOUT_E_ARGS = -1,            /* zero CPUs, zero sizes, stub larger than a stride... */
    LAYOUT_E_TOO_MANY = -2,        /* more CPUs than SMM_MAX_GROUPS full groups (or SMMSYNC_MAX_CPUS) */
    LAYOUT_E_NO_SPACE = -3,        /* SMRAM too small for stubs, saves, image, tables, stacks */
    LAYOUT_E_NO_SHARED = -4,       /* no room for the mem synch area below SMRAM in the overlap */
};

int smm_layout_compute(const struct smm_layout_req *q, struct smm_layout *l,
                       char *err, size_t errlen);
/* Checks every invariant against the request; 0 or a message. Used on the
 * computed layout at boot and by the host tests on broken layouts. */
int smm_layout_check(const struct smm_layout_req *q, const struct smm_layout *l,
                     char *err, size_t errlen);
/* Most CPUs one overlap group holds: their stubs stay below the group's
 * first save state. */
unsigned smm_layout_group_max(const struct smm_layout_req *q);
/* Largest CPU count the window scheme allows (SMM_MAX_GROUPS full groups,
 * at most SMMSYNC_MAX_CPUS); the SMRAM size may allow fewer. */
unsigned smm_layout_max_cpus(const struct smm_layout_req *q);
/* Prints the layout as a table, one line at a time. */
void smm_layout_print(const struct smm_layout *l, void (*line)(void *ctx, const char *s),
                      void *ctx);
#endif
