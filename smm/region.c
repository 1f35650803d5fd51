/* Choosing the SMRAM region (TSEG or the A-segment) and computing the
 * layout of the SMBASE windows in it (smm/layout.c does the arithmetic). */
#include "smm/region.h"
#include "smm/state.h"
#include "smp/smp.h"
#include "drivers/chipset.h"
#include "kernel/config.h"
#include "kernel/console.h"
#include "lib/printf.h"
#include "lib/kstring.h"

extern char __kernel_start[], __kernel_end[];

/* The usable RAM range (multiboot2 memory map) holding the bytes just below
 * 'top': the mem-backend synchbytes go there, in the windows' overlap. */
static void shared_range(uint64_t top, uint64_t *lo, uint64_t *hi)
{
    *lo = *hi = 0;
    /* Only the 32 KiB below SMRAM can be in every window (SMBASE >= top - 0x8000). */
    for (unsigned i = 0; i < boot_info.mmap_count; i++) {
        const struct mb2_mmap_entry *e = &boot_info.mmap[i];
        if (e->type == 1 && e->addr < top && e->addr + e->len > top - SMM_ENTRY_OFFSET) {
            *lo = e->addr;
            *hi = e->addr + e->len < top ? e->addr + e->len : top;
        }
    }
    /* Never hand out the kernel, the low-memory blob or the default SMBASE window. */
    uint64_t ks = (uintptr_t)__kernel_start, ke = (uintptr_t)__kernel_end;
    if (*lo < ke && ks < *hi)
        *lo = ke > *lo ? ke : *lo;
    if (*lo < 0x50000)
        *lo = 0x50000;
}

/* The request for 'n' CPUs in region r (TSEG of 'tseg_mb' MiB). */
static void make_request(struct smm_layout_req *q, enum smram_region r, unsigned n, uint32_t tseg_mb)
{
    uint64_t synch_stride = config.synch_stride.set ? config.synch_stride.v : 1;
    memset(q, 0, sizeof(*q));
    q->ncpus = n;
    if (r == SMRAM_TSEG) {
        q->smram_size = (uint64_t)tseg_mb << 20;
        q->smram_base = chipset.below_4g - q->smram_size;
    } else {
        q->smram_base = ASEG_BASE;
        q->smram_size = ASEG_SIZE;
    }
    shared_range(q->smram_base, &q->shared_lo, &q->shared_hi);
    q->stub_size = (uint32_t)(smm_stub_blob_end - smm_stub_blob);
    q->save_size = SMM_SAVE_SIZE;
    q->stack_size = SMM_STACK;
    q->image_size = image_header()->mem_size;
    q->pt_size = SMM_PT_SIZE;
    q->synch_stride = (uint32_t)synch_stride;
}

/* The most CPUs region r holds (binary search: the layout of n CPUs needs
 * no less room than that of n - 1), for the error message. */
static unsigned region_max_cpus(enum smram_region r, uint32_t tseg_mb)
{
    static struct smm_layout l;
    struct smm_layout_req q;
    unsigned lo = 0, hi = ncpus;            /* lo fits (0 trivially), hi does not */
    while (hi - lo > 1) {
        unsigned mid = lo + (hi - lo) / 2;
        make_request(&q, r, mid, tseg_mb);
        if (smm_layout_compute(&q, &l, 0, 0))
            hi = mid;
        else
            lo = mid;
    }
    return lo;
}

static bool try_layout(enum smram_region r, char *err, size_t errlen)
{
    static const uint32_t sizes[] = TSEG_SIZES_MB;
    unsigned nsizes = r == SMRAM_TSEG ? sizeof(sizes) / sizeof(sizes[0]) : 1;
    if (r == SMRAM_TSEG && (chipset.kind != CHIPSET_Q35 || !chipset.below_4g)) {
        ksnprintf(err, errlen, "no TSEG on this chipset");
        return false;
    }
    for (unsigned k = 0; k < nsizes; k++) {
        make_request(&smm.req, r, ncpus, sizes[k]);
        if (!smm_layout_compute(&smm.req, &smm.layout, err, errlen)) {
            smm.region = r;
            smm.tseg_mb = sizes[k];
            return true;
        }
    }
    unsigned fit = region_max_cpus(r, sizes[nsizes - 1]);
    size_t used = strlen(err);
    if (used + 1 < errlen)
        ksnprintf(err + used, errlen - used, " (%s holds at most %u CPUs)",
                  r == SMRAM_TSEG ? "the largest TSEG" : "the A-segment", fit);
    return false;
}

/* Test-only, fault=bad-layout: CPU 1's window on top of CPU 0's; the
 * checker must say no. False when it did (smm.why_not says why). */
static bool bad_layout_accepted(void)
{
    char err[200];
    smm.layout.smbase[ncpus > 1 ? 1 : 0] = smm.layout.smbase[0] + 0x100;
    if (smm_layout_check(&smm.req, &smm.layout, err, sizeof(err))) {
        smm.layout_rejected = true;
        smm_why("layout rejected: %s", err);
        return false;
    }
    return true;
}

bool smm_choose_layout(void)
{
    char err[200];
    bool want_aseg = chipset.kind != CHIPSET_Q35 || config_is(smram, "aseg");
    bool ok = try_layout(want_aseg ? SMRAM_ASEG : SMRAM_TSEG, err, sizeof(err));
    if (!ok && want_aseg && chipset.kind == CHIPSET_Q35) {
        ksnprintf(smm.layout_err, sizeof(smm.layout_err), "A-segment: %s", err);
        kprintf("# smm: %s; falling back to TSEG\n", smm.layout_err);
        ok = try_layout(SMRAM_TSEG, err, sizeof(err));
    }
    if (!ok) {
        smm_why("no SMRAM layout: %s", err);
        kprintf("# smm: %s\n", smm.why_not);
        return false;
    }
    return !config_fault("bad-layout", 0) || bad_layout_accepted();
}

static void print_line(void *ctx, const char *s)
{
    (void)ctx;
    kprintf("# smm layout: %s\n", s);
}

void smm_print_layout(void)
{
    smm_layout_print(&smm.layout, print_line, 0);
}
