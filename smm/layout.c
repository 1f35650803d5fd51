#include "smm/layout.h"
#include "lib/printf.h"
#include "lib/kstring.h"

#define PAGE 0x1000u

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }
static uint64_t align_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }

static uint32_t stride_for(const struct smm_layout_req *q)
{
    uint32_t s = q->save_size > q->stub_size ? q->save_size : q->stub_size;
    return (uint32_t)align_up(s, 0x40);
}

unsigned smm_layout_max_cpus(const struct smm_layout_req *q)
{
    uint32_t s = stride_for(q);
    if (!s || q->save_size >= SMM_ENTRY_OFFSET)
        return 0;
    unsigned n = (SMM_ENTRY_OFFSET - q->save_size) / s;
    return n > SMMSYNC_MAX_CPUS ? SMMSYNC_MAX_CPUS : n;
}

struct range { uint64_t lo, hi; };

/* First fit, trying the ranges in order. */
static bool take(struct range *r, unsigned nr, uint64_t size, uint64_t align, uint64_t *at)
{
    for (unsigned i = 0; i < nr; i++) {
        uint64_t a = align_up(r[i].lo, align);
        if (a + size <= r[i].hi) {
            *at = a;
            r[i].lo = a + size;
            return true;
        }
    }
    return false;
}

static int request_ok(const struct smm_layout_req *q, char *err, size_t errlen)
{
    unsigned n = q->ncpus;
    if (!n || !q->save_size || !q->stub_size || !q->stack_size || !q->image_size ||
        !q->pt_size || !q->synch_stride || q->save_size > SMM_ENTRY_OFFSET ||
        (q->smram_base & 0xFFF) || !q->smram_size) {
        ksnprintf(err, errlen, "layout: bad request (cpus %u, sizes or SMRAM base)", n);
        return LAYOUT_E_ARGS;
    }
    if (n > smm_layout_max_cpus(q)) {
        ksnprintf(err, errlen,
                  "layout: %u CPUs do not fit one overlap: %u stubs of stride 0x%x would reach "
                  "CPU 0's save state (max %u)", n, n, stride_for(q), smm_layout_max_cpus(q));
        return LAYOUT_E_TOO_MANY;
    }
    return 0;
}

/* The windows: CPU i's SMBASE one stride above CPU i-1's, so every pair
 * overlaps partially (claims 20-24); its stub at the entry point, its save
 * state at the top of its window. */
static void place_windows(const struct smm_layout_req *q, struct smm_layout *l)
{
    uint32_t s = stride_for(q);
    unsigned n = q->ncpus;
    uint64_t R = q->smram_base;
    l->ncpus = n;
    l->stride = s;
    l->smram_base = R;
    l->smram_size = q->smram_size;
    l->stub_size = q->stub_size;
    l->save_size = q->save_size;
    l->stack_size = q->stack_size;
    l->image_size = q->image_size;
    l->pt_size = q->pt_size;
    l->synch_stride = q->synch_stride;
    l->synch_size = n * q->synch_stride;
    for (unsigned i = 0; i < n; i++) {
        l->smbase[i] = R - SMM_ENTRY_OFFSET + (uint64_t)i * s;
        l->stub[i] = l->smbase[i] + SMM_ENTRY_OFFSET;
        l->save[i] = l->smbase[i] + SMM_WINDOW_SIZE - q->save_size;
    }
    l->overlap_lo = l->smbase[n - 1];
    l->overlap_hi = l->smbase[0] + SMM_WINDOW_SIZE;
}

static int no_room(const struct smm_layout_req *q, char *err, size_t errlen)
{
    ksnprintf(err, errlen,
              "layout: SMRAM [0x%lx, 0x%lx) has no room for %u CPUs' synch area, page "
              "tables (0x%x), image (0x%x) and stacks (%u x 0x%x)",
              (unsigned long)q->smram_base, (unsigned long)(q->smram_base + q->smram_size), q->ncpus,
              q->pt_size, q->image_size, q->ncpus, q->stack_size);
    return LAYOUT_E_NO_SPACE;
}

