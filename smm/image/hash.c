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

/* Among the ranges left out of the hash, the one that starts lowest of
 * those ending after 'cur'; false when none does. No list: with 255 CPUs
 * a sorted array of them would take 4 KiB of a 4 KiB SMM stack or of
 * SMRAM; a scan per step costs 255 x 260 compares. */
static void consider(struct range *best, bool *found, uint64_t cur, uint64_t lo, uint64_t len)
{
    if (lo + len > cur && (!*found || lo < best->lo)) {
        *best = (struct range){ lo, lo + len };
        *found = true;
    }
}

static bool next_skip(uint64_t cur, struct range *r)
{
    extern char __mut_start[], __mut_end[];
    const struct smm_config *c = &smm_config;
    uint64_t image_va = (uint64_t)SMM_IMAGE_VBASE;
    bool found = false;
    for (unsigned i = 0; i < c->ncpus; i++)
        consider(r, &found, cur, c->smbase[i] + SMM_SAVE_OFFSET, SMM_SAVE_SIZE);
    consider(r, &found, cur, c->stack_lo, c->stack_hi - c->stack_lo);
    consider(r, &found, cur, c->synch_smram, (uint64_t)c->ncpus * c->synch_stride);
    consider(r, &found, cur, c->image_phys + ((uint64_t)__mut_start - image_va),
             (uint64_t)(__mut_end - __mut_start));
    consider(r, &found, cur, c->image_phys + ((uint64_t)(uintptr_t)&smm_config - image_va),
             sizeof(smm_config));
    return found;
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
    const struct smm_config *c = &smm_config;
    uint64_t h = hash_config(0xCBF29CE484222325ull), cur = c->smram_base, end = c->smram_base + c->smram_size;
    uint64_t hashed = 0;
    while (cur < end) {
        struct range skip = { 0, 0 };
        bool more = next_skip(cur, &skip);
        uint64_t lo = more && skip.lo < end ? skip.lo : end;
        if (lo > cur) {
            h = smm_fnv1a(h, (const volatile uint8_t *)(uintptr_t)cur, lo - cur);
            hashed += lo - cur;
        }
        cur = more && skip.hi > cur ? skip.hi : end;
    }
    result[1] = hashed;
    result[2] = c->smram_size - hashed;
    return h;
}
