/*
 * test_layout.c - the SMRAM layout with partially overlapping SMM windows
 * (patent claims 20-30; MISSION rows B1-B4).
 *
 * For every CPU count 1..255, both SMRAM regions (A-segment, TSEG) and
 * both synchbyte strides, smm_layout_compute either returns a layout that
 * passes this file's own checks (written here from the claims, not by
 * calling smm_layout_check), or fails with the error code this file
 * derives on its own: TOO_MANY from the stub/save-state arithmetic,
 * NO_SPACE / NO_SHARED only when an exhaustive search below shows that the
 * regions really do not fit around the stubs and save states the SMBASE
 * scheme of smm/layout.h fixes.
 *
 * Then the checker on layouts broken one way at a time, bad requests, and
 * the printed table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "smm/layout.h"

/* SDM vol. 3C 34.4/34.5: a CPU's SMRAM window is [SMBASE, SMBASE + 64 KiB),
 * its entry point SMBASE + 8000h, its save state ends at SMBASE + 10000h.
 * Spelled out here rather than taken from smm_abi.h. */
#define WIN      0x10000ull
#define ENTRY    0x8000ull
#define PAGE     0x1000ull
#define LINE     64ull
#define MAXCPU   255u
#define SPAN     0x10000ull        /* group g's stubs start at R + g * SPAN */
#define MAXGROUPS 16u

/* ---- the requests --------------------------------------------------------- */

struct smram_region {
    const char *name;
    uint64_t base, size;                /* SMRAM */
    uint64_t shared_lo, shared_hi;      /* usable RAM below it */
};

/* Legacy A-segment: RAM below it ends at the EBDA (0x9FC00). */
static const struct smram_region ASEG = {
    "A-segment", 0xA0000, 0x20000, 0x50000, 0x9FC00
};
/* q35 TSEG, 1 MiB at the top of 512 MiB of RAM; and the larger sizes
 * the ESMRAMC register offers (2 and 8 MiB). */
static const struct smram_region TSEG = {
    "TSEG", 0x1FF00000, 0x100000, 0x100000, 0x1FF00000
};
static const struct smram_region TSEG2 = {
    "TSEG 2 MiB", 0x1FE00000, 0x200000, 0x100000, 0x1FE00000
};
static const struct smram_region TSEG8 = {
    "TSEG 8 MiB", 0x1F800000, 0x800000, 0x100000, 0x1F800000
};

static struct smm_layout_req mkreq(const struct smram_region *r, unsigned n,
                   uint32_t synch_stride)
{
    struct smm_layout_req q;

    memset(&q, 0, sizeof(q));
    q.ncpus = n;
    q.smram_base = r->base;
    q.smram_size = r->size;
    q.shared_lo = r->shared_lo;
    q.shared_hi = r->shared_hi;
    q.stub_size = 174;
    q.save_size = 0x200;
    q.stack_size = 4096;
    q.image_size = 0x4000;
    q.pt_size = 9 * 4096;
    q.synch_stride = synch_stride;
    return q;
}

/* ---- independent arithmetic ----------------------------------------------- */

static uint64_t up(uint64_t v, uint64_t a)
{
    return (v + a - 1) / a * a;
}

static uint64_t max64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Distance between CPUs' SMBASEs: the larger of save state and stub,
 * rounded up to a cache line. */
static uint64_t stride_of(const struct smm_layout_req *q)
{
    return up(max64(q->save_size, q->stub_size), LINE);
}

/* One overlap group's stubs (at R_g + j*stride) stay below its first save
 * state (R_g + 7E00h): so many CPUs per group at most. */
static unsigned group_max(const struct smm_layout_req *q)
{
    return q->save_size >= ENTRY ? 0 : (unsigned)((ENTRY - q->save_size) / stride_of(q));
}

static bool too_many(const struct smm_layout_req *q)
{
    if (q->ncpus > MAXCPU || q->save_size >= ENTRY)
        return true;
    if (group_max(q) < 2)               /* groups of one: only a lone CPU fits */
        return q->ncpus > group_max(q);
    return q->ncpus > group_max(q) * MAXGROUPS;
}

/* smm/layout.h's scheme with groups of G CPUs: CPU i is the (i % G)-th of
 * group i / G, whose stubs start at R + (i / G) * SPAN. */
static uint64_t smbase_of(const struct smm_layout_req *q, unsigned G, unsigned i)
{
    return q->smram_base + (uint64_t)(i / G) * SPAN - ENTRY + (uint64_t)(i % G) * stride_of(q);
}

static unsigned first_group_count(const struct smm_layout_req *q, unsigned G)
{
    return q->ncpus < G ? q->ncpus : G;
}

/* [a, a+an) and [b, b+bn) share a byte (no wrap in the inputs used). */
static bool overl(uint64_t a, uint64_t an, uint64_t b, uint64_t bn)
{
    return an && bn && a < b + bn && b < a + an;
}

/* [a, a+n) inside [lo, hi), without wrapping. */
static bool within(uint64_t a, uint64_t n, uint64_t lo, uint64_t hi)
{
    return a >= lo && a <= hi && n <= hi - a;
}

/* ---- exhaustive feasibility (the SMBASE scheme of layout.h is fixed) ---- */

/*
 * smm/layout.h documents the SMBASEs for a group size G. That fixes every
 * stub and save state; what is left to place is the SMRAM synch area
 * (n * synch_stride bytes, 64-byte aligned, in group 0's windows' overlap),
 * the page tables and image (page aligned) and the n stacks (one contiguous
 * page-aligned block). smram_fits() tries every position of the synch area
 * and every assignment of the three blocks to the free gaps, in every
 * order: if it says no, no layout with these SMBASEs exists.
 */

struct iv { uint64_t lo, hi; };

