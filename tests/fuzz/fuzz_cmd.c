/*
 * fuzz_cmd.c - libFuzzer target for the SMM command validators (smm/cmd.c).
 *
 * The command and the per-CPU request are what an untrusted OS writes into
 * the communication area, so every bit of them is fuzzed.  The limits come
 * from smm_config, written by our own installer, so they are always
 * non-wrapping ranges; mode bits pick below 2^52 (the architectural maximum
 * of a physical address), below 4 GiB, or anywhere in the 64-bit space
 * (no installer does that, but the checks must not rely on it).
 *
 * Input (little-endian, zero-filled if short):
 *   [0]        mode: bits 0-1 anchor of the pointer-like arguments (cmd
 *              arg0, the local arg, the range start): absolute, buf_phys +,
 *              smram_base +, smram_end + (wrapping add of the raw value);
 *              bits 2-3 anchor of the lengths (cmd arg1, range len):
 *              absolute, buf_len +, smram_size +, low 16 bits only;
 *              bit 4: limits below 4 GiB instead of below 2^52;
 *              bit 5: limits anywhere below 2^64 (overrides bit 4)
 *   [8..40)    buf_phys, buf_len, smram_base, smram_size (u64)
 *   [40..48)   ncpus (u32), local op (u32)
 *   [48..96)   struct smm_cmd: seq, id, policy, flags (u32), arg[4] (u64)
 *   [96..120)  local arg, range start, range len (u64)
 *
 * Checked (abort() on violation), against an overflow-free reference
 * written here with 128-bit arithmetic:
 *   - soundness: COPY_IN/COPY_OUT (and smm_range_ok) accepted => [p, p+len)
 *     is non-empty, does not wrap, lies in [buf_phys, buf_phys+buf_len) and
 *     does not overlap [smram_base, smram_base+smram_size); SET_SMBASE
 *     accepted => [arg+0x8000, arg+0x10000) lies inside SMRAM (and arg is
 *     16-byte aligned); every other accepted command meets its documented
 *     bounds;
 *   - exactness: the status equals the reference's, except that a range
 *     with an empty SMRAM (smram_size 0) strictly inside it may be refused
 *     (conservative, and no real limits have an empty SMRAM).
 *
 * Build: tools/fuzz.sh (clang -fsanitize=fuzzer,address,undefined).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smm/cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef unsigned __int128 u128;

#define FAIL(...)                                                        \
    do {                                                             \
        fprintf(stderr, "fuzz_cmd: " __VA_ARGS__);               \
        fputc('\n', stderr);                                     \
        dump(&lim, &c, op, larg, rp, rlen);                      \
        abort();                                                 \
    } while (0)

#define INPUT_LEN 120
#define TEN_S     10000000ull   /* microseconds: the timeout/hold bound */

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return v;
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

static void dump(const struct smm_cmd_limits *l, const struct smm_cmd *c,
         uint32_t op, uint64_t larg, uint64_t rp, uint64_t rlen)
{
    fprintf(stderr,
        "  limits: buf [0x%llx +0x%llx) smram [0x%llx +0x%llx) ncpus %u\n"
        "  cmd: id %u policy %u arg 0x%llx 0x%llx 0x%llx 0x%llx\n"
        "  local: op %u arg 0x%llx; range 0x%llx +0x%llx\n",
        (unsigned long long)l->buf_phys, (unsigned long long)l->buf_len,
        (unsigned long long)l->smram_base,
        (unsigned long long)l->smram_size, l->ncpus, c->id, c->policy,
        (unsigned long long)c->arg[0], (unsigned long long)c->arg[1],
        (unsigned long long)c->arg[2], (unsigned long long)c->arg[3], op,
        (unsigned long long)larg, (unsigned long long)rp,
        (unsigned long long)rlen);
}

/* Clamp [*base, *base + *size) to [0, top) (top 0: 2^64), no wrap. */
static void clamp_range(uint64_t *base, uint64_t *size, u128 top)
{
    if (top) {
        *base = (uint64_t)(*base % top);
        *size = (uint64_t)(*size % top);
        if ((u128)*base + *size > top)
            *size = (uint64_t)(top - *base);
    } else if (*base + *size < *base) {
        *size = UINT64_MAX - *base;
    }
}

/* ---- the reference ---------------------------------------------------- */

static bool overlaps(u128 a0, u128 a1, u128 b0, u128 b1)
{
    return a0 < b1 && b0 < a1;
}

/* What smm_range_ok must answer, in exact arithmetic. */
static int ref_range(uint64_t p, uint64_t len, const struct smm_cmd_limits *l)
{
    u128 end = (u128)p + len;

    if (len == 0 || len > l->buf_len)
        return SMM_E_BAD_LEN;
    if (end > UINT64_MAX)
        return SMM_E_BAD_PTR;   /* wraps (or ends exactly at 2^64) */
    if (overlaps(p, end, l->smram_base, (u128)l->smram_base + l->smram_size))
        return SMM_E_BAD_PTR;
    if (p < l->buf_phys || end > (u128)l->buf_phys + l->buf_len)
        return SMM_E_BAD_PTR;
    return SMM_OK;
}

