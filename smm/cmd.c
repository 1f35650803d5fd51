#include "smm/cmd.h"

int smm_range_ok(uint64_t p, uint64_t len, const struct smm_cmd_limits *lim)
{
    if (len == 0 || len > lim->buf_len)
        return SMM_E_BAD_LEN;
    if (p + len < p)
        return SMM_E_BAD_PTR;                         /* wraps */
    uint64_t s0 = lim->smram_base, s1 = lim->smram_base + lim->smram_size;
    if (p < s1 && s0 < p + len)
        return SMM_E_BAD_PTR;                         /* touches SMRAM */
    if (p < lim->buf_phys || p + len > lim->buf_phys + lim->buf_len)
        return SMM_E_BAD_PTR;                         /* outside the buffer */
    return SMM_OK;
}

int smm_cmd_validate(const struct smm_cmd *c, const struct smm_cmd_limits *lim)
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
        return c->arg[0] <= 1 ? SMM_OK : SMM_E_BAD_ARG;
    case SMM_CMD_COPY_IN:
    case SMM_CMD_COPY_OUT:
        return smm_range_ok(c->arg[0], c->arg[1], lim);
    case SMM_CMD_SET_BACKEND:
        if (c->arg[0] == SYNCH_CMOS && lim->ncpus > SYNCH_CMOS_BYTES)
            return SMM_E_BAD_ARG;            /* more CPUs than CMOS bytes */
        return c->arg[0] < SYNCH_BACKEND_COUNT ? SMM_OK : SMM_E_BAD_ARG;
    case SMM_CMD_SET_TIMEOUTS:
        for (unsigned i = 0; i < 4; i++)
            if (c->arg[i] == 0 || c->arg[i] > 10000000)   /* at most 10 s */
                return SMM_E_BAD_ARG;
        return SMM_OK;
    case SMM_CMD_WRITE_SYNCH:
        return c->arg[0] < lim->ncpus && c->arg[1] <= 0xFF ? SMM_OK : SMM_E_BAD_ARG;
    default:
        return SMM_E_UNKNOWN_CMD;
    }
}

int smm_local_validate(uint32_t op, uint64_t arg, const struct smm_cmd_limits *lim)
{
    switch (op) {
    case SMM_LOCAL_SYNCH_SET:
        return synch_valid((uint8_t)arg) && arg <= 0xFF ? SMM_OK : SMM_E_BAD_ARG;
    case SMM_LOCAL_SET_RAX:
        return SMM_OK;
    case SMM_LOCAL_SYNCH_RAW:
        return arg <= 0xFF ? SMM_OK : SMM_E_BAD_ARG;
    case SMM_LOCAL_AUTO_HALT:
        return arg <= 1 ? SMM_OK : SMM_E_BAD_ARG;
    case SMM_LOCAL_PROBE_SELFTEST:
    case SMM_LOCAL_EXCEPTIONS:
    case SMM_LOCAL_SHORT_HALT:
        return arg == 0 ? SMM_OK : SMM_E_BAD_ARG;
    case SMM_LOCAL_IRET_NMI:
        return arg > 0 && arg <= 1000000 ? SMM_OK : SMM_E_BAD_ARG;
    case SMM_LOCAL_PROBE_MSR: {
        static const uint32_t probe[] = SMM_PROBE_MSRS;
        for (unsigned i = 0; i < sizeof(probe) / sizeof(probe[0]); i++)
            if (arg == probe[i])
                return SMM_OK;
        return SMM_E_BAD_ARG;
    }
    case SMM_LOCAL_READ_MSR:            /* only MSRs that cannot #GP in SMM */
        return arg == 0x34 || arg == 0x1B || arg == 0x10 ? SMM_OK : SMM_E_BAD_ARG;
    case SMM_LOCAL_SET_SMBASE: {
        /* The new window's entry and save state must be in SMRAM; every sum
         * below is checked so no operand can wrap. */
        uint64_t lo = lim->smram_base, hi = lo + lim->smram_size;
        if (hi < lo || (arg & 0xF) || arg > hi || hi - arg < SMM_WINDOW_SIZE ||
            arg + SMM_ENTRY_OFFSET < lo)
            return SMM_E_BAD_PTR;
        return SMM_OK;
    }
    case SMM_LOCAL_HOLD: {
        uint64_t us = SMM_HOLD_US_OF(arg), linger = SMM_HOLD_LINGER_OF(arg);
        if (linger && !(arg & SMM_HOLD_UNTIL_DECIDED))
            return SMM_E_BAD_ARG;            /* a linger only after a monarch's choice */
        return us > 0 && us <= 10000000 && linger <= us ? SMM_OK : SMM_E_BAD_ARG;
    }
    default:
        return SMM_E_UNKNOWN_CMD;
    }
}