static bool pack(const struct iv *gap, unsigned ngap, uint64_t *cur,
         const uint64_t *size, bool *used, unsigned nitem, unsigned left)
{
    if (!left)
        return true;
    for (unsigned k = 0; k < nitem; k++) {
        if (used[k])
            continue;
        for (unsigned g = 0; g < ngap; g++) {
            uint64_t at = up(cur[g], PAGE), save = cur[g];

            if (at + size[k] > gap[g].hi)
                continue;
            used[k] = true;
            cur[g] = at + size[k];
            if (pack(gap, ngap, cur, size, used, nitem, left - 1))
                return true;
            cur[g] = save;
            used[k] = false;
        }
    }
    return false;
}

/* Do the page tables, the image and the stacks fit the gaps that SMRAM
 * [R, E) leaves between the obstacles 'obs' (in address order, the last
 * one the sentinel {E, E})? */
static bool blocks_fit(const struct smm_layout_req *q, const struct iv *obs, unsigned nobs)
{
    static struct iv gap[2 * MAXCPU + 4];
    unsigned ngap = 0;
    uint64_t pos = q->smram_base;

    for (unsigned o = 0; o < nobs; o++) {
        if (obs[o].lo >= pos + PAGE)
            gap[ngap++] = (struct iv){ pos, obs[o].lo };
        pos = max64(pos, obs[o].hi);
    }
    uint64_t cur[2 * MAXCPU + 4], size[3] = {
        q->pt_size, q->image_size, (uint64_t)q->ncpus * q->stack_size
    };
    bool used[3] = { false, false, false };

    for (unsigned g = 0; g < ngap; g++)
        cur[g] = gap[g].lo;
    return pack(gap, ngap, cur, size, used, 3, 3);
}

static bool smram_fits(const struct smm_layout_req *q, unsigned G)
{
    unsigned n = q->ncpus, c0 = first_group_count(q, G);
    uint64_t R = q->smram_base, E = R + q->smram_size;
    uint64_t z = (uint64_t)n * q->synch_stride;
    /* Obstacles in address order: each group's stubs, then its save states. */
    static struct iv obs[2 * MAXCPU + 1];
    static struct iv all[2 * MAXCPU + 2];
    unsigned nobs = 0;

    for (unsigned g0 = 0; g0 < n; g0 += G) {
        unsigned end = g0 + G < n ? g0 + G : n;

        for (unsigned i = g0; i < end; i++)
            obs[nobs++] = (struct iv){ smbase_of(q, G, i) + ENTRY,
                           smbase_of(q, G, i) + ENTRY + q->stub_size };
        for (unsigned i = g0; i < end; i++) {
            uint64_t sv = smbase_of(q, G, i) + WIN - q->save_size;

            obs[nobs++] = (struct iv){ sv, sv + q->save_size };
        }
    }
    if (obs[nobs - 1].hi > E)
        return false;           /* the save states alone do not fit */

    /* The synch area only takes room: if the three blocks do not fit the
     * gaps without it, they fit with it nowhere. */
    memcpy(all, obs, nobs * sizeof(obs[0]));
    all[nobs] = (struct iv){ E, E };
    if (!blocks_fit(q, all, nobs + 1))
        return false;

    /* Where the SMRAM synch area may go: group 0's windows and SMRAM. */
    uint64_t olo = max64(R, smbase_of(q, G, c0 - 1));
    uint64_t ohi = min64(E, R - ENTRY + WIN);

    for (uint64_t a = up(olo, LINE); a + z <= ohi; a += LINE) {
        bool clash = false;

        for (unsigned o = 0; o < nobs && !clash && obs[o].lo < a + z; o++)   /* sorted */
            if (overl(a, z, obs[o].lo, obs[o].hi - obs[o].lo))
                clash = true;
        if (clash)
            continue;
        /* Free gaps = SMRAM minus obstacles minus [a, a+z), in
         * address order; only those that can hold a page matter. */
        unsigned nall = 0;

        for (unsigned o = 0; o < nobs; o++) {
            if (z && (nall == o) && a < obs[o].lo)
                all[nall++] = (struct iv){ a, a + z };
            all[nall++] = obs[o];
        }
        if (z && nall == nobs)
            all[nall++] = (struct iv){ a, a + z };
        all[nall++] = (struct iv){ E, E };
        if (blocks_fit(q, all, nall))
            return true;
    }
    return false;
}

/* The mem synch area: below SMRAM, in usable RAM, in group 0's windows. */
static bool shared_fits(const struct smm_layout_req *q, unsigned G)
{
    uint64_t R = q->smram_base;
    uint64_t z = (uint64_t)q->ncpus * q->synch_stride;
    uint64_t lo = max64(q->shared_lo, smbase_of(q, G, first_group_count(q, G) - 1));
    uint64_t hi = min64(min64(q->shared_hi, R), R - ENTRY + WIN);
    uint64_t a = up(lo, LINE);

    return lo < hi && a <= hi && z <= hi - a;
}

/* The group size a layout must use: the largest that fits (one group
 * whenever the CPUs fit one), or 0 when none does. */
static unsigned fitting_group(const struct smm_layout_req *q)
{
    unsigned n = q->ncpus, gm = group_max(q);

    /* Groups of two at least (with two CPUs or more): a CPU alone in its
     * group would have a window that overlaps no other (claim 20). */
    unsigned gmin = n < 2 ? 1 : 2;

    for (unsigned G = n < gm ? n : gm; G >= gmin && (n + G - 1) / G <= MAXGROUPS; G--)
        if (smram_fits(q, G) && shared_fits(q, G))
            return G;
    return 0;
}

/* The first group size tried: its failure is the one reported. */
static unsigned first_group(const struct smm_layout_req *q)
{
    unsigned gm = group_max(q);

    return q->ncpus < gm ? q->ncpus : gm;
}