/* The soundness property alone (what must never be accepted). */
static bool range_safe(uint64_t p, uint64_t len, const struct smm_cmd_limits *l)
{
    u128 end = (u128)p + len;

    return len > 0 && end <= UINT64_MAX && p >= l->buf_phys &&
           end <= (u128)l->buf_phys + l->buf_len &&
           !overlaps(p, end, l->smram_base,
             (u128)l->smram_base + l->smram_size);
}

static int ref_cmd(const struct smm_cmd *c, const struct smm_cmd_limits *l)
{
    if (c->policy >= RDV_POLICY_COUNT)
        return SMM_E_BAD_ARG;
    switch (c->id) {
    case SMM_CMD_NOP:
    case SMM_CMD_PING:
    case SMM_CMD_HASH_SMRAM:
    case SMM_CMD_READ_SYNCH:
        return SMM_OK;
    case SMM_CMD_PROBE:
        return c->arg[0] == 0 || c->arg[0] == 1 ? SMM_OK : SMM_E_BAD_ARG;
    case SMM_CMD_COPY_IN:
    case SMM_CMD_COPY_OUT:
        return ref_range(c->arg[0], c->arg[1], l);
    case SMM_CMD_SET_BACKEND:
        /* cmos: NVRAM 0x60-0x7F, one byte per CPU, so 32 CPUs at most. */
        return c->arg[0] == SYNCH_MEM || c->arg[0] == SYNCH_SMRAM ||
               (c->arg[0] == SYNCH_CMOS && l->ncpus <= 32) ? SMM_OK : SMM_E_BAD_ARG;
    case SMM_CMD_SET_TIMEOUTS:
        for (int i = 0; i < 4; i++)
            if (c->arg[i] < 1 || c->arg[i] > TEN_S)
                return SMM_E_BAD_ARG;
        return SMM_OK;
    case SMM_CMD_WRITE_SYNCH:
        return c->arg[0] < l->ncpus && c->arg[1] < 256 ? SMM_OK
                               : SMM_E_BAD_ARG;
    default:
        return SMM_E_UNKNOWN_CMD;
    }
}

static bool smbase_safe(uint64_t arg, const struct smm_cmd_limits *l)
{
    u128 s0 = l->smram_base, s1 = (u128)l->smram_base + l->smram_size;

    return arg % 16 == 0 && (u128)arg + SMM_ENTRY_OFFSET >= s0 &&
           (u128)arg + SMM_WINDOW_SIZE <= s1;
}

static int ref_local(uint32_t op, uint64_t arg, const struct smm_cmd_limits *l)
{
    switch (op) {
    case SMM_LOCAL_SYNCH_SET:
        return arg == SYNCH_INACTIVE || arg == SYNCH_ACTIVE ||
               arg == SYNCH_IN_SMM ? SMM_OK : SMM_E_BAD_ARG;
    case SMM_LOCAL_SET_RAX:
        return SMM_OK;
    case SMM_LOCAL_SYNCH_RAW:
        return arg < 256 ? SMM_OK : SMM_E_BAD_ARG;
    case SMM_LOCAL_AUTO_HALT:
        return arg < 2 ? SMM_OK : SMM_E_BAD_ARG;
    case SMM_LOCAL_PROBE_SELFTEST:
    case SMM_LOCAL_EXCEPTIONS:
    case SMM_LOCAL_SHORT_HALT:
        return arg == 0 ? SMM_OK : SMM_E_BAD_ARG;
    case SMM_LOCAL_IRET_NMI:
        return arg >= 1 && arg <= 1000000 ? SMM_OK : SMM_E_BAD_ARG;
    case SMM_LOCAL_PROBE_MSR:
        switch (arg) {
        case 0x9E: case 0x34: case 0x9B: case 0xFE: case 0x1F2: case 0x1F3:
        case 0x17D: case 0x4E0: case 0x4E1: case 0x4E2: case 0x4E3:
            return SMM_OK;
        default:
            return SMM_E_BAD_ARG;
        }
    case SMM_LOCAL_READ_MSR:
        return arg == 0x34 || arg == 0x1B || arg == 0x10 ? SMM_OK
                                 : SMM_E_BAD_ARG;
    case SMM_LOCAL_SET_SMBASE:
        return smbase_safe(arg, l) ? SMM_OK : SMM_E_BAD_PTR;
    case SMM_LOCAL_HOLD: {
        /* Bits 31:0: the bound, 1 us to 10 s. Bits 62:32: a linger after
         * the monarch's choice, only with bit 63 (until decided), and never
         * longer than the bound. */
        uint64_t bound = arg % (1ull << 32), linger = (arg >> 32) % (1ull << 31);
        bool until_decided = (arg >> 63) != 0;
        if (bound < 1 || bound > TEN_S || linger > bound || (linger && !until_decided))
            return SMM_E_BAD_ARG;
        return SMM_OK;
    }
    default:
        return SMM_E_UNKNOWN_CMD;
    }
}

