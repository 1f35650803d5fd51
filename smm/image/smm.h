/* SMM image internals. Nothing here may call kernel text: the image is its
 * own binary and runs with its own GDT, IDT, page tables and stacks. */
#ifndef SMMSYNC_SMM_IMAGE_H
#define SMMSYNC_SMM_IMAGE_H
#include <stdint.h>
#include <stdbool.h>
#include "smm/smm_abi.h"
#include "smm/image/rdv_port.h"
#include "kernel/x86.h"

/* synch_smm.c: the backends, seen from SMM (synch_get/put: rdv_port.h). */
uint8_t synch_enter(unsigned cpu);          /* returns the old byte, writes IN_SMM */
void synch_migrate(enum synch_backend to);

/* cpu.c */
uint32_t smm_apic_id(void);
uint32_t smm_apic_id_nofault(void);         /* for smm_fault: decides the mode itself */
int smm_cpu_of_apic(uint32_t apic_id);

/* rendezvous.c, and handler.c's command body and TCO status: rdv_port.h. */
#endif