/* ---- independent checks on a computed layout ------------------------------ */

struct item { const char *what; unsigned cpu; uint64_t at, size; };

static void verify_layout(const struct smm_layout_req *q, const struct smm_layout *l,
              const char *ctx)
{
    static struct item it[3 * MAXCPU + 4];
    unsigned n = q->ncpus, ni = 0;
    uint64_t R = q->smram_base, E = R + q->smram_size;
    uint64_t z = (uint64_t)n * q->synch_stride;
    uint64_t umin = max64(q->save_size, q->stub_size);
    uint64_t lo = 0, hi = UINT64_MAX;
    char err[256];

    if (l->ncpus != n)
        fail_msg("%s: ncpus %u", ctx, l->ncpus);
    if (l->stride != stride_of(q))
        fail_msg("%s: stride 0x%x", ctx, l->stride);
    if (l->synch_size != z || l->synch_stride != q->synch_stride)
        fail_msg("%s: sync size %u stride %u", ctx, l->synch_size, l->synch_stride);
    unsigned G = l->group_size;
    if (!G || G > group_max(q) || l->ngroups != (n + G - 1) / G || l->ngroups > MAXGROUPS)
        fail_msg("%s: %u groups of %u CPUs (at most %u per group, %u groups)", ctx,
             l->ngroups, G, group_max(q), MAXGROUPS);

    for (unsigned i = 0; i < n; i++) {
        uint64_t b = l->smbase[i];

        /* smm/layout.h's scheme: groups 64 KiB apart, one stride apart inside. */
        if (b != smbase_of(q, G, i))
            fail_msg("%s: cpu %u SMBASE 0x%llx, the scheme says 0x%llx", ctx, i,
                 (unsigned long long)b, (unsigned long long)smbase_of(q, G, i));

        /* SMBASE is a 32-bit register; the whole window below 4 GiB. */
        if (b + WIN > 0x100000000ull)
            fail_msg("%s: cpu %u SMBASE 0x%llx not 32-bit", ctx, i,
                 (unsigned long long)b);
        if (l->stub[i] != b + ENTRY)
            fail_msg("%s: cpu %u stub 0x%llx, SMBASE 0x%llx", ctx, i,
                 (unsigned long long)l->stub[i], (unsigned long long)b);
        if (l->save[i] != b + WIN - q->save_size)
            fail_msg("%s: cpu %u save 0x%llx, SMBASE 0x%llx", ctx, i,
                 (unsigned long long)l->save[i], (unsigned long long)b);
        if (i < first_group_count(q, G)) {
            lo = max64(lo, b);
            hi = min64(hi, b + WIN);
        }
        /* Claims 20-24 hold within each overlap group. */
        for (unsigned j = i - i % G; j < i; j++) {
            uint64_t c = l->smbase[j];
            uint64_t d = b > c ? b - c : c - b;

            if (d == 0)
                fail_msg("%s: cpus %u and %u share SMBASE 0x%llx", ctx, j, i,
                     (unsigned long long)b);
            /* Claim 20: partial overlap; claims 21-24: each
             * window keeps >= max(save, stub) bytes to itself. */
            if (d >= WIN)
                fail_msg("%s: windows of cpus %u, %u disjoint", ctx, j, i);
            if (d < umin)
                fail_msg("%s: cpus %u, %u: non-overlapping part 0x%llx < 0x%llx",
                     ctx, j, i, (unsigned long long)d,
                     (unsigned long long)umin);
        }
        it[ni++] = (struct item){ "stub", i, l->stub[i], q->stub_size };
        it[ni++] = (struct item){ "save state", i, l->save[i], q->save_size };
        it[ni++] = (struct item){ "stack", i, l->stack[i], q->stack_size };
    }
    it[ni++] = (struct item){ "image", 0, l->image, q->image_size };
    it[ni++] = (struct item){ "page tables", 0, l->pt, q->pt_size };
    it[ni++] = (struct item){ "smram sync", 0, l->synch_smram, z };
    for (unsigned a = 0; a < ni; a++) {
        if (!within(it[a].at, it[a].size, R, E))
            fail_msg("%s: %s of cpu %u [0x%llx+0x%llx] outside SMRAM", ctx,
                 it[a].what, it[a].cpu, (unsigned long long)it[a].at,
                 (unsigned long long)it[a].size);
        for (unsigned b = 0; b < a; b++)
            if (overl(it[a].at, it[a].size, it[b].at, it[b].size))
                fail_msg("%s: %s of cpu %u overlaps %s of cpu %u", ctx,
                     it[a].what, it[a].cpu, it[b].what, it[b].cpu);
    }
    if (l->image % PAGE || l->pt % PAGE)
        fail_msg("%s: image 0x%llx / page tables 0x%llx not page-aligned", ctx,
             (unsigned long long)l->image, (unsigned long long)l->pt);

    /* Claims 25, 40: the synch areas in the intersection of group 0's windows. */
    if (l->overlap_lo != lo || l->overlap_hi != hi)
        fail_msg("%s: overlap [0x%llx, 0x%llx), expected [0x%llx, 0x%llx)", ctx,
             (unsigned long long)l->overlap_lo, (unsigned long long)l->overlap_hi,
             (unsigned long long)lo, (unsigned long long)hi);
    if (!within(l->synch_mem, z, lo, hi))
        fail_msg("%s: mem sync 0x%llx+0x%llx not in every window", ctx,
             (unsigned long long)l->synch_mem, (unsigned long long)z);
    if (!within(l->synch_mem, z, q->shared_lo, q->shared_hi))
        fail_msg("%s: mem sync 0x%llx not in usable RAM", ctx,
             (unsigned long long)l->synch_mem);
    if (overl(l->synch_mem, z, R, q->smram_size))
        fail_msg("%s: mem sync 0x%llx inside SMRAM", ctx,
             (unsigned long long)l->synch_mem);
    if (!within(l->synch_smram, z, lo, hi))
        fail_msg("%s: smram sync 0x%llx+0x%llx not in every window", ctx,
             (unsigned long long)l->synch_smram, (unsigned long long)z);
    /* One cache line per CPU means line-aligned areas. */
    if (q->synch_stride == LINE && (l->synch_mem % LINE || l->synch_smram % LINE))
        fail_msg("%s: synch areas not cache-line aligned", ctx);

    err[0] = '\0';
    if (smm_layout_check(q, l, err, sizeof(err)) != 0)
        fail_msg("%s: smm_layout_check disagrees: %s", ctx, err);
}