/*
 * The one allowed difference from the reference: with smram_size == 0,
 * smm_range_ok refuses a range that has smram_base strictly inside it
 * (an empty SMRAM "overlaps" it).  Conservative, and no real limits have
 * an empty SMRAM.
 */
static bool empty_smram_refusal(int rc, int ref, const struct smm_cmd_limits *l)
{
    return l->smram_size == 0 && rc == SMM_E_BAD_PTR && ref == SMM_OK;
}

static uint64_t anchored(unsigned how, uint64_t raw,
             const struct smm_cmd_limits *l)
{
    switch (how & 3) {
    case 1: return l->buf_phys + raw;
    case 2: return l->smram_base + raw;
    case 3: return l->smram_base + l->smram_size + raw;
    default: return raw;
    }
}

static uint64_t anchored_len(unsigned how, uint64_t raw,
                 const struct smm_cmd_limits *l)
{
    switch (how & 3) {
    case 1: return l->buf_len + raw;
    case 2: return l->smram_size + raw;
    case 3: return raw & 0xffff;
    default: return raw;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t in[INPUT_LEN] = { 0 };
    struct smm_cmd_limits lim;
    struct smm_cmd c;
    uint32_t op;
    uint64_t larg, rp, rlen;
    unsigned mode;
    u128 top;
    int rc, ref;

    memcpy(in, data, size < sizeof(in) ? size : sizeof(in));
    mode = in[0];

    lim.buf_phys = rd64(in + 8);
    lim.buf_len = rd64(in + 16);
    lim.smram_base = rd64(in + 24);
    lim.smram_size = rd64(in + 32);
    lim.ncpus = rd32(in + 40);
    if (mode & 0x20)
        top = 0;        /* 2^64 */
    else
        top = (u128)1 << (mode & 0x10 ? 32 : 52);
    clamp_range(&lim.buf_phys, &lim.buf_len, top);
    clamp_range(&lim.smram_base, &lim.smram_size, top);

    op = rd32(in + 44);
    c.seq = rd32(in + 48);
    c.id = rd32(in + 52);
    c.policy = rd32(in + 56);
    c.flags = rd32(in + 60);
    for (int i = 0; i < 4; i++)
        c.arg[i] = rd64(in + 64 + 8 * i);
    c.arg[0] = anchored(mode, c.arg[0], &lim);
    c.arg[1] = anchored_len(mode >> 2, c.arg[1], &lim);
    larg = anchored(mode, rd64(in + 96), &lim);
    rp = anchored(mode, rd64(in + 104), &lim);
    rlen = anchored_len(mode >> 2, rd64(in + 112), &lim);

    /* smm_range_ok on its own. */
    rc = smm_range_ok(rp, rlen, &lim);
    if (rc == SMM_OK && !range_safe(rp, rlen, &lim))
        FAIL("smm_range_ok accepted an unsafe range");
    ref = ref_range(rp, rlen, &lim);
    if (rc != ref && !empty_smram_refusal(rc, ref, &lim))
        FAIL("smm_range_ok returned %d, reference %d", rc, ref);

    /* The command. */
    rc = smm_cmd_validate(&c, &lim);
    if (rc == SMM_OK && (c.id == SMM_CMD_COPY_IN || c.id == SMM_CMD_COPY_OUT) &&
        !range_safe(c.arg[0], c.arg[1], &lim))
        FAIL("smm_cmd_validate accepted COPY_IN/OUT of an unsafe range");
    ref = ref_cmd(&c, &lim);
    if (rc != ref &&
        !((c.id == SMM_CMD_COPY_IN || c.id == SMM_CMD_COPY_OUT) &&
          empty_smram_refusal(rc, ref, &lim)))
        FAIL("smm_cmd_validate returned %d, reference %d", rc, ref);

    /* The per-CPU service call. */
    rc = smm_local_validate(op, larg, &lim);
    if (rc == SMM_OK && op == SMM_LOCAL_SET_SMBASE && !smbase_safe(larg, &lim))
        FAIL("smm_local_validate accepted SET_SMBASE 0x%llx: window "
             "[+0x8000, +0x10000) not inside SMRAM",
             (unsigned long long)larg);
    ref = ref_local(op, larg, &lim);
    if (rc != ref)
        FAIL("smm_local_validate(op %u) returned %d, reference %d", op,
             rc, ref);
    return 0;
}
