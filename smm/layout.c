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

unsigned smm_layout_group_max(const struct smm_layout_req *q)
{
    uint32_t s = stride_for(q);
    if (!s || q->save_size >= SMM_ENTRY_OFFSET)
        return 0;
    return (SMM_ENTRY_OFFSET - q->save_size) / s;
}

unsigned smm_layout_max_cpus(const struct smm_layout_req *q)
{
    unsigned g = smm_layout_group_max(q);
    if (g < SMM_MIN_GROUP)
        return g;                       /* one CPU at most, or none */
    unsigned n = g * SMM_MAX_GROUPS;
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
                  "layout: %u CPUs do not fit: at most %u overlap groups of %u CPUs (stride 0x%x), "
                  "%u CPUs in all", n, SMM_MAX_GROUPS, smm_layout_group_max(q), stride_for(q),
                  smm_layout_max_cpus(q));
        return LAYOUT_E_TOO_MANY;
    }
    return 0;
}

/* The windows, group by group: within a group CPU j's SMBASE one stride
 * above CPU j-1's, so every pair overlaps partially (claims 20-24); its
 * stub at the entry point, its save state at the top of its window. */
static void place_windows(const struct smm_layout_req *q, struct smm_layout *l, unsigned gsize)
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
    l->group_size = gsize;
    l->ngroups = (n + gsize - 1) / gsize;
    for (unsigned g = 0; g < l->ngroups; g++) {
        struct smm_group *G = &l->group[g];
        G->first = g * gsize;
        G->count = n - G->first < gsize ? n - G->first : gsize;
        G->base = R + (uint64_t)g * SMM_GROUP_SPAN;
        for (unsigned j = 0; j < G->count; j++) {
            unsigned i = G->first + j;
            l->smbase[i] = G->base - SMM_ENTRY_OFFSET + (uint64_t)j * s;
            l->stub[i] = l->smbase[i] + SMM_ENTRY_OFFSET;
            l->save[i] = l->smbase[i] + SMM_WINDOW_SIZE - q->save_size;
        }
        G->overlap_lo = l->smbase[G->first + G->count - 1];
        G->overlap_hi = l->smbase[G->first] + SMM_WINDOW_SIZE;
    }
    l->overlap_lo = l->group[0].overlap_lo;
    l->overlap_hi = l->group[0].overlap_hi;
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

/* The free SMRAM around the windows' stubs and save states: above the
 * last save state, then each group's gap between its last stub and its
 * first save state (inside every window of the group), then what lies
 * between one group's save states and the next group's stubs. */
static unsigned free_ranges(const struct smm_layout_req *q, const struct smm_layout *l,
                            struct range *f)
{
    unsigned nf = 0, n = q->ncpus;
    f[nf++] = (struct range){ l->save[n - 1] + q->save_size, q->smram_base + q->smram_size };
    for (unsigned g = 0; g < l->ngroups; g++) {
        const struct smm_group *G = &l->group[g];
        uint64_t last_stub_end = G->base + (uint64_t)(G->count - 1) * l->stride + q->stub_size;
        f[nf++] = (struct range){ last_stub_end, l->save[G->first] };
    }
    for (unsigned g = 0; g + 1 < l->ngroups; g++) {
        const struct smm_group *G = &l->group[g];
        f[nf++] = (struct range){ l->save[G->first + G->count - 1] + q->save_size, l->group[g + 1].base };
    }
    return nf;
}

