/* The SMRAM hash (SMM_CMD_HASH_SMRAM): FNV-1a over every byte of SMRAM
 * that must not change. */
#include <stddef.h>
#include "smm/image/smm.h"
#include "smm/savestate.h"

uint64_t smm_fnv1a(uint64_t h, const volatile uint8_t *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001B3ull;
    }
    return h;
}

struct range { uint64_t lo, hi; };
#define HASH_SKIP_MAX (SMMSYNC_MAX_CPUS + 4)

static void skip_add(struct range *s, unsigned *n, uint64_t lo, uint64_t len)
{
    unsigned i = (*n)++;
    while (i > 0 && s[i - 1].lo > lo) {      /* insertion sort by start */
        s[i] = s[i - 1];
        i--;
    }
    s[i] = (struct range){ lo, lo + len };
}

/* The configuration without the fields commands may change (backend, bounds). */
static uint64_t hash_config(uint64_t h)
{
    const uint8_t *c = (const uint8_t *)&smm_config;
    size_t backend = __builtin_offsetof(struct smm_config, backend);
    size_t bounds = __builtin_offsetof(struct smm_config, t_patent_failsafe);
    size_t member = __builtin_offsetof(struct smm_config, t_member);
    h = smm_fnv1a(h, c, backend);
    h = smm_fnv1a(h, c + backend + sizeof(smm_config.backend), bounds - backend - sizeof(smm_config.backend));
    return smm_fnv1a(h, c + member, sizeof(smm_config) - member);
}

/* FNV-1a over all of SMRAM except what legitimately changes in SMM:
 *   every CPU's save-state map   (written by the CPU on each SMI)
 *   the SMM stacks
 *   the synchbytes of the smram backend
 *   the handler's mutable variables (SMM_MUTABLE) and its configuration
 *     (hashed separately, without the backend and the rendezvous bounds).
 * Everything else is covered: every stub with its parameters, the GDT and
 * the IDT, the page tables (built with their accessed and dirty bits set,
 * so the page walker never writes them), the handler's code and constants,
 * and the unused bytes. result[1] = bytes hashed, result[2] = bytes left out. */
uint64_t smm_hash_smram(volatile uint64_t *result)
{
    extern char __mut_start[], __mut_end[];
    const struct smm_config *c = &smm_config;
    static struct range skip[HASH_SKIP_MAX] SMM_MUTABLE;    /* too large for a 4 KiB SMM stack */
    unsigned n = 0;
    uint64_t image_va = (uint64_t)SMM_IMAGE_VBASE;
    for (unsigned i = 0; i < c->ncpus; i++)
        skip_add(skip, &n, c->smbase[i] + SMM_SAVE_OFFSET, SMM_SAVE_SIZE);
    skip_add(skip, &n, c->stack_lo, c->stack_hi - c->stack_lo);
    skip_add(skip, &n, c->synch_smram, (uint64_t)c->ncpus * c->synch_stride);
    skip_add(skip, &n, c->image_phys + ((uint64_t)__mut_start - image_va),
             (uint64_t)(__mut_end - __mut_start));
    skip_add(skip, &n, c->image_phys + ((uint64_t)(uintptr_t)&smm_config - image_va), sizeof(smm_config));

    uint64_t h = hash_config(0xCBF29CE484222325ull), cur = c->smram_base, end = c->smram_base + c->smram_size;
    uint64_t hashed = 0;
    for (unsigned i = 0; i <= n; i++) {
        uint64_t lo = i < n ? skip[i].lo : end, hi = i < n ? skip[i].hi : end;
        if (lo > end)
            lo = end;
        if (lo > cur) {
            h = smm_fnv1a(h, (const volatile uint8_t *)(uintptr_t)cur, lo - cur);
            hashed += lo - cur;
        }
        if (hi > cur)
            cur = hi;
    }
    result[1] = hashed;
    result[2] = c->smram_size - hashed;
    return h;
}