/* The SMRAM synch area, page tables, image and stacks in the free SMRAM:
 * above the last save state, and between the stubs and CPU 0's save state
 * (that one is inside every window). */
static int place_smram_regions(const struct smm_layout_req *q, struct smm_layout *l,
                               char *err, size_t errlen)
{
    unsigned n = q->ncpus;
    uint32_t s = l->stride;
    uint64_t R = q->smram_base, E = R + q->smram_size;
    struct range free[2] = {
        { l->save[n - 1] + q->save_size, E },
        { R + (uint64_t)n * s, l->save[0] },
    };
    /* The SMRAM synch area must be in the overlap: the lower range, or else
     * the unused tail of CPU 0's stub slot (also in every window). */
    uint64_t tail = R + ((q->stub_size + 63) & ~63u);
    if (!take(&free[1], 1, l->synch_size, 64, &l->synch_smram)) {
        if (tail + l->synch_size > R + s)
            return no_room(q, err, errlen);
        l->synch_smram = tail;
    }
    /* Page tables, image and stacks: first fit, trying every order of the
     * three, so a small region is not lost to a bad first choice. */
    static const uint8_t orders[6][3] = { {0,1,2}, {0,2,1}, {1,0,2}, {1,2,0}, {2,0,1}, {2,1,0} };
    const uint64_t size[3] = { q->pt_size, q->image_size, (uint64_t)n * q->stack_size };
    uint64_t at[3];
    bool placed = false;
    for (unsigned o = 0; o < 6 && !placed; o++) {
        struct range f[2] = { free[0], free[1] };
        placed = true;
        for (unsigned k = 0; k < 3 && placed; k++)
            placed = take(f, 2, size[orders[o][k]], PAGE, &at[orders[o][k]]);
    }
    if (!placed)
        return no_room(q, err, errlen);
    l->pt = at[0];
    l->image = at[1];
    l->stack[0] = at[2];
    for (unsigned i = 1; i < n; i++)
        l->stack[i] = l->stack[0] + (uint64_t)i * q->stack_size;
    return 0;
}

/* The mem synch area: RAM below SMRAM, inside the windows' overlap. */
static int place_sync_mem(const struct smm_layout_req *q, struct smm_layout *l,
                          char *err, size_t errlen)
{
    uint64_t R = q->smram_base;
    uint64_t top = q->shared_hi < R ? q->shared_hi : R;
    uint64_t bottom = q->shared_lo > l->overlap_lo ? q->shared_lo : l->overlap_lo;
    uint64_t sm = top >= l->synch_size ? align_down(top - l->synch_size, 64) : 0;
    if (q->shared_hi <= q->shared_lo || sm < bottom || sm + l->synch_size > top) {
        ksnprintf(err, errlen,
                  "layout: no room for %u bytes of synchbytes in the windows' overlap below "
                  "SMRAM ([0x%lx, 0x%lx) usable, overlap from 0x%lx)", l->synch_size,
                  (unsigned long)q->shared_lo, (unsigned long)q->shared_hi,
                  (unsigned long)l->overlap_lo);
        return LAYOUT_E_NO_SHARED;
    }
    l->synch_mem = sm;
    return 0;
}

int smm_layout_compute(const struct smm_layout_req *q, struct smm_layout *l,
                       char *err, size_t errlen)
{
    memset(l, 0, sizeof(*l));
    int st = request_ok(q, err, errlen);
    if (st)
        return st;
    place_windows(q, l);
    unsigned n = q->ncpus;
    uint64_t E = q->smram_base + q->smram_size;
    if (l->save[n - 1] + q->save_size > E) {
        ksnprintf(err, errlen, "layout: SMRAM [0x%lx, 0x%lx) too small for %u save states",
                  (unsigned long)q->smram_base, (unsigned long)E, n);
        return LAYOUT_E_NO_SPACE;
    }
    st = place_smram_regions(q, l, err, errlen);
    if (!st)
        st = place_sync_mem(q, l, err, errlen);
    return st ? st : smm_layout_check(q, l, err, errlen);
}

/* ---- the checker ---- */

static bool inside(uint64_t a, uint64_t n, uint64_t lo, uint64_t hi)
{
    return a >= lo && a + n <= hi && a + n >= a;
}

