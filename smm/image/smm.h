/* SMM image internals. Nothing here may call kernel text: the image is its
 * own binary and runs with its own GDT, IDT, page tables and stacks. */
#ifndef SMMSYNC_SMM_IMAGE_H
#define SMMSYNC_SMM_IMAGE_H
#include <stdint.h>
#include <stdbool.h>
#include "smm/smm_abi.h"
#include "arch/x86.h"

extern struct smm_config smm_config;

/* The handler's variables that legitimately change while SMM runs (locks,
 * the rendezvous state, the command scratch, the protection probe): they
 * are linked together (smm/image/smm.ld: __mut_start..__mut_end) and are
 * the only part of the image that SMM_CMD_HASH_SMRAM leaves out. */
#define SMM_MUTABLE __attribute__((section(".bss.smm_mut")))

static inline struct smm_comm *comm(void)
{
    return (struct smm_comm *)(uintptr_t)smm_config.comm_phys;
}
static inline uint64_t bit(unsigned cpu) { return 1ull << cpu; }
static inline uint64_t all_cpus_mask(void)
{
    return smm_config.ncpus >= 64 ? ~0ull : (1ull << smm_config.ncpus) - 1;
}

/* synch_smm.c: the backends, seen from SMM. */
uint8_t synch_get(unsigned cpu);
void synch_put(unsigned cpu, uint8_t v);
uint8_t synch_enter(unsigned cpu);          /* returns the old byte, writes IN_SMM */
void synch_migrate(enum synch_backend to);

/* cpu.c */
uint32_t smm_apic_id(void);
uint32_t smm_apic_id_nofault(void);         /* for smm_fault: decides the mode itself */
int smm_cpu_of_apic(uint32_t apic_id);
void smm_send_smi(unsigned cpu);
uint64_t smm_us_to_tsc(uint64_t us);
void smm_lock(volatile uint32_t *l);
void smm_unlock(volatile uint32_t *l);

/* rendezvous.c */
void rendezvous(unsigned cpu, struct smm_rec *r, uint8_t exit_val);
void rendezvous_reset(void);
/* commands.c: the command body, run by the monarch. */
int smm_run_command(unsigned cpu, const struct smm_cmd *c, volatile uint64_t *result);
/* service.c: serves this CPU's per-CPU request; returns its exit byte. */
uint8_t smm_local_service(unsigned cpu, uint8_t *ss, uint8_t exit_val, struct smm_rec *r);
/* config.c: what commands are checked against (struct smm_cmd_limits, smm/cmd.h). */
struct smm_cmd_limits smm_limits(void);
/* hash.c */
uint64_t smm_fnv1a(uint64_t h, const volatile uint8_t *p, uint64_t n);
uint64_t smm_hash_smram(volatile uint64_t *result);   /* result[1], [2]: bytes hashed, left out */
/* tco.c */
uint32_t tco_status(void);           /* q35 TCO1_STS SMI causes, 0 elsewhere */
uint32_t tco_pending_clear(void);   /* reads and clears them */
#endif