/* ---- the sweep ---------------------------------------------------------- */

struct sweep {
    unsigned groups_max; /* most overlap groups a layout used */
    unsigned ok_max;    /* largest n smm_layout_compute lays out */
    unsigned fit_max;   /* largest n that really fits */
    unsigned ok_count;
};


static struct sweep sweep(const struct smram_region *r, uint32_t synch_stride)
{
    static struct smm_layout l;
    struct sweep w = { 0, 0, 0, 0 };
    char err[256], ctx[96];

    for (unsigned n = 1; n <= 255; n++) {
        struct smm_layout_req q = mkreq(r, n, synch_stride);
        int rc;

        snprintf(ctx, sizeof(ctx), "%s, %u CPUs, sync stride %u", r->name, n,
             synch_stride);
        err[0] = '\0';
        rc = smm_layout_compute(&q, &l, err, sizeof(err));
        if (too_many(&q)) {
            if (rc != LAYOUT_E_TOO_MANY)
                fail_msg("%s: expected TOO_MANY, got %d (%s)", ctx, rc, err);
            if (!err[0])
                fail_msg("%s: no message", ctx);
            continue;
        }
        if (rc == LAYOUT_E_TOO_MANY)
            fail_msg("%s: TOO_MANY although the stubs fit: %s", ctx, err);

        unsigned G = fitting_group(&q), G0 = first_group(&q);
        bool sm = smram_fits(&q, G0), sh = shared_fits(&q, G0);
        if (G)
            w.fit_max = n;
        if (rc == LAYOUT_OK) {
            verify_layout(&q, &l, ctx);
            /* The model must not call a real layout impossible, and the
             * layout must use the fullest groups that fit. */
            if (l.group_size != G)
                fail_msg("%s: laid out in groups of %u, the fullest that fit hold %u",
                     ctx, l.group_size, G);
            w.ok_max = n;
            w.ok_count++;
            if (l.ngroups > w.groups_max)
                w.groups_max = l.ngroups;
            continue;
        }
        if (G)
            fail_msg("%s: refused (%s), but groups of %u fit", ctx, err, G);
        if (!err[0])
            fail_msg("%s: error %d without a message", ctx, rc);
        if (rc == LAYOUT_E_NO_SPACE && sm)
            fail_msg("%s: NO_SPACE, but the regions fit in SMRAM (%s)", ctx, err);
        if (rc == LAYOUT_E_NO_SHARED && sh)
            fail_msg("%s: NO_SHARED, but the synch area fits below SMRAM (%s)", ctx, err);
        if (rc != LAYOUT_E_NO_SPACE && rc != LAYOUT_E_NO_SHARED)
            fail_msg("%s: unexpected error %d (%s)", ctx, rc, err);
    }
    return w;
}

static void print_sweep(const char *name, struct sweep w1, struct sweep w64)
{
    print_message("%s: largest CPU count laid out %u (stride 1) / %u (stride 64); largest that "
              "fits %u / %u; most overlap groups %u / %u\n", name, w1.ok_max, w64.ok_max,
              w1.fit_max, w64.fit_max, w1.groups_max, w64.groups_max);
}

static void test_sweep(void **state)
{
    struct sweep a1, a64, t1, t64, m1, m64, e1, e64;

    (void)state;
    a1 = sweep(&ASEG, 1);
    a64 = sweep(&ASEG, 64);
    t1 = sweep(&TSEG, 1);
    t64 = sweep(&TSEG, 64);
    m1 = sweep(&TSEG2, 1);
    m64 = sweep(&TSEG2, 64);
    e1 = sweep(&TSEG8, 1);
    e64 = sweep(&TSEG8, 64);
    print_sweep("A-segment", a1, a64);
    print_sweep("TSEG 1 MiB", t1, t64);
    print_sweep("TSEG 2 MiB", m1, m64);
    print_sweep("TSEG 8 MiB", e1, e64);

    /*
     * A-segment, 13 CPUs: the stubs end at R + 0x18AE, so the gap below
     * CPU 0's save state (R + 0x7E00) holds pages R+0x2000..R+0x7000 (5);
     * above the last save state (R + 0x9800) pages R+0xA000..R+0x20000
     * (22). Image (4) below, page tables (9) + stacks (13) = 22 above.
     * 14 CPUs need 9 + 14 = 23 pages above (still 22) or a 9/14-page
     * block below (5): no fit. Two groups do not help: the second one's
     * stubs and save states at R + 0x10000.. cut the free space above the
     * first group's save states into blocks of at most 7 pages.
     */
    assert_int_equal(a1.fit_max, 13);
    assert_int_equal(a64.fit_max, 13);
    /* smm_layout_compute lays out every count that fits. */
    assert_int_equal(a1.ok_max, 13);
    assert_int_equal(a64.ok_max, 13);
    assert_int_equal(a1.ok_count, 13);
    assert_int_equal(a64.ok_count, 13);
    assert_int_equal(a1.groups_max, 1);

    /*
     * TSEG: one group holds (0x8000 - 0x200) / 0x200 = 63 CPUs; past that
     * a second group starts. With one cache line per CPU, n*64 bytes must
     * also fit in group 0's overlap: between its last stub and its first
     * save state in SMRAM, 0x7E00 - up64((G-1)*0x200 + 174) >= 64n, so from
     * n = 57 on group 0 holds fewer CPUs and the rest go to more groups.
     * Every count up to the maximum is laid out, in every TSEG size.
     */
    /*
     * 1 MiB is too small for 255 CPUs: the stacks (4 KiB each) are one
     * block, which must fit above the last group's save states together
     * with whatever else does not fit the groups' gaps. 190 CPUs (4 groups,
     * stride 1) and 173 (5 groups: group 0 leaves room for 173 cache
     * lines) are the most; the kernel then takes the 2 MiB TSEG.
     */
    assert_int_equal(t1.fit_max, 190);
    assert_int_equal(t64.fit_max, 173);
    assert_int_equal(t1.ok_count, 190);
    assert_int_equal(t64.ok_count, 173);
    assert_int_equal(m1.ok_count, MAXCPU);
    assert_int_equal(m64.ok_count, MAXCPU);
    assert_int_equal(e1.ok_count, MAXCPU);
    assert_int_equal(e64.ok_count, MAXCPU);
    assert_true(t1.groups_max >= 2);
}

