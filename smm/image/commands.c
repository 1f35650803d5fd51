/* The rendezvous commands: what the monarch runs once per event, after
 * checking the command against the limits (smm/cmd.c). */
#include "smm/image/smm.h"
#include "smm/cmd.h"

static uint8_t copy_scratch[SMM_COMM_BUF] SMM_MUTABLE;
/* 64 bytes of SMRAM whose content only SMM decides: the SMRAM protection
 * tests write to it from outside and ask SMM what it holds. */
volatile uint64_t smm_probe[8] SMM_MUTABLE __attribute__((aligned(64)));

/* COPY_IN: the buffer into SMRAM; returns the FNV-1a of what arrived. */
static uint64_t copy_in(const struct smm_cmd *c)
{
    const volatile uint8_t *src = (const volatile uint8_t *)(uintptr_t)c->arg[0];
    for (uint64_t i = 0; i < c->arg[1]; i++)
        copy_scratch[i] = src[i];
    return smm_fnv1a(0xCBF29CE484222325ull, copy_scratch, c->arg[1]);
}

/* COPY_OUT: a known pattern out to the buffer. */
static void copy_out(const struct smm_cmd *c)
{
    volatile uint8_t *dst = (volatile uint8_t *)(uintptr_t)c->arg[0];
    for (uint64_t i = 0; i < c->arg[1]; i++)
        dst[i] = (uint8_t)(0xC5 ^ i);
}

/* SET_TIMEOUTS: the rendezvous bounds, in microseconds. */
static void set_timeouts(const struct smm_cmd *c)
{
    smm_config.t_patent_failsafe = smm_us_to_tsc(c->arg[0]);
    smm_config.t_pullin1 = smm_us_to_tsc(c->arg[1]);
    smm_config.t_pullin2 = smm_us_to_tsc(c->arg[2]);
    smm_config.t_waitall = smm_us_to_tsc(c->arg[3]);
}

int smm_run_command(unsigned cpu, const struct smm_cmd *c, volatile uint64_t *result)
{
    struct smm_cmd_limits lim = smm_limits();
    int st = smm_cmd_validate(c, &lim);
    if (st)
        return st;
    switch (c->id) {
    case SMM_CMD_NOP:
        return SMM_OK;
    case SMM_CMD_PING:
        result[0] = cpu;
        result[1] = rdtsc();
        return SMM_OK;
    case SMM_CMD_HASH_SMRAM:
        result[0] = smm_hash_smram(result);
        return SMM_OK;
    case SMM_CMD_COPY_IN:
        result[0] = copy_in(c);
        return SMM_OK;
    case SMM_CMD_COPY_OUT:
        copy_out(c);
        return SMM_OK;
    case SMM_CMD_SET_BACKEND:
        synch_migrate((enum synch_backend)c->arg[0]);
        return SMM_OK;
    case SMM_CMD_SET_TIMEOUTS:
        set_timeouts(c);
        return SMM_OK;
    case SMM_CMD_READ_SYNCH:
        for (unsigned i = 0; i < smm_config.ncpus; i++)
            comm()->buf[i] = synch_get(i);
        return SMM_OK;
    case SMM_CMD_PROBE:
        if (c->arg[0])
            smm_probe[0] = c->arg[1];
        result[0] = smm_probe[0];
        return SMM_OK;
    case SMM_CMD_WRITE_SYNCH:
        synch_put((unsigned)c->arg[0], (uint8_t)c->arg[1]);
        return SMM_OK;
    default:
        return SMM_E_UNKNOWN_CMD;
    }
}
