/* The command interface is the only input SMM takes from the OS: every
 * malformed command must come back with an error status, nothing outside
 * the allowed buffer may be read or written, and SMRAM must not change
 * (a hash taken inside SMM). */
#include "kernel/test.h"
#include "kernel/report.h"
#include "lib/kstring.h"
#include "arch/percpu.h"
#include "arch/x86.h"
#include "drivers/timer.h"
#include "smp/smp.h"
#include "smm/smm.h"
#include "tests/smm_util.h"

static int call(enum smm_cmd_id id, uint64_t a0, uint64_t a1, enum rdv_policy pol)
{
    struct smm_call c = { .id = id, .policy = pol, .arg = { a0, a1 }, .src = SMI_IPI_SELF,
                          .target = cpu_index() };
    return smm_call(&c) ? c.status : 999;
}

static bool smram_hash(uint64_t *h)
{
    int st = call(SMM_CMD_HASH_SMRAM, 0, 0, RDV_PULLIN);
    *h = smm_comm.result[0];
    return st == SMM_OK;
}

static uint64_t fnv1a(const volatile uint8_t *p, uint64_t n)
{
    uint64_t h = 0xCBF29CE484222325ull;
    for (uint64_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001B3ull;
    }
    return h;
}

static void test_hostile(void)
{
    uint64_t h0 = 0, h1 = 1;
    uint64_t buf = (uintptr_t)smm_comm.buf, sb = smm.layout.smram_base, ss = smm.layout.smram_size;
    bool hashed = smram_hash(&h0);
    uint64_t covered = smm_comm.result[1], left = smm_comm.result[2];
    /* Left out: the save-state maps, the SMM stacks, the smram synchbytes,
     * the handler's mutable variables and its configuration (hashed on its
     * own); nothing else (smm/image/hash.c). */
    uint64_t stacks = (uint64_t)ncpus * smm.layout.stack_size;
    uint64_t want_left = (uint64_t)ncpus * SMM_SAVE_SIZE + stacks + smm.layout.synch_size +
                         smm_image_mut_size() + sizeof(struct smm_config);
    if (!report(hashed && covered + left == ss && left == want_left,
                "SMRAM hashed inside SMM (0x%016lx): %lu of %lu bytes, the rest changes in SMM", h0, covered, ss))
        report_info("left out %lu bytes, expected %lu (save states, stacks, synchbytes, %u mutable, config)",
                    left, want_left, smm_image_mut_size());
    report(call(0x7777, 0, 0, RDV_PULLIN) == SMM_E_UNKNOWN_CMD, "unknown command refused");
    report(call(SMM_CMD_NOP, 0, 0, (enum rdv_policy)9) == SMM_E_BAD_ARG, "unknown policy refused");
    report(call(SMM_CMD_COPY_IN, sb, 64, RDV_PULLIN) == SMM_E_BAD_PTR, "COPY_IN from SMRAM refused");
    report(call(SMM_CMD_COPY_IN, sb - 32, 64, RDV_PULLIN) == SMM_E_BAD_PTR, "COPY_IN straddling SMRAM's start refused");
    report(call(SMM_CMD_COPY_IN, sb + ss - 32, 64, RDV_PULLIN) == SMM_E_BAD_PTR, "COPY_IN straddling SMRAM's end refused");
    report(call(SMM_CMD_COPY_IN, (uintptr_t)&smm, 64, RDV_PULLIN) == SMM_E_BAD_PTR,
           "COPY_IN from kernel memory outside the buffer refused");
    report(call(SMM_CMD_COPY_IN, buf + SMM_COMM_BUF - 8, 64, RDV_PULLIN) == SMM_E_BAD_PTR,
           "COPY_IN running past the buffer's end refused");
    report(call(SMM_CMD_COPY_IN, buf, 1ull << 40, RDV_PULLIN) == SMM_E_BAD_LEN, "huge length refused");
    report(call(SMM_CMD_COPY_IN, 0xFFFFFFFFFFFFFFF0ull, 0x20, RDV_PULLIN) == SMM_E_BAD_PTR, "wrapping pointer refused");
    report(call(SMM_CMD_COPY_IN, buf, 0, RDV_PULLIN) == SMM_E_BAD_LEN, "zero length refused");
    report(call(SMM_CMD_COPY_OUT, sb + 0x100, 16, RDV_PULLIN) == SMM_E_BAD_PTR, "COPY_OUT into SMRAM refused");
    report(call(SMM_CMD_COPY_OUT, buf + 3, 7, RDV_PULLIN) == SMM_OK &&
           smm_comm.buf[3] == 0xC5 && smm_comm.buf[9] == (uint8_t)(0xC5 ^ 6),
           "COPY_OUT to an unaligned range inside the buffer works");
    for (unsigned i = 0; i < 256; i++)
        smm_comm.buf[i] = (uint8_t)(i * 7);
    int st = call(SMM_CMD_COPY_IN, buf, 256, RDV_PULLIN);
    report(st == SMM_OK && smm_comm.result[0] == fnv1a(smm_comm.buf, 256), "a valid COPY_IN is copied whole");
    int ls = 0;
    report(smm_local(0, (enum smm_local_op)77, 0, 1000000, &ls, 0) && ls == SMM_E_UNKNOWN_CMD,
           "unknown service call refused");
    report(smm_local(0, SMM_LOCAL_READ_MSR, 0xC0000080, 1000000, &ls, 0) && ls == SMM_E_BAD_ARG,
           "service call reading an arbitrary MSR refused");
    bool again = smram_hash(&h1);
    report(again && h1 == h0, "SMRAM unchanged afterwards (0x%016lx)", h1);
}
TEST("40", "smm.cmd.hostile", test_hostile, .needs = FEAT_SMM);

/* A second CPU rewrites the command while SMM handles it: the handler
 * copies it in first, so it acts on one consistent version or refuses. */
static volatile uint32_t flip_stop;
static volatile uint64_t flips;

static void flipper(void *arg)
{
    (void)arg;
    uint64_t good = (uintptr_t)smm_comm.buf, bad = smm.layout.smram_base;
    uint64_t end = deadline_after_us(5000000);
    while (!flip_stop && !deadline_passed(end)) {
        smm_comm.cmd.arg[0] = (flips & 1) ? bad : good;
        flips++;
    }
}

static void test_toctou(void)
{
    unsigned k = 1;
    cpuset_t parked = park_aps(usable_aps_but(k), false);
    uint64_t h0 = 0, h1 = 1;
    smram_hash(&h0);
    for (unsigned i = 0; i < 128; i++)
        smm_comm.buf[i] = (uint8_t)(i ^ 0x5A);
    uint64_t want = fnv1a(smm_comm.buf, 128);
    flip_stop = 0;
    on_cpu_async(k, flipper, 0);
    unsigned ok = 0, refused = 0, other = 0;
    for (int i = 0; i < 40; i++) {
        int st = call(SMM_CMD_COPY_IN, (uintptr_t)smm_comm.buf, 128, RDV_PULLIN);
        if (st == SMM_OK && smm_comm.result[0] == want)
            ok++;
        else if (st == SMM_E_BAD_PTR)
            refused++;
        else
            other++;
    }
    flip_stop = 1;
    on_cpu_wait(k, 6000000);
    smram_hash(&h1);
    wake_aps(parked);
    report(other == 0 && flips > 0, "40 commands rewritten during the SMI: %u done right, %u refused, %u wrong "
           "(%lu rewrites)", ok, refused, other, flips);
    report(h0 == h1, "SMRAM unchanged");
}
TEST("40", "smm.cmd.toctou", test_toctou, .needs = FEAT_SMM, .min_cpus = 2);