/* A layout with the documented SMBASEs and hand-picked placements. */
static void by_hand(const struct smm_layout_req *q, struct smm_layout *l, uint64_t synch_smram,
            uint64_t image, uint64_t pt, uint64_t stack0, uint64_t synch_mem)
{
    unsigned n = q->ncpus;
    uint64_t s = stride_of(q);

    memset(l, 0, sizeof(*l));
    l->ncpus = n;
    l->stride = (uint32_t)s;
    l->smram_base = q->smram_base;
    l->smram_size = q->smram_size;
    for (unsigned i = 0; i < n; i++) {
        l->smbase[i] = q->smram_base - ENTRY + i * s;
        l->stub[i] = l->smbase[i] + ENTRY;
        l->save[i] = l->smbase[i] + WIN - q->save_size;
        l->stack[i] = stack0 + (uint64_t)i * q->stack_size;
    }
    l->stub_size = q->stub_size;
    l->save_size = q->save_size;
    l->stack_size = q->stack_size;
    l->image = image;
    l->image_size = q->image_size;
    l->pt = pt;
    l->pt_size = q->pt_size;
    l->synch_mem = synch_mem;
    l->synch_smram = synch_smram;
    l->synch_stride = q->synch_stride;
    l->synch_size = n * q->synch_stride;
    l->overlap_lo = l->smbase[n - 1];
    l->overlap_hi = l->smbase[0] + WIN;
    l->group_size = n;
    l->ngroups = 1;
    l->group[0].first = 0;
    l->group[0].count = n;
    l->group[0].base = q->smram_base;
    l->group[0].overlap_lo = l->overlap_lo;
    l->group[0].overlap_hi = l->overlap_hi;
}

/*
 * Two layouts smm_layout_compute once refused (NO_SPACE): it lays them out
 * now, and the hand-built ones below pass both smm_layout_check and this
 * file's checks.
 */
static void test_known_bug_layouts_exist(void **state)
{
    static struct smm_layout l;
    struct smm_layout_req q;
    char err[256];

    (void)state;
    /* A-segment, 13 CPUs: image below CPU 0's save state, page tables
     * and stacks above the last save state (ending at 0xA9800). */
    q = mkreq(&ASEG, 13, 64);
    assert_int_equal(smm_layout_compute(&q, &l, err, sizeof(err)), LAYOUT_OK);
    by_hand(&q, &l, 0xA1A00, 0xA2000, 0xAA000, 0xB3000, 0x9F8C0);
    verify_layout(&q, &l, "A-segment, 13 CPUs, by hand");
    assert_int_equal(smm_layout_check(&q, &l, err, sizeof(err)), 0);

    /* TSEG, 63 CPUs, packed synchbytes between stubs 0 and 1. */
    q = mkreq(&TSEG, 63, 1);
    assert_int_equal(smm_layout_compute(&q, &l, err, sizeof(err)), LAYOUT_OK);
    by_hand(&q, &l, TSEG.base + 192, TSEG.base + 0x19000, TSEG.base + 0x10000,
        TSEG.base + 0x1D000, TSEG.base - 64);
    verify_layout(&q, &l, "TSEG, 63 CPUs, by hand");
    assert_int_equal(smm_layout_check(&q, &l, err, sizeof(err)), 0);
}

