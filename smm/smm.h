/* The kernel's side of SMM: SMRAM setup (smm/setup.c, region.c,
 * relocate.c, install.c), SMI triggers (trigger.c), the records the handler
 * wrote (records.c) and the command interface (call.c). */
#ifndef SMMSYNC_SMM_H
#define SMMSYNC_SMM_H
#include <stdint.h>
#include <stdbool.h>
#include "smm/smm_abi.h"
#include "smm/layout.h"

enum smram_region { SMRAM_TSEG, SMRAM_ASEG };

struct smm_state {
    bool ready;                     /* image installed, every usable CPU relocated */
    char why_not[160];              /* reason SMM tests skip */
    enum smram_region region;
    uint32_t tseg_mb;               /* TSEG size chosen for the CPU count (1, 2 or 8 MiB) */
    struct smm_layout layout;
    struct smm_layout_req req;
    char layout_err[200];           /* why a first choice of region was refused */
    bool layout_rejected;           /* the checker refused the computed layout */
    uint64_t image_phys, probe_phys;
    uint32_t image_mem;
    bool relocated[SMMSYNC_MAX_CPUS];
    uint32_t reloc_old[SMMSYNC_MAX_CPUS];
    uint32_t reloc_rev[SMMSYNC_MAX_CPUS];
    uint32_t reloc_apic[SMMSYNC_MAX_CPUS];
    uint32_t reloc_from[SMMSYNC_MAX_CPUS];     /* 16/32/64: mode the relocation SMI interrupted */
    uint32_t reloc_done_by[SMMSYNC_MAX_CPUS];  /* which completion hook said done (after RSM) */
    bool closed, locked, fsmbase_locked, smram_open_requested;
    bool own_smram;                 /* the firmware left SMRAM alone (OVMF without SMM): ours to set up */
    bool audit;                     /* the firmware owns and locked SMRAM (OVMF with SMM): audit it */
    bool smi_lock_by_fw, smi_locked;  /* q35 GEN_PMCON_1.SMI_LOCK: already set by the firmware; set now */
    enum synch_backend backend;
    bool apm_broadcast;             /* q35 fw_cfg negotiation done */
    uint64_t t_patent_us, t_pullin1_us, t_pullin2_us, t_waitall_us;
};

extern struct smm_state smm;
extern struct smm_comm smm_comm;

bool smm_setup(void);               /* before the APs start */
/* smm/synch.c: keeps the synchbyte in step with smp's park/wake paths;
 * smm_setup() registers them (smp/power.h). */
struct power_hooks;
extern const struct power_hooks synch_power_hooks;
void smm_print_layout(void);

enum smi_source {
    SMI_IPI_PHYS,                   /* ICR, physical destination = target */
    SMI_IPI_SELF,                   /* ICR shorthand self */
    SMI_IPI_ALL,                    /* all including self */
    SMI_IPI_OTHERS,                 /* all excluding self */
    SMI_APM,                        /* out 0xB2 */
    SMI_TCO,                        /* q35 TCO_DAT_IN write: SMI to CPU 0 */
    SMI_SOURCE_COUNT
};
const char *smi_source_name(enum smi_source s);
bool smi_trigger(enum smi_source s, unsigned target);

/* Entries counted in SMM for each CPU. */
static inline uint64_t smm_entries(unsigned cpu) { return smm_comm.cpu[cpu].entries; }
void smm_snapshot(uint64_t *entries);           /* all CPUs */
/* Waits until every CPU in 'set' has more entries than 'base' (bounded). */
bool smm_wait_entries(cpuset_t set, const uint64_t *base, uint64_t timeout_us);
const struct smm_rec *smm_rec(unsigned cpu, uint64_t entry);   /* 0 if rolled out */
const struct smm_rec *smm_last_rec(unsigned cpu);
/* A CPU's last 'n' SMM stays from their records, as '# ' diagnostic lines. */
void smm_print_stays(unsigned cpu, unsigned n);

/* Submits a command, fires 'src' at 'target' and waits for it to be done. */
struct smm_call {
    enum smm_cmd_id id;
    enum rdv_policy policy;
    uint64_t arg[4];
    enum smi_source src;
    unsigned target;
    uint64_t timeout_us;            /* 0: 2 s */
    int status;                     /* out */
    uint32_t seq;                   /* out */
};
bool smm_call(struct smm_call *c);
/* Per-CPU service call on 'cpu' (directed SMI, or self). */
bool smm_local(unsigned cpu, enum smm_local_op op, uint64_t arg, uint64_t timeout_us,
               int *status, uint64_t *result);
/* The same in two halves, for requests that stay in SMM (HOLD). */
uint32_t smm_local_start(unsigned cpu, enum smm_local_op op, uint64_t arg);
bool smm_local_finish(unsigned cpu, uint32_t seq, uint64_t timeout_us, int *status,
                      uint64_t *result);
bool smm_set_backend(enum synch_backend b);
bool smm_set_timeouts(uint64_t patent_us, uint64_t pullin1_us, uint64_t pullin2_us,
                      uint64_t waitall_us);
bool smm_apm_negotiate_broadcast(char *why, unsigned whylen);
bool smm_cpu_ok(unsigned cpu);       /* online, relocated: may be sent SMIs */
uint32_t smm_image_mut_size(void);  /* bytes of the handler's SMM_MUTABLE variables */
cpuset_t smm_ok_set(void);
#endif