/* The SMRAM synch area, page tables, image and stacks in the free SMRAM. */
static int place_smram_regions(const struct smm_layout_req *q, struct smm_layout *l,
                               char *err, size_t errlen)
{
    unsigned n = q->ncpus;
    uint64_t R = q->smram_base;
    struct range free[2 * SMM_MAX_GROUPS + 1];
    unsigned nf = free_ranges(q, l, free);
    /* The SMRAM synch area must be in group 0's overlap: its gap, or else
     * the unused tail of CPU 0's stub slot (also in every window of it). */
    uint64_t tail = R + ((q->stub_size + 63) & ~63u);
    if (!take(&free[1], 1, l->synch_size, 64, &l->synch_smram)) {
        if (tail + l->synch_size > R + l->stride)
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
        struct range f[2 * SMM_MAX_GROUPS + 1];
        memcpy(f, free, sizeof(f));
        placed = true;
        for (unsigned k = 0; k < 3 && placed; k++)
            placed = take(f, nf, size[orders[o][k]], PAGE, &at[orders[o][k]]);
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

/* One attempt with groups of 'gsize' CPUs. */
static int compute_groups(const struct smm_layout_req *q, struct smm_layout *l, unsigned gsize,
                          char *err, size_t errlen)
{
    memset(l, 0, sizeof(*l));
    place_windows(q, l, gsize);
    unsigned n = q->ncpus;
    uint64_t E = q->smram_base + q->smram_size;
    if (l->save[n - 1] + q->save_size > E) {
        ksnprintf(err, errlen, "layout: SMRAM [0x%lx, 0x%lx) too small for %u save states in %u "
                  "overlap groups", (unsigned long)q->smram_base, (unsigned long)E, n, l->ngroups);
        return LAYOUT_E_NO_SPACE;
    }
    int st = place_smram_regions(q, l, err, errlen);
    if (!st)
        st = place_sync_mem(q, l, err, errlen);
    return st ? st : smm_layout_check(q, l, err, errlen);
}

/* The fullest groups that work: one group whenever the CPUs fit one; when
 * group 0 cannot also hold the synch areas (no room: NO_SPACE, NO_SHARED),
 * smaller groups (more of them). A layout the checker refuses is a bug, not
 * a reason to try smaller groups: groups of one CPU would pass any window
 * rule, so falling back there would hide it. */
int smm_layout_compute(const struct smm_layout_req *q, struct smm_layout *l,
                       char *err, size_t errlen)
{
    memset(l, 0, sizeof(*l));
    int st = request_ok(q, err, errlen);
    if (st)
        return st;
    unsigned gmax = smm_layout_group_max(q);
    unsigned g0 = q->ncpus < gmax ? q->ncpus : gmax;
    st = compute_groups(q, l, g0, err, errlen);
    for (unsigned g = g0 - 1; (st == LAYOUT_E_NO_SPACE || st == LAYOUT_E_NO_SHARED) && g >= SMM_MIN_GROUP &&
                              (q->ncpus + g - 1) / g <= SMM_MAX_GROUPS; g--) {
        static struct smm_layout tmp;      /* the layout is large: not on the stack */
        if (!compute_groups(q, &tmp, g, 0, 0)) {
            *l = tmp;
            st = 0;
        }
    }
    return st;
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

/* The groups: sizes the request allows, CPUs in order, bases 64 KiB apart. */
static int check_groups(const struct smm_layout_req *q, const struct smm_layout *l,
                        char *err, size_t errlen)
{
    unsigned n = l->ncpus, gs = l->group_size;
    if (!gs || gs > smm_layout_group_max(q) || l->ngroups != (n + gs - 1) / gs ||
        l->ngroups > SMM_MAX_GROUPS) {
        ksnprintf(err, errlen, "check: %u overlap groups of %u CPUs: one group holds at most %u, "
                  "and %u groups at most", l->ngroups, gs, smm_layout_group_max(q), SMM_MAX_GROUPS);
        return -1;
    }
    if (n >= SMM_MIN_GROUP && gs < SMM_MIN_GROUP) {
        ksnprintf(err, errlen, "check: groups of one CPU: no window would overlap another (claim 20)");
        return -1;
    }
    for (unsigned g = 0; g < l->ngroups; g++) {
        const struct smm_group *G = &l->group[g];
        unsigned count = n - g * gs < gs ? n - g * gs : gs;
        if (G->first != g * gs || G->count != count ||
            G->base != q->smram_base + (uint64_t)g * SMM_GROUP_SPAN) {
            ksnprintf(err, errlen, "check: group %u is not CPUs [%u, %u) at SMRAM + 0x%x", g, g * gs,
                      g * gs + count, g * SMM_GROUP_SPAN);
            return -1;
        }
    }
    return 0;
}

/* Within a group, windows i and j overlap partially, each leaving a region
 * the other does not cover that holds a save state and a stub (claims 20-24). */
static int check_pair(const struct smm_layout_req *q, const struct smm_layout *l, unsigned j,
                      unsigned i, char *err, size_t errlen)
{
    uint32_t unique_min = q->save_size > q->stub_size ? q->save_size : q->stub_size;
    uint64_t d = l->smbase[i] > l->smbase[j] ? l->smbase[i] - l->smbase[j] : l->smbase[j] - l->smbase[i];
    if (d < SMM_WINDOW_SIZE && d >= unique_min)
        return 0;
    ksnprintf(err, errlen, "check: windows of CPUs %u and %u are %s (SMBASEs 0x%lx, 0x%lx)", j, i,
              d >= SMM_WINDOW_SIZE ? "disjoint" : "not partially overlapping enough",
              (unsigned long)l->smbase[j], (unsigned long)l->smbase[i]);
    return -1;
}

/* Each CPU's stub and save state where its SMBASE puts them, inside SMRAM;
 * every pair of windows of a group overlapping partially. */
static int check_windows(const struct smm_layout_req *q, const struct smm_layout *l,
                         char *err, size_t errlen)
{
    unsigned n = l->ncpus;
    uint64_t R = q->smram_base, E = q->smram_base + q->smram_size;
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
        for (unsigned j = i - i % l->group_size; j < i; j++)
            if (check_pair(q, l, j, i, err, errlen))
                return -1;
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

/* Claims 25, 40: the synch areas lie where group 0's windows all overlap
 * (every window, when there is one group); the mem one in usable RAM
 * outside SMRAM. */
static int check_sync_areas(const struct smm_layout_req *q, const struct smm_layout *l,
                            char *err, size_t errlen)
{
    unsigned n = l->ncpus;
    uint64_t lo = 0, hi = ~0ull;
    for (unsigned i = 0; i < l->group[0].count; i++) {
        if (l->smbase[i] > lo) lo = l->smbase[i];
        if (l->smbase[i] + SMM_WINDOW_SIZE < hi) hi = l->smbase[i] + SMM_WINDOW_SIZE;
    }
    uint64_t sz = (uint64_t)n * q->synch_stride;
    if (lo != l->overlap_lo || hi != l->overlap_hi || !inside(l->synch_mem, sz, lo, hi) ||
        !inside(l->synch_smram, sz, lo, hi)) {
        ksnprintf(err, errlen, "check: a synch area lies outside group 0's overlap [0x%lx, 0x%lx)",
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
    if (check_groups(q, l, err, errlen) || check_windows(q, l, err, errlen) ||
        check_regions(q, l, err, errlen) ||
        check_sync_areas(q, l, err, errlen))
        return -1;
    return 0;
}

void smm_layout_print(const struct smm_layout *l, void (*line)(void *ctx, const char *s),
                      void *ctx)
{
    char b[160];
    ksnprintf(b, sizeof(b), "SMRAM [0x%08lx, 0x%08lx)  stride 0x%x  overlap of %s windows [0x%08lx, 0x%08lx)",
              (unsigned long)l->smram_base, (unsigned long)(l->smram_base + l->smram_size),
              l->stride, l->ngroups > 1 ? "group 0's" : "all", (unsigned long)l->overlap_lo,
              (unsigned long)l->overlap_hi);
    line(ctx, b);
    for (unsigned g = 0; l->ngroups > 1 && g < l->ngroups; g++) {
        const struct smm_group *G = &l->group[g];
        ksnprintf(b, sizeof(b), "overlap group %u: cpus %u-%u, stubs from 0x%08lx, overlap of its "
                  "windows [0x%08lx, 0x%08lx)", g, G->first, G->first + G->count - 1,
                  (unsigned long)G->base, (unsigned long)G->overlap_lo, (unsigned long)G->overlap_hi);
        line(ctx, b);
    }
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