/* The model itself on cases worked out by hand. */
static void test_model(void **state)
{
    struct smm_layout_req q;

    (void)state;
    q = mkreq(&ASEG, 13, 64);
    assert_true(smram_fits(&q, first_group(&q)));
    assert_true(shared_fits(&q, first_group(&q)));
    q = mkreq(&ASEG, 14, 1);
    assert_false(smram_fits(&q, first_group(&q)));
    assert_true(shared_fits(&q, first_group(&q)));
    /* Below the A-segment: [0x98000 + (n-1)*0x200, 0x9FC00) holds n
     * bytes up to n = 62. */
    q = mkreq(&ASEG, 62, 1);
    assert_true(shared_fits(&q, first_group(&q)));
    q = mkreq(&ASEG, 63, 1);
    assert_false(shared_fits(&q, first_group(&q)));
    q = mkreq(&TSEG, 57, 64);
    assert_true(shared_fits(&q, first_group(&q)));
    assert_false(smram_fits(&q, first_group(&q)));
    q = mkreq(&TSEG, 58, 64);
    assert_false(shared_fits(&q, first_group(&q)));
    q = mkreq(&TSEG, 63, 1);
    assert_true(smram_fits(&q, first_group(&q)));
    assert_true(shared_fits(&q, first_group(&q)));
    /* No usable RAM below SMRAM at all. */
    q = mkreq(&TSEG, 1, 1);
    q.shared_lo = q.shared_hi = 0x100000;
    assert_false(shared_fits(&q, first_group(&q)));
    /* Group and TOO_MANY arithmetic. */
    q = mkreq(&TSEG, 63, 1);
    assert_int_equal(group_max(&q), 63);
    assert_int_equal(fitting_group(&q), 63);    /* one group */
    q.ncpus = 64;
    assert_false(too_many(&q));
    assert_int_equal(fitting_group(&q), 63);    /* 63 + 1 */
    q = mkreq(&TSEG, 64, 64);
    /* 64 lines need 0x1000 bytes in group 0's gap: G*0x200 + 0x1000 <= 0x7E00. */
    assert_int_equal(fitting_group(&q), 55);
    q = mkreq(&TSEG, 64, 1);
    q.save_size = 0x100;
    q.stub_size = 0x80;
    assert_int_equal(group_max(&q), 127);       /* (0x8000 - 0x100) / 0x100 */
    assert_false(too_many(&q));
    q.ncpus = MAXCPU + 1;
    assert_true(too_many(&q));                  /* > the build's maximum */
}

/* ---- request shapes other than the realistic ones ------------------------- */

static void test_shared_range(void **state)
{
    static struct smm_layout l;
    struct smm_layout_req q;
    char err[256];

    (void)state;
    /* No usable RAM below TSEG: NO_SHARED. */
    q = mkreq(&TSEG, 4, 64);
    q.shared_lo = q.shared_hi = 0x100000;
    assert_int_equal(smm_layout_compute(&q, &l, err, sizeof(err)), LAYOUT_E_NO_SHARED);
    assert_true(strlen(err) > 0);
    /* Usable RAM that ends below the windows' overlap. */
    q = mkreq(&TSEG, 4, 64);
    q.shared_hi = TSEG.base - ENTRY;
    assert_false(shared_fits(&q, first_group(&q)));
    assert_int_equal(smm_layout_compute(&q, &l, err, sizeof(err)), LAYOUT_E_NO_SHARED);
    /* A hole just below SMRAM, but the overlap starts lower. */
    q = mkreq(&TSEG, 4, 1);
    q.shared_hi = TSEG.base - 0x1000;
    assert_true(shared_fits(&q, first_group(&q)));
    assert_int_equal(smm_layout_compute(&q, &l, err, sizeof(err)), LAYOUT_OK);
    verify_layout(&q, &l, "TSEG, hole below SMRAM");
    /* Exactly enough: 4 CPUs x 64 B right under SMRAM. */
    q = mkreq(&TSEG, 4, 64);
    q.shared_lo = TSEG.base - 256;
    assert_int_equal(smm_layout_compute(&q, &l, err, sizeof(err)), LAYOUT_OK);
    verify_layout(&q, &l, "TSEG, 256 B shared");
    assert_int_equal(l.synch_mem, TSEG.base - 256);
    q.shared_lo = TSEG.base - 255;
    assert_int_equal(smm_layout_compute(&q, &l, err, sizeof(err)), LAYOUT_E_NO_SHARED);
    /* SMRAM too small for the save states. */
    q = mkreq(&TSEG, 8, 1);
    q.smram_size = 0x8000;
    assert_false(smram_fits(&q, first_group(&q)));
    assert_int_equal(smm_layout_compute(&q, &l, err, sizeof(err)), LAYOUT_E_NO_SPACE);
    /* A larger save state (stub smaller): stride follows the save state. */
    q = mkreq(&TSEG, 16, 64);
    q.save_size = 0x400;
    assert_int_equal(smm_layout_compute(&q, &l, err, sizeof(err)), LAYOUT_OK);
    verify_layout(&q, &l, "TSEG, 1 KiB save state");
    assert_int_equal(l.stride, 0x400);
    /* A stub larger than the save state, not a multiple of 64. */
    q = mkreq(&TSEG, 16, 1);
    q.stub_size = 0x301;
    assert_int_equal(smm_layout_compute(&q, &l, err, sizeof(err)), LAYOUT_OK);
    verify_layout(&q, &l, "TSEG, 0x301-byte stub");
    assert_int_equal(l.stride, 0x340);
    /* No error buffer at all. */
    q = mkreq(&TSEG, MAXCPU + 1, 1);
    assert_int_equal(smm_layout_compute(&q, &l, NULL, 0), LAYOUT_E_TOO_MANY);
    /* A tiny one: truncated, terminated. */
    assert_int_equal(smm_layout_compute(&q, &l, err, 8), LAYOUT_E_TOO_MANY);
    assert_int_equal(strlen(err), 7);
}

static void test_max_cpus(void **state)
{
    struct smm_layout_req q;

    (void)state;
    q = mkreq(&TSEG, 1, 1);
    assert_int_equal(smm_layout_group_max(&q), 63);
    assert_int_equal(smm_layout_max_cpus(&q), MAXCPU);  /* 16 groups of 63, capped */
    q.save_size = 0x100;
    q.stub_size = 0x40;
    assert_int_equal(smm_layout_group_max(&q), 127);
    assert_int_equal(smm_layout_max_cpus(&q), MAXCPU);
    q.save_size = 0x8000;
    assert_int_equal(smm_layout_group_max(&q), 0);
    assert_int_equal(smm_layout_max_cpus(&q), 0);
    q.save_size = 0x4000;
    assert_int_equal(smm_layout_group_max(&q), 1);
    assert_int_equal(smm_layout_max_cpus(&q), 1);       /* groups of one overlap nothing */
}

