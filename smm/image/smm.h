/* SMM image internals. Nothing here may call kernel text: the image is its
 * own binary and runs with its own GDT, IDT, page tables and stacks. */
#ifndef SMMSYNC_SMM_IMAGE_H
#define SMMSYNC_SMM_IMAGE_H
#include <stdint.h>
#include <stdbool.h>
#include "smm/smm_abi.h"
#include "smm/image/rdv_port.h"
#include "arch/x86.h"

/* synch_smm.c: the backends, seen from SMM (synch_get/put: rdv_port.h). */
uint8_t synch_enter(unsigned cpu);          /* returns the old byte, writes IN_SMM */
void synch_migrate(enum synch_backend to);

/* cpu.c */
uint32_t smm_apic_id(void);
uint32_t smm_apic_id_nofault(void);         /* for smm_fault: decides the mode itself */
int smm_cpu_of_apic(uint32_t apic_id);
uint32_t smm_apic_read(uint32_t reg);
void smm_apic_write(uint32_t reg, uint32_t v);
void smm_wake_eoi(void);                    /* the wake stub's end of interrupt */
void smm_timer_eoi(void);                   /* the timer stub's (a halt's one-shot) */
/* idt.asm: interrupts on for one 'hlt' / one instruction (IF=0 before and after). */
/* CR8 while SMM takes interrupts: classes 0x0-0xE held off (the OS's
 * vectors stay pending until after RSM), SMM_WAKE_VECTOR's class 0xF taken. */
#define SMM_WAKE_TPR 0xEu
void smm_halt_once(void);
void smm_halt_one_tick(struct smm_rec *r);  /* SMM_LOCAL_SHORT_HALT: a halt on a one-tick one-shot (halt.c) */
bool smm_drain_selftest(unsigned cpu, bool *both);  /* and both SMM vectors pending, drained */
void smm_irq_window(void);
/* RDMSR that returns 1 instead of stopping the CPU on a #GP (idt.asm). */
int smm_rdmsr_probe(uint32_t msr, uint64_t *v);
int smm_gp_probe(const uint64_t *p);     /* the same recovery, for a load */
void smm_iret_self(void);                /* IRET to the next instruction: NMIs unblocked */
int smm_ud_probe(void);                  /* UD2: 1 when its #UD was caught */
int smm_pf_probe(const uint64_t *p);     /* a load: 1 when its #PF was caught */
void smm_self_wake(unsigned cpu);        /* a fixed IPI on SMM_WAKE_VECTOR to this CPU */

/* rdv_port.h: rendezvous.c, and the command body (commands.c) and the TCO
 * status (tco.c) it runs. */
/* service.c: serves this CPU's per-CPU request; returns its exit byte. */
uint8_t smm_local_service(unsigned cpu, uint8_t *ss, uint8_t exit_val, struct smm_rec *r);
/* config.c: what commands are checked against (struct smm_cmd_limits, smm/cmd.h). */
struct smm_cmd_limits smm_limits(void);
/* hash.c */
uint64_t smm_fnv1a(uint64_t h, const volatile uint8_t *p, uint64_t n);
uint64_t smm_hash_smram(volatile uint64_t *result);   /* result[1], [2]: bytes hashed, left out */
#endif
