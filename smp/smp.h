#ifndef SMMSYNC_SMP_H
#define SMMSYNC_SMP_H
#include <stdint.h>
#include <stdbool.h>
#include "arch/percpu.h"
#include "smp/power.h"

enum cpu_state {
    CPU_ABSENT = 0,      /* not in the MADT (or disabled there) */
    CPU_OFFLINE,         /* in the MADT, not started (yet) */
    CPU_STARTING,
    CPU_IDLE,            /* in the idle loop (halted, or spinning with idle=spin), takes work */
    CPU_BUSY,            /* running on_cpu work */
    CPU_PARKED_HLT,      /* cli; hlt until woken by NMI */
    CPU_PARKING_INIT,    /* waiting for the INIT that parks it */
    CPU_PARKED_INIT,     /* in wait-for-SIPI */
    CPU_FAILED,          /* did not answer within its bound */
};

struct cpu {
    uint32_t apic_id;
    bool bsp, online_capable;
    volatile enum cpu_state state;
    void (*volatile work_fn)(void *);
    void *volatile work_arg;
    volatile uint32_t work_seq, done_seq;
    volatile uint32_t wake_req;
    volatile uint64_t nmi_count, nmi_tsc, intr_count, intr_tsc;
    volatile uintptr_t nmi_frame;    /* where the last NMI's handler found its frame */
    uint32_t pkg, core, thread;
    uint32_t starts;                 /* how many times the trampoline ran it */
    volatile uint64_t park_spins;    /* progress of the INIT-parking loop */
    volatile uint64_t idle_loops;    /* passes of the idle loop (one per wake when halting) */
    volatile uint64_t wakes;         /* VEC_WAKE interrupts taken */
    uint8_t *stack_top;
};

extern struct cpu cpus[MAX_CPUS];
extern unsigned ncpus;               /* CPUs listed enabled in the MADT */

bool smp_init(char *err, unsigned errlen);   /* enumerate (MADT) */
int smp_add_cpu(uint32_t apic_id);           /* a hot-added CPU, offline (-1: no room) */
void smp_boot_aps(void);                     /* INIT-SIPI-SIPI each AP */
unsigned smp_online(void);                   /* CPUs in IDLE/BUSY */
int cpu_by_apic(uint32_t apic_id);
const char *cpu_state_name(enum cpu_state s);
void smp_print_topology(void);
bool cpu_usable(unsigned cpu);               /* online and idle/busy */
/* config_host_scale() for this machine's vCPUs: multiply waits for other CPUs by it. */
unsigned host_scale(void);

typedef void (*cpu_fn)(void *);
bool on_cpu(unsigned cpu, cpu_fn fn, void *arg);        /* waits (bounded, 10 s) */
bool on_cpu_async(unsigned cpu, cpu_fn fn, void *arg);
bool on_cpu_wait(unsigned cpu, uint64_t timeout_us);

/* Waits (bounded) until cpu is in state s. */
bool cpu_wait_state(unsigned cpu, enum cpu_state s, uint64_t us);
/* The park/wake paths: smp/power.h. */
bool cpu_start(unsigned cpu);                /* INIT-SIPI-SIPI, bounded */
bool cpu_restart(unsigned cpu);              /* SIPIs to a CPU in wait-for-SIPI, bounded */

void ap_main(uint64_t idx);
#endif