static void test_bad_requests(void **state)
{
    static struct smm_layout l;
    struct smm_layout_req q, good = mkreq(&TSEG, 4, 64);
    char err[256];

    (void)state;
#define BAD(field, value) do {                                                  \
        q = good;                                                       \
        q.field = (value);                                              \
        err[0] = '\0';                                                  \
        if (smm_layout_compute(&q, &l, err, sizeof(err)) != LAYOUT_E_ARGS) \
            fail_msg("%s = %s accepted", #field, #value);               \
        assert_true(strlen(err) > 0);                                   \
    } while (0)
    BAD(ncpus, 0);
    BAD(save_size, 0);
    BAD(stub_size, 0);
    BAD(stack_size, 0);
    BAD(image_size, 0);
    BAD(pt_size, 0);
    BAD(synch_stride, 0);
    BAD(smram_size, 0);
    BAD(smram_base, 0x1FF00800);
    BAD(smram_base, 0x1FF00001);
    BAD(smram_base, 0xA0010);
    BAD(save_size, 0x8001);
#undef BAD
    err[0] = '\0';
    assert_int_equal(smm_layout_compute(&good, &l, err, sizeof(err)), LAYOUT_OK);
}

/* ---- the checker on broken layouts ---------------------------------------- */

static struct smm_layout_req bq;
static struct smm_layout good4;

static void make_good4(void)
{
    char err[256];

    bq = mkreq(&TSEG, 4, 64);
    assert_int_equal(smm_layout_compute(&bq, &good4, err, sizeof(err)), LAYOUT_OK);
    verify_layout(&bq, &good4, "TSEG, 4 CPUs");
}

/* Moves CPU i's window (and so its stub and save state) to SMBASE b. */
static void move_cpu(struct smm_layout *l, unsigned i, uint64_t b)
{
    l->smbase[i] = b;
    l->stub[i] = b + ENTRY;
    l->save[i] = b + WIN - bq.save_size;
}

static void expect_broken(const struct smm_layout *l, const char *what, const char *substr)
{
    char err[256];
    int rc;

    memset(err, 0, sizeof(err));
    rc = smm_layout_check(&bq, l, err, sizeof(err));
    if (rc == 0)
        fail_msg("checker accepted: %s", what);
    if (!err[0])
        fail_msg("checker gave no message for: %s", what);
    if (substr && !strstr(err, substr))
        fail_msg("%s: message \"%s\" lacks \"%s\"", what, err, substr);
    print_message("  %-44s -> %s\n", what, err);
}

static void test_check_broken(void **state)
{
    struct smm_layout l;
    char err[256];

    (void)state;
    make_good4();
    assert_int_equal(smm_layout_check(&bq, &good4, err, sizeof(err)), 0);

    l = good4;
    move_cpu(&l, 1, l.smbase[0]);
    expect_broken(&l, "two CPUs with the same SMBASE", "not partially overlapping");

    l = good4;
    move_cpu(&l, 1, l.smbase[0] + 0x100);
    expect_broken(&l, "SMBASEs 0x100 apart", "not partially overlapping");

    l = good4;
    move_cpu(&l, 1, l.smbase[0] + WIN);
    expect_broken(&l, "windows disjoint (64 KiB apart)", "disjoint");

    l = good4;
    l.stub[2] = TSEG.base - 0x1000;
    expect_broken(&l, "stub moved outside SMRAM (alone)", NULL);

    l = good4;
    move_cpu(&l, 0, l.smbase[0] - 0x1000);      /* stub at R - 0x1000 */
    expect_broken(&l, "stub outside SMRAM (with its SMBASE)", "outside SMRAM");

    l = good4;
    l.image = l.stub[1] & ~(PAGE - 1);
    expect_broken(&l, "image overlapping a stub", "overlaps");

    l = good4;
    for (unsigned i = 0; i < l.ncpus; i++)
        l.stack[i] = l.pt + PAGE + i * bq.stack_size;
    expect_broken(&l, "stacks overlapping page tables", "overlaps");

    l = good4;
    l.stack[2] += 0x40;
    expect_broken(&l, "stacks not contiguous", NULL);

    l = good4;
    l.synch_mem = l.overlap_lo - 0x1000;
    assert_true(within(l.synch_mem, l.synch_size, TSEG.shared_lo, TSEG.shared_hi));
    expect_broken(&l, "mem synch area below the overlap", "overlap");

    l = good4;
    l.synch_mem = l.synch_smram;
    expect_broken(&l, "mem synch area inside SMRAM", "outside SMRAM");

    l = good4;
    l.synch_mem = TSEG.base - 0x40;     /* straddles SMRAM's start */
    expect_broken(&l, "mem synch area straddling SMRAM", NULL);

    l = good4;
    l.synch_smram = l.synch_mem;
    expect_broken(&l, "smram synch area outside SMRAM", "outside SMRAM");

    l = good4;
    l.synch_smram = TSEG.base + 0x8800; /* free SMRAM above the overlap */
    expect_broken(&l, "smram synch area outside the overlap", "overlap");

    l = good4;
    l.image = l.stack[0] + l.ncpus * bq.stack_size + 0x40;      /* free, unaligned */
    expect_broken(&l, "image not page-aligned", "page-aligned");

    l = good4;
    l.pt = l.stack[0] + l.ncpus * bq.stack_size + 0x800;
    expect_broken(&l, "page tables not page-aligned", "page-aligned");

    l = good4;
    l.overlap_lo -= 0x200;
    expect_broken(&l, "wrong overlap_lo", NULL);

    l = good4;
    l.ncpus = 3;
    expect_broken(&l, "CPU count differs from the request", NULL);

    l = good4;
    l.ncpus = 0;
    expect_broken(&l, "zero CPUs", NULL);

    l = good4;
    l.save[3] += 0x10;
    expect_broken(&l, "save state not at SMBASE + 0xFE00", NULL);

    /* Each break alone; the original still passes. */
    assert_int_equal(smm_layout_check(&bq, &good4, err, sizeof(err)), 0);
}