static bool overlaps(uint64_t a, uint64_t an, uint64_t b, uint64_t bn)
{
    return a < b + bn && b < a + an;
}

struct region { const char *what; unsigned cpu; uint64_t at, size; };

/* Each CPU's stub and save state where its SMBASE puts them, inside SMRAM;
 * every pair of windows overlapping partially. */
static int check_windows(const struct smm_layout_req *q, const struct smm_layout *l,
                         char *err, size_t errlen)
{
    unsigned n = l->ncpus;
    uint64_t R = q->smram_base, E = q->smram_base + q->smram_size;
    uint32_t unique_min = q->save_size > q->stub_size ? q->save_size : q->stub_size;
    for (unsigned i = 0; i < n; i++) {
        uint64_t w = l->smbase[i];
        if (l->stub[i] != w + SMM_ENTRY_OFFSET || l->save[i] != w + SMM_WINDOW_SIZE - q->save_size) {
            ksnprintf(err, errlen, "check: CPU %u's stub/save state are not where its SMBASE 0x%lx puts them", i, (unsigned long)w);
            return -1;
        }
        if (!inside(l->stub[i], q->stub_size, R, E) || !inside(l->save[i], q->save_size, R, E)) {
            ksnprintf(err, errlen, "check: CPU %u's stub or save state lies outside SMRAM", i);
            return -1;
        }
        for (unsigned j = 0; j < i; j++) {
            uint64_t d = l->smbase[i] > l->smbase[j] ? l->smbase[i] - l->smbase[j] : l->smbase[j] - l->smbase[i];
            /* Claims 20-24: windows overlap partially; each pair leaves, in
             * each window, a region the other does not cover that holds at
             * least a save state and a stub. */
            if (d >= SMM_WINDOW_SIZE || d < unique_min) {
                ksnprintf(err, errlen, "check: windows of CPUs %u and %u are %s (SMBASEs 0x%lx, 0x%lx)",
                          j, i, d >= SMM_WINDOW_SIZE ? "disjoint" : "not partially overlapping enough",
                          (unsigned long)l->smbase[j], (unsigned long)l->smbase[i]);
                return -1;
            }
        }
    }
    return 0;
}

/* Every SMRAM-resident region inside SMRAM and against every other. */
static int check_regions(const struct smm_layout_req *q, const struct smm_layout *l,
                         char *err, size_t errlen)
{
    unsigned n = l->ncpus;
    uint64_t R = q->smram_base, E = q->smram_base + q->smram_size;
    struct region r[2 * SMMSYNC_MAX_CPUS + 4];
    unsigned nr = 0;
    for (unsigned i = 0; i < n; i++) {
        r[nr++] = (struct region){ "stub", i, l->stub[i], q->stub_size };
        r[nr++] = (struct region){ "save state", i, l->save[i], q->save_size };
    }
    r[nr++] = (struct region){ "page tables", 0, l->pt, q->pt_size };
    r[nr++] = (struct region){ "image", 0, l->image, q->image_size };
    r[nr++] = (struct region){ "stacks", 0, l->stack[0], (uint64_t)n * q->stack_size };
    r[nr++] = (struct region){ "smram synch area", 0, l->synch_smram, (uint64_t)n * q->synch_stride };
    for (unsigned a = 0; a < nr; a++) {
        if (!inside(r[a].at, r[a].size, R, E)) {
            ksnprintf(err, errlen, "check: %s (cpu %u) [0x%lx+0x%lx] outside SMRAM", r[a].what,
                      r[a].cpu, (unsigned long)r[a].at, (unsigned long)r[a].size);
            return -1;
        }
        for (unsigned b = 0; b < a; b++)
            if (overlaps(r[a].at, r[a].size, r[b].at, r[b].size)) {
                ksnprintf(err, errlen, "check: %s of cpu %u overlaps %s of cpu %u", r[a].what,
                          r[a].cpu, r[b].what, r[b].cpu);
                return -1;
            }
    }
    for (unsigned i = 1; i < n; i++)
        if (l->stack[i] != l->stack[0] + (uint64_t)i * q->stack_size) {
            ksnprintf(err, errlen, "check: stacks are not contiguous at CPU %u", i);
            return -1;
        }
    if ((l->pt | l->image) & (PAGE - 1)) {
        ksnprintf(err, errlen, "check: page tables or image not page-aligned");
        return -1;
    }
    return 0;
}

