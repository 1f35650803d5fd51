/* The command interface: rendezvous commands (smm_call: submit, fire an
 * SMI, wait for the monarch's answer) and per-CPU service calls
 * (smm_local), with the two commands that change the handler's settings. */
#include "smm/smm.h"
#include "smp/smp.h"
#include "arch/percpu.h"
#include "drivers/timer.h"
#include "arch/x86.h"

static uint32_t cmd_seq;          /* never 0: 0 marks "no command" */

bool smm_call(struct smm_call *c)
{
    uint32_t seq = ++cmd_seq ? cmd_seq : ++cmd_seq;   /* skip 0 on wrap */
    volatile struct smm_cmd *cmd = &smm_comm.cmd;
    /* Withdraw the old number first (0: no command), so SMM never runs an
     * old number with new fields (docs/model: regress-withdraw-stale-seq-*). */
    __atomic_store_n(&cmd->seq, 0, __ATOMIC_RELEASE);
    cmd->id = c->id;
    cmd->policy = c->policy;
    cmd->flags = CMDF_SUBMITTER(cpu_index()) |
                 (c->src == SMI_IPI_ALL || (c->src == SMI_APM && smm.apm_broadcast) ? CMDF_BROADCAST : 0);
    for (unsigned i = 0; i < 4; i++)
        cmd->arg[i] = c->arg[i];
    __atomic_store_n(&cmd->seq, seq, __ATOMIC_RELEASE);
    c->seq = seq;
    c->status = SMM_E_TIMEOUT;
    if (!smi_trigger(c->src, c->target))
        return false;
    if (!WAIT_UNTIL(__atomic_load_n(&smm_comm.done_seq, __ATOMIC_ACQUIRE) == seq,
                    (c->timeout_us ? c->timeout_us : 2000000) * host_scale()))
        return false;
    c->status = smm_comm.status;
    return true;
}

uint32_t smm_local_start(unsigned cpu, enum smm_local_op op, uint64_t arg)
{
    volatile struct smm_local_req *q = &smm_comm.cpu[cpu].req;
    uint32_t seq = q->seq + 1;
    q->op = op;
    q->arg = arg;
    __atomic_store_n(&q->seq, seq, __ATOMIC_RELEASE);
    bool sent = cpu == cpu_index() ? smi_trigger(SMI_IPI_SELF, cpu) : smi_trigger(SMI_IPI_PHYS, cpu);
    if (!sent) {
        q->done_seq = seq;
        return 0;
    }
    return seq;
}

bool smm_local_finish(unsigned cpu, uint32_t seq, uint64_t timeout_us, int *status, uint64_t *result)
{
    volatile struct smm_local_req *q = &smm_comm.cpu[cpu].req;
    uint64_t end = deadline_after_us(timeout_us);
    while (seq && __atomic_load_n(&q->done_seq, __ATOMIC_ACQUIRE) != seq) {
        if (deadline_passed(end)) {
            q->done_seq = seq;      /* withdraw it: a late SMI must not act on it */
            return false;
        }
        cpu_relax();
    }
    if (!seq)
        return false;
    /* Done means served; the CPU may still take part in a rendezvous before
     * it leaves SMM (smm/image/entry.c). Callers expect it back: wait, bounded. */
    WAIT_UNTIL(!smm_comm.cpu[cpu].in_smm, timeout_us);
    if (status)
        *status = q->status;
    if (result)
        *result = q->result;
    return true;
}

bool smm_local(unsigned cpu, enum smm_local_op op, uint64_t arg, uint64_t timeout_us,
               int *status, uint64_t *result)
{
    return smm_local_finish(cpu, smm_local_start(cpu, op, arg), timeout_us, status, result);
}

bool smm_set_backend(enum synch_backend b)
{
    struct smm_call c = { .id = SMM_CMD_SET_BACKEND, .policy = RDV_PULLIN, .arg = { b },
                          .src = SMI_IPI_SELF, .target = cpu_index() };
    if (!smm_call(&c) || c.status != SMM_OK)
        return false;
    smm.backend = b;
    return true;
}

bool smm_set_timeouts(uint64_t patent_us, uint64_t pullin1_us, uint64_t pullin2_us,
                      uint64_t waitall_us)
{
    struct smm_call c = { .id = SMM_CMD_SET_TIMEOUTS, .policy = RDV_PULLIN,
                          .arg = { patent_us, pullin1_us, pullin2_us, waitall_us },
                          .src = SMI_IPI_SELF, .target = cpu_index() };
    if (!smm_call(&c) || c.status != SMM_OK)
        return false;
    smm.t_patent_us = patent_us;
    smm.t_pullin1_us = pullin1_us;
    smm.t_pullin2_us = pullin2_us;
    smm.t_waitall_us = waitall_us;
    return true;
}