/* The checker on a two-group layout (64 CPUs: 63 + 1) broken one way at a time. */
static void test_check_broken_groups(void **state)
{
    static struct smm_layout good, l;
    char err[256];

    (void)state;
    bq = mkreq(&TSEG, 64, 1);
    assert_int_equal(smm_layout_compute(&bq, &good, err, sizeof(err)), LAYOUT_OK);
    verify_layout(&bq, &good, "TSEG, 64 CPUs");
    assert_int_equal(good.ngroups, 2);
    assert_int_equal(good.group[1].first, 63);

    /* All 64 in one group, one stride apart: CPU 63's stub lands on CPU 0's
     * save state. (The group-size rule and the region check both refuse it.) */
    l = good;
    l.group_size = 64;
    l.ngroups = 1;
    l.group[0].count = 64;
    for (unsigned i = 63; i < 64; i++)
        move_cpu(&l, i, l.smbase[0] + (uint64_t)i * l.stride);
    expect_broken(&l, "64 CPUs in one overlap group", NULL);

    l = good;
    l.group[1].base += 0x200;       /* group 1 not where the scheme puts it */
    expect_broken(&l, "group 1 based off the scheme", "group 1");

    l = good;
    move_cpu(&l, 63, l.smbase[62] + 0x100);  /* group 1's CPU on group 0's last stub */
    expect_broken(&l, "group 1's CPU on top of group 0's last", "overlaps");

    l = good;
    l.synch_smram = l.group[1].base + 0x7000;  /* in group 1's gap, not group 0's overlap */
    expect_broken(&l, "smram synch area in group 1's windows", "group 0");

    assert_int_equal(smm_layout_check(&bq, &good, err, sizeof(err)), 0);

    /* Four CPUs in four groups of one: every window its own, none
     * overlapping another (each rule inside a group holds vacuously). */
    static struct smm_layout ones;
    bq = mkreq(&TSEG, 4, 1);
    assert_int_equal(smm_layout_compute(&bq, &ones, err, sizeof(err)), LAYOUT_OK);
    ones.group_size = 1;
    ones.ngroups = 4;
    for (unsigned g = 0; g < 4; g++) {
        ones.group[g] = (struct smm_group){ g, 1, TSEG.base + g * SPAN, 0, 0 };
        move_cpu(&ones, g, TSEG.base + g * SPAN - ENTRY);
    }
    expect_broken(&ones, "groups of one CPU", "groups of one CPU");
}

/* ---- the printed table ---------------------------------------------------- */

struct cap {
    unsigned n;
    char line[80][200];
};

static void cap_line(void *ctx, const char *s)
{
    struct cap *c = ctx;

    assert_non_null(s);
    assert_true(c->n < 80);
    assert_true(strlen(s) < sizeof(c->line[0]));
    assert_null(strchr(s, '\n'));
    strcpy(c->line[c->n++], s);
}

static void check_print(const struct smram_region *r, unsigned n)
{
    static struct smm_layout l;
    static struct cap c;
    struct smm_layout_req q = mkreq(r, n, 64);
    char err[256], hex[32];

    assert_int_equal(smm_layout_compute(&q, &l, err, sizeof(err)), LAYOUT_OK);
    memset(&c, 0, sizeof(c));
    smm_layout_print(&l, cap_line, &c);
    /* Title, column header, one line per CPU, trailer. */
    assert_int_equal(c.n, n + 3);
    assert_memory_equal(c.line[0], "SMRAM [", 7);
    snprintf(hex, sizeof(hex), "0x%08llx", (unsigned long long)r->base);
    assert_non_null(strstr(c.line[0], hex));
    assert_memory_equal(c.line[1], "cpu", 3);
    for (unsigned i = 0; i < n; i++) {
        const char *s = c.line[2 + i];
        unsigned cpu;

        assert_int_equal(sscanf(s, "%u", &cpu), 1);
        assert_int_equal(cpu, i);
        snprintf(hex, sizeof(hex), "0x%08llx", (unsigned long long)l.smbase[i]);
        assert_non_null(strstr(s, hex));
        snprintf(hex, sizeof(hex), "0x%08llx", (unsigned long long)l.stub[i]);
        assert_non_null(strstr(s, hex));
        snprintf(hex, sizeof(hex), "0x%08llx", (unsigned long long)l.save[i]);
        assert_non_null(strstr(s, hex));
        snprintf(hex, sizeof(hex), "0x%08llx", (unsigned long long)l.stack[i]);
        assert_non_null(strstr(s, hex));
    }
    assert_memory_equal(c.line[n + 2], "image", 5);
    snprintf(hex, sizeof(hex), "0x%08llx", (unsigned long long)l.synch_mem);
    assert_non_null(strstr(c.line[n + 2], hex));
    snprintf(hex, sizeof(hex), "0x%08llx", (unsigned long long)l.synch_smram);
    assert_non_null(strstr(c.line[n + 2], hex));
}

static void test_print(void **state)
{
    (void)state;
    check_print(&TSEG, 1);
    check_print(&TSEG, 4);
    check_print(&TSEG, 56);
    check_print(&ASEG, 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_known_bug_layouts_exist),
        cmocka_unit_test(test_shared_range),
        cmocka_unit_test(test_max_cpus),
        cmocka_unit_test(test_check_broken_groups),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_check_broken),
        cmocka_unit_test(test_print),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