/* Claims 25, 40: the synch areas lie where all windows overlap; the mem one
 * in usable RAM outside SMRAM. */
static int check_sync_areas(const struct smm_layout_req *q, const struct smm_layout *l,
                            char *err, size_t errlen)
{
    unsigned n = l->ncpus;
    uint64_t lo = 0, hi = ~0ull;
    for (unsigned i = 0; i < n; i++) {
        if (l->smbase[i] > lo) lo = l->smbase[i];
        if (l->smbase[i] + SMM_WINDOW_SIZE < hi) hi = l->smbase[i] + SMM_WINDOW_SIZE;
    }
    uint64_t sz = (uint64_t)n * q->synch_stride;
    if (lo != l->overlap_lo || hi != l->overlap_hi || !inside(l->synch_mem, sz, lo, hi) ||
        !inside(l->synch_smram, sz, lo, hi)) {
        ksnprintf(err, errlen, "check: a synch area lies outside the windows' overlap [0x%lx, 0x%lx)",
                  (unsigned long)lo, (unsigned long)hi);
        return -1;
    }
    if (overlaps(l->synch_mem, sz, q->smram_base, q->smram_size) ||
        !inside(l->synch_mem, sz, q->shared_lo, q->shared_hi)) {
        ksnprintf(err, errlen, "check: the mem synch area [0x%lx+0x%lx] is not in usable RAM outside SMRAM",
                  (unsigned long)l->synch_mem, (unsigned long)sz);
        return -1;
    }
    return 0;
}

int smm_layout_check(const struct smm_layout_req *q, const struct smm_layout *l,
                     char *err, size_t errlen)
{
    unsigned n = l->ncpus;
    if (n != q->ncpus || !n || n > SMMSYNC_MAX_CPUS) {
        ksnprintf(err, errlen, "check: layout has %u CPUs, request %u", n, q->ncpus);
        return -1;
    }
    if (check_windows(q, l, err, errlen) || check_regions(q, l, err, errlen) ||
        check_sync_areas(q, l, err, errlen))
        return -1;
    return 0;
}

void smm_layout_print(const struct smm_layout *l, void (*line)(void *ctx, const char *s),
                      void *ctx)
{
    char b[160];
    ksnprintf(b, sizeof(b), "SMRAM [0x%08lx, 0x%08lx)  stride 0x%x  overlap of all windows [0x%08lx, 0x%08lx)",
              (unsigned long)l->smram_base, (unsigned long)(l->smram_base + l->smram_size),
              l->stride, (unsigned long)l->overlap_lo, (unsigned long)l->overlap_hi);
    line(ctx, b);
    ksnprintf(b, sizeof(b), "%-4s %-10s %-21s %-10s %-10s %-10s", "cpu", "smbase", "window", "stub",
              "save", "stack");
    line(ctx, b);
    for (unsigned i = 0; i < l->ncpus; i++) {
        ksnprintf(b, sizeof(b), "%-4u 0x%08lx [0x%08lx,0x%08lx) 0x%08lx 0x%08lx 0x%08lx", i,
                  (unsigned long)l->smbase[i], (unsigned long)l->smbase[i],
                  (unsigned long)(l->smbase[i] + SMM_WINDOW_SIZE), (unsigned long)l->stub[i],
                  (unsigned long)l->save[i], (unsigned long)l->stack[i]);
        line(ctx, b);
    }
    ksnprintf(b, sizeof(b), "image 0x%08lx+0x%x  page tables 0x%08lx+0x%x  sync: mem 0x%08lx smram 0x%08lx (%u x %u B)",
              (unsigned long)l->image, l->image_size, (unsigned long)l->pt, l->pt_size,
              (unsigned long)l->synch_mem, (unsigned long)l->synch_smram, l->ncpus, l->synch_stride);
    line(ctx, b);
}
