/* The machine as the rendezvous sees it: the one interface between
 * smm/image/rendezvous.c and everything else. The SMM image implements it
 * on the hardware (synch_smm.c, cpu.c, commands.c, tco.c); the host test
 * tests/host/test_rendezvous.c implements it with threads as CPUs, so the
 * very same rendezvous.c runs under ThreadSanitizer.
 *
 *   synchbyte  synch_get / synch_put        a CPU's byte, current backend
 *   SMI        smm_send_smi                  an SMI IPI to one CPU
 *   clock      smm_clock / smm_us_to_tsc     TSC ticks
 *   wait       smm_relax                     one step of a bounded wait
 *   lock       struct spinlock               arch/spinlock.h (pure atomics)
 *   work       tco_status / tco_pending_clear / smm_run_command
 *   state      smm_config, comm()            configuration and the OS's page
 *
 * Nothing here may assume x86 privileges: no port I/O, no MSRs. */
#ifndef SMMSYNC_RDV_PORT_H
#define SMMSYNC_RDV_PORT_H
#include <stdint.h>
#include <stdbool.h>
#include "smm/smm_abi.h"
#include "arch/spinlock.h"

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

uint8_t synch_get(unsigned cpu);
void synch_put(unsigned cpu, uint8_t v);
void smm_send_smi(unsigned cpu);
uint64_t smm_clock(void);
uint64_t smm_us_to_tsc(uint64_t us);
void smm_relax(void);
uint32_t tco_status(void);          /* hardware SMI causes pending (q35 TCO), 0 elsewhere */
uint32_t tco_pending_clear(void);   /* reads and clears them */
int smm_run_command(unsigned cpu, const struct smm_cmd *c, volatile uint64_t *result);

/* One bounded wait (smm/image/wait.c): polls done(ctx) until it returns
 * true or the clock reaches 'end'; true if done. Every wait in SMM is one. */
bool smm_wait_until(bool (*done)(void *ctx), void *ctx, uint64_t end);

/* A halting wait (smm_wait=, smm_abi.h): a member's for its release, the
 * monarch's for its arrivals. As smm_wait_until, halting between looks
 * until a wake (smm_wake) or its own timer; r->halts and r->timer_wakes
 * count. smm_halt_possible says whether this CPU may halt (else the caller
 * spins). The waker makes its change visible, then reads who halts
 * (seq_cst both sides) and wakes them; a wake that comes before the halt
 * stays pending and ends it at once, so none is lost. smm_halt_drain takes
 * a wake that came after the last look, before the CPU leaves SMM (the OS
 * must never see the vector). */
bool smm_halt_possible(void);
bool smm_wait_halting(bool (*done)(void *ctx), void *ctx, uint64_t end, struct smm_rec *r);
void smm_halt_drain(void);
void smm_wake(unsigned cpu);

/* rendezvous.c */
void rendezvous(unsigned cpu, struct smm_rec *r, uint8_t exit_val);
void rendezvous_reset(void);
#endif
