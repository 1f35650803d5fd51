/* Per-CPU service calls (smm_local on the kernel side): a request in the
 * CPU's own slot of the communication area, served on entry. */
#include "smm/image/smm.h"
#include "smm/savestate.h"
#include "smm/cmd.h"

uint8_t smm_local_service(unsigned cpu, uint8_t *ss, uint8_t exit_val, struct smm_rec *r)
{
    volatile struct smm_local_req *q = &comm()->cpu[cpu].req;
    uint32_t seq = q->seq, op = q->op;     /* copy in, then validate the copy */
    uint64_t arg = q->arg, result = 0;
    struct smm_cmd_limits lim = smm_limits();
    int st = smm_local_validate(op, arg, &lim);
    r->cmd_id = 0x100 | op;
    if (!st) {
        switch (op) {
        case SMM_LOCAL_SYNCH_SET:
        case SMM_LOCAL_SYNCH_RAW:
            exit_val = (uint8_t)arg;
            break;
        case SMM_LOCAL_SET_RAX:
            ss_set(ss, SS_RAX, arg);
            break;
        case SMM_LOCAL_SET_SMBASE: {
            bool known = false;
            for (unsigned i = 0; i < smm_config.ncpus; i++)
                known |= smm_config.smbase[i] == arg;
            if (known)
                ss_set(ss, SS_SMBASE, arg);
            else
                st = SMM_E_BAD_PTR;
            break;
        }
        case SMM_LOCAL_HOLD: {
            uint64_t end = rdtsc() + smm_us_to_tsc(arg);
            while (!comm()->hold_release && rdtsc() < end)
                comm()->cpu[cpu].spins++;
            result = comm()->hold_release ? 1 : 0;
            break;
        }
        case SMM_LOCAL_READ_MSR:
            result = arg == 0x10 ? rdtsc() : rdmsr((uint32_t)arg);
            break;
        }
    }
    r->cmd_status = st;
    q->status = st;
    q->result = result;
    __atomic_store_n(&q->done_seq, seq, __ATOMIC_RELEASE);
    return exit_val;
}
