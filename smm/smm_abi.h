/* What the kernel and the SMM image share: the image header, the
 * configuration the installer writes into SMRAM, and the communication area
 * outside SMRAM (the only input SMM takes from the OS). */
#ifndef SMMSYNC_SMM_ABI_H
#define SMMSYNC_SMM_ABI_H
#include <stdint.h>
#include "smm/synch.h"
#include "lib/cpuset.h"

#define SMMSYNC_MAX_CPUS     255        /* the xAPIC limit; CPU sets hold CPUSET_MAX */
#define SMM_WINDOW_SIZE      0x10000u   /* [SMBASE, SMBASE + 64 KiB) */
#define SMM_ENTRY_OFFSET     0x8000u    /* SDM 34.5.1: entry at SMBASE + 8000h */
#define SMM_SAVE_OFFSET      0xFE00u    /* save-state map: SMBASE + FE00h..FFFFh */
#define SMM_SAVE_SIZE        0x200u
#define SMM_DEFAULT_SMBASE   0x30000u
#define SMM_IMAGE_VBASE      0xFFFFFFFFC0000000ull
#define SMM_IMAGE_MAGIC      0x494D4D53u /* "SMMI" */
#define SMM_CONFIG_MAGIC     0x46434D53u /* "SMCF" */
#define SMM_COMM_MAGIC       0x4D4D4353u /* "SCMM" */
#define SMM_RING             16

/* At offset 0 of the image (smm/image/smm.ld writes it). */
struct smm_image_header {
    uint32_t magic;
    uint32_t file_size;         /* bytes to copy */
    uint32_t mem_size;          /* bytes to reserve (file + bss) */
    uint32_t entry_off;         /* smm_entry(), from SMM_IMAGE_VBASE */
    uint32_t config_off;        /* struct smm_config */
    uint32_t gdt_off;           /* the GDT the stubs load (before paging) */
    uint32_t gdt_size;
    uint32_t text_end_off;
    uint32_t probe_off;         /* smm_probe: 64 bytes of SMRAM for the protection tests */
    uint32_t mut_size;          /* the SMM_MUTABLE variables (left out of the SMRAM hash) */
};

enum rdv_policy { RDV_PULLIN = 0, RDV_PATENT = 1, RDV_WAITALL = 2, RDV_POLICY_COUNT };

/* Fault-injection switches (test-only, from the kernel command line). */
#define SMMF_INACTIVE_AS_ACTIVE  (1u << 0)   /* rendezvous waits on inactive CPUs */
#define SMMF_SPIN_FOREVER        (1u << 1)   /* CPU 'fault_cpu' never leaves SMM (bounded by hold) */

struct smm_config {             /* inside SMRAM; written while SMRAM is open */
    uint32_t magic;
    uint32_t ncpus;             /* CPUs in the MADT */
    uint64_t comm_phys, comm_size;
    uint64_t smram_base, smram_size;
    uint64_t image_phys, image_size;
    uint64_t tsc_hz;
    uint32_t apic_id[SMMSYNC_MAX_CPUS];
    uint32_t smbase[SMMSYNC_MAX_CPUS];
    uint64_t synch_mem, synch_smram;
    uint32_t synch_stride;
    uint32_t backend;           /* enum synch_backend (SMM may change it) */
    uint32_t cmos_index;        /* CMOS byte of CPU 0 */
    uint32_t x2apic;
    uint32_t park_real16;       /* real-mode park loop (smp/lowmem.asm) */
    uint32_t flags;             /* SMMF_* */
    uint32_t fault_cpu;
    uint32_t tco_base;          /* q35: PMBASE + 0x60, else 0 */
    uint64_t t_patent_failsafe, t_pullin1, t_pullin2, t_waitall, t_member; /* TSC ticks */
    uint64_t stack_lo, stack_hi;   /* every CPU's SMM stack lies in [stack_lo, stack_hi) */
    uint32_t wait_method;       /* enum smm_wait_method (smm_wait=) */
    uint32_t apic_timer_per_ms; /* local APIC timer ticks per ms at divide-by-16 (0: unknown) */
    uint32_t lent_tick_lvt;     /* the OS's periodic tick SMM may borrow to halt (0: none) */
};

/* How a CPU waits in SMM (smm_wait=): halting (the default) or spinning.
 * Under hlt a member halts for its release and the monarch for its
 * arrivals. A halting CPU has interrupts on for SMM_WAKE_VECTOR only (the
 * task priority raised to class 0xE meanwhile) and is woken by a wake IPI
 * (the monarch's release; the arrival that completes the monarch's wait)
 * or, at the latest, by its own local APIC timer (a one-shot of at most
 * SMM_HALT_MAX_US, so a lost wake would cost that much, never the bound).
 * It may halt when its LVT timer is masked (the OS does not use it) or is
 * exactly the tick the OS lends (lent_tick_lvt: the kernel's watchdog
 * tick, periodic, which reads the TSC for its deadline and so only shifts
 * its phase when SMM restarts it with a full period). A CPU whose timer
 * the OS uses otherwise, or that entered SMM parked, spins. */
enum smm_wait_method { SMM_WAIT_SPIN = 0, SMM_WAIT_HLT = 1 };
#define SMM_WAKE_VECTOR  0xF8u          /* wake IPIs */
#define SMM_TIMER_VECTOR 0xF9u          /* a halt's own one-shot (class 0xF too) */
#define SMM_HALT_MAX_US  10000u

/* ---- the communication area (outside SMRAM) ---- */

enum smm_cmd_id {
    SMM_CMD_NONE = 0,
    SMM_CMD_NOP = 1,            /* rendezvous only */
    SMM_CMD_PING = 2,           /* result[0] = monarch, result[1] = its TSC */
    SMM_CMD_HASH_SMRAM = 3,     /* result[0] = FNV-1a 64 of SMRAM minus what changes in SMM;
                                   result[1] = bytes hashed, result[2] = bytes left out */
    SMM_CMD_COPY_IN = 4,        /* arg0 = phys, arg1 = len: copied into SMRAM; result[0] = FNV-1a */
    SMM_CMD_SET_BACKEND = 5,    /* arg0 = enum synch_backend: migrate every byte */
    SMM_CMD_SET_TIMEOUTS = 6,   /* arg0..3 = us: patent failsafe, pullin1, pullin2, waitall */
    SMM_CMD_READ_SYNCH = 7,     /* buf[0..ncpus) = every CPU's byte from the current backend */
    SMM_CMD_WRITE_SYNCH = 8,    /* arg0 = cpu, arg1 = raw value (corruption tests) */
    SMM_CMD_COPY_OUT = 9,       /* arg0 = phys, arg1 = len: filled with 0xC5 ^ offset */
    SMM_CMD_PROBE = 10,         /* arg0 = 1: write arg1 into smm_probe[0]; result[0] = smm_probe[0] */
    SMM_CMD_COUNT
};

/* Per-CPU service calls: done by the CPU alone, no rendezvous. */
enum smm_local_op {
    SMM_LOCAL_NONE = 0,
    SMM_LOCAL_SYNCH_SET = 1,    /* arg = value: leave SMM with this synchbyte */
    SMM_LOCAL_SET_RAX = 2,      /* arg = new saved RAX */
    SMM_LOCAL_SET_SMBASE = 3,   /* arg = new SMBASE (applies from the next SMI) */
    SMM_LOCAL_HOLD = 4,         /* spin in SMM until comm->hold_release or arg us (see SMM_HOLD_UNTIL_DECIDED) */
    SMM_LOCAL_READ_MSR = 5,     /* arg = MSR_SMI_COUNT, IA32_APIC_BASE or TSC -> result */
    SMM_LOCAL_SYNCH_RAW = 6,    /* test-only: leave SMM with this raw byte (corruption tests) */
    SMM_LOCAL_AUTO_HALT = 7,    /* arg 1: RSM with the auto HALT restart field as found, 0: cleared -> result = as found */
    SMM_LOCAL_PROBE_MSR = 8,    /* arg = one of SMM_PROBE_MSRS -> result, or SMM_E_FAULT on #GP */
    SMM_LOCAL_PROBE_SELFTEST = 9, /* arg 0: a non-canonical load in SMM; result 1 = its #GP was caught */
    SMM_LOCAL_IRET_NMI = 10,    /* arg = us: IRET in SMM (NMIs unblocked), then wait that long for an NMI -> result = NMIs taken */
    SMM_LOCAL_EXCEPTIONS = 11,  /* arg 0: #UD, #PF and an interrupt in SMM -> result = SMM_EXC_* bits seen */
    SMM_LOCAL_SHORT_HALT = 12,  /* arg 0: a halt on a one-tick one-shot, then a wake IPI and a one-shot
                                   pending at once, drained -> result = halts << 32 | SMM_SHORT_HALT_*
                                   | timer wakes (bits 15:0); 0: this CPU may not halt */
    SMM_LOCAL_COUNT
};

/* The MSRs SMM_LOCAL_PROBE_MSR reads (SDM vol. 4 and EDK2's SMM CPU
 * features): IA32_SMBASE, MSR_SMI_COUNT, IA32_SMM_MONITOR_CTL, MTRRcap,
 * IA32_SMRR_PHYSBASE/PHYSMASK, MSR_SMM_MCA_CAP, MSR_SMM_FEATURE_CONTROL,
 * MSR_SMM_ENABLE, MSR_SMM_DELAYED, MSR_SMM_BLOCKED. No other: an OS request
 * must not read SMM's secrets. */
#define SMM_PROBE_MSRS { 0x9E, 0x34, 0x9B, 0xFE, 0x1F2, 0x1F3, 0x17D, 0x4E0, 0x4E1, 0x4E2, 0x4E3 }

/* SMM_LOCAL_SHORT_HALT's result bits. */
#define SMM_SHORT_HALT_BOTH    (1u << 16)   /* the wake IPI and the one-shot were both pending */
#define SMM_SHORT_HALT_DRAINED (1u << 17)   /* the drain then left neither pending */

/* SMM_LOCAL_EXCEPTIONS' result: what the handler saw (SDM 34.6). */
#define SMM_EXC_UD       (1u << 0)      /* a UD2 raised #UD, caught through SMRAM's IDT */
#define SMM_EXC_PF       (1u << 1)      /* a load from an unmapped page raised #PF, caught */
#define SMM_EXC_PF_CR2   (1u << 2)      /* CR2 held the faulting address */
#define SMM_EXC_IRQ      (1u << 3)      /* a self-IPI was taken in SMM with interrupts enabled */
#define SMM_EXC_UNMAPPED 0x100000000ull /* the first address past SMRAM's 4 GiB identity map */

/* SMM_LOCAL_HOLD's arg: bits 31:0 the bound in us. With
 * SMM_HOLD_UNTIL_DECIDED the hold also ends SMM_HOLD_LINGER(us) after the
 * monarch of a new rendezvous event has read this CPU's synchbyte as in SMM
 * and has sent the SMIs its policy sends to peers outside SMM (its record:
 * REC_SMIS_SENT): the held CPU is then seen in SMM, the monarch has chosen
 * whether to send it an SMI, and it joins late, however long the monarch's
 * vCPU took to get there (no race with the host's load). The service call's
 * result: SMM_HOLD_ENDED_DECIDED, _RELEASED or _BOUND. */
#define SMM_HOLD_UNTIL_DECIDED (1ull << 63)
enum { SMM_HOLD_ENDED_BOUND = 0, SMM_HOLD_ENDED_RELEASED = 1, SMM_HOLD_ENDED_DECIDED = 2 };
#define SMM_HOLD_LINGER(us)    ((uint64_t)(us) << 32)     /* at most 0x7FFFFFFF us */
#define SMM_HOLD_US_OF(arg)    ((arg) & 0xFFFFFFFFu)
#define SMM_HOLD_LINGER_OF(arg) (((arg) >> 32) & 0x7FFFFFFFu)

enum smm_status {
    SMM_OK = 0,
    SMM_E_UNKNOWN_CMD = -1,
    SMM_E_BAD_LEN = -2,
    SMM_E_BAD_PTR = -3,         /* points into SMRAM or outside the buffer */
    SMM_E_BAD_ARG = -4,
    SMM_E_TIMEOUT = -5,
    SMM_E_FAULT = -6,           /* the operation faulted in SMM (an MSR the CPU lacks) */
};

/* smm_cmd.flags */
#define CMDF_SUBMITTER(cpu) (((uint32_t)(cpu) + 1) & 0xFF)   /* who submitted it */
#define CMDF_SUBMITTER_OF(f) ((int)((f) & 0xFF) - 1)
#define CMDF_BROADCAST      (1u << 8)   /* the submitter fires a broadcast SMI */

struct smm_cmd {
    uint32_t seq;               /* new command when seq != comm->done_seq */
    uint32_t id;                /* enum smm_cmd_id */
    uint32_t policy;            /* enum rdv_policy */
    uint32_t flags;
    uint64_t arg[4];
};

enum smm_role {
    ROLE_NONE = 0,
    ROLE_MONARCH = 1,           /* opened the event, waited, ran the command */
    ROLE_MEMBER = 2,            /* joined the open event */
    ROLE_LATE = 3,              /* arrived after the door closed */
    ROLE_NOWORK = 4,            /* no pending work (latched/spurious SMI): left at once */
    ROLE_SERVICE = 5,           /* per-CPU service call */
    ROLE_WFS_PARK = 6,          /* entered with the reset state (wait-for-SIPI): parked */
};

#define REC_RAN_CMD     (1u << 0)
#define REC_PROTO_FAIL  (1u << 1)   /* patent policy: fail-safe bound hit */
#define REC_BAD_SYNCH   (1u << 2)   /* an unknown synchbyte value was seen */
#define REC_TIMEOUT     (1u << 3)   /* a bounded wait expired */
#define REC_HW_TCO      (1u << 4)   /* TCO status was pending and cleared */
#define REC_WOKE_MONARCH (1u << 5)  /* member: its join completed the halting monarch's wait; it woke it */
#define REC_SMIS_SENT   (1u << 6)   /* monarch: it has sent the SMIs its policy sends to peers outside
                                       SMM (patent: a broadcast's; pullin: after its first wait) */

/* The CPU's state on SMM entry (SDM vol. 3C 34.5.1, table "Processor
 * Register Initialization in SMM"), as the entry stub (smm/stub.asm) found
 * it before its first change: written in 16-bit mode through DS (base 0,
 * 4 GiB limit on entry) into the top SMM_ENTRY_SNAP_SIZE bytes of the CPU's
 * SMM stack, then copied into the entry's record. EFLAGS: the stub's first
 * instructions keep the arithmetic flags (LAHF, SETO); the rest (IF, DF,
 * TF...) is taken in 64-bit mode, nothing having changed them. */
#define SMM_ENTRY_SNAP_SIZE 80u          /* a multiple of 16: RSP stays aligned */
#define SMM_ENTRY_SNAP_MAGIC 0x45525453u  /* "STRE": the stub stored it */
struct smm_entry_state {
    uint16_t cs, ds, es, ss, fs, gs;    /* selectors */
    uint16_t idt_limit;                 /* SIDT: limit, then 32-bit base */
    uint32_t idt_base;
    uint16_t gdt_limit;                 /* SGDT */
    uint32_t gdt_base;
    uint32_t cr0, cr3, cr4, dr6, dr7;
    uint32_t efer_lo, efer_hi;
    uint32_t cs_magic;                  /* SMM_STUB_MAGIC read CS-relative: CS base = SMBASE */
    uint8_t flags_ah, flags_of;         /* LAHF, SETO at the first instruction */
    uint16_t pad;
    uint32_t rflags_late;               /* PUSHFQ in 64-bit mode */
    uint32_t magic;                     /* SMM_ENTRY_SNAP_MAGIC, written last */
} __attribute__((packed));
_Static_assert(sizeof(struct smm_entry_state) <= SMM_ENTRY_SNAP_SIZE, "the snapshot fits its room");
/* EFLAGS on entry: the arithmetic flags from LAHF and SETO, the others as
 * PUSHFQ saw them later. */
#define EFLAGS_ARITH 0x8D5u             /* OF SF ZF AF PF CF */
static inline uint32_t smm_entry_eflags(const struct smm_entry_state *e)
{
    return (e->rflags_late & ~EFLAGS_ARITH) | (e->flags_ah & 0xD5u) | ((uint32_t)(e->flags_of & 1) << 11);
}

struct smm_rec {                    /* what one SMM entry did (written in SMM) */
    uint32_t seq;                   /* this CPU's entry number, from 1 */
    uint32_t event;                 /* rendezvous event (0: none) */
    uint16_t role;
    uint8_t self_before, self_after;
    uint8_t policy, backend, pad[2];
    uint32_t flags;
    uint32_t smbase, revision;
    uint32_t cmd_id, cmd_seq;
    int32_t cmd_status;
    uint32_t tco_sts;
    uint64_t smi_count;             /* MSR_SMI_COUNT on entry */
    uint64_t tsc_entry, tsc_ready, tsc_exit;
    uint64_t wait_tsc;              /* time spent waiting for peers */
    cpuset_t waited, pulled, missing, joined, inactive, bad;   /* CPU sets */
    cpuset_t woken;                 /* monarch: the halting members it sent a wake IPI */
    uint64_t rip, rflags, efer;
    uint32_t cs_sel, cr0;
    uint64_t cs_base;
    uint32_t halts;                 /* HLTs in its waits (smm_wait=hlt) */
    uint32_t timer_wakes;           /* of those, ended by its own timer, not a wake IPI */
    uint32_t wake_ipis;             /* wake IPIs it took in this stay (in a halt, or before RSM) */
    struct smm_entry_state entry;   /* the CPU's state on entry, before the stub changed it */
    uint8_t peer[SMMSYNC_MAX_CPUS]; /* every peer's synchbyte as this CPU read it */
};

struct smm_local_req {
    uint32_t seq, op;
    uint64_t arg;
    uint32_t done_seq;
    int32_t status;
    uint64_t result;
};

struct smm_cpu_comm {
    volatile uint64_t entries;      /* every SMM entry, counted in SMM */
    volatile uint64_t rec_count;
    struct smm_rec ring[SMM_RING];  /* ring[(n - 1) % SMM_RING] is entry n */
    uint8_t save_state[SMM_SAVE_SIZE];   /* raw copy at the last entry */
    volatile struct smm_local_req req;
    volatile uint64_t cmds_run;     /* commands this CPU ran as monarch */
    volatile uint32_t fault_vector, in_smm;
    volatile uint32_t nmis_in_smm;  /* NMIs taken in SMM (only after an IRET there: SDM 34.8) */
    volatile uint32_t iret_done;    /* SMM_LOCAL_IRET_NMI: the request seq whose IRET ran */
    volatile uint32_t irqs_in_smm;  /* wake IPIs (SMM_WAKE_VECTOR) taken in SMM */
    volatile uint64_t fault_rip, fault_err, spins;
} __attribute__((aligned(64)));

#define SMM_COMM_BUF 4096
struct smm_comm {
    uint32_t magic, version;
    volatile struct smm_cmd cmd;
    volatile uint32_t done_seq;     /* last command executed */
    volatile int32_t status;
    volatile uint64_t result[4];
    volatile uint32_t hold_release;
    volatile uint32_t events;       /* events opened so far */
    uint8_t buf[SMM_COMM_BUF] __attribute__((aligned(64)));
    struct smm_cpu_comm cpu[SMMSYNC_MAX_CPUS];
};
_Static_assert(SMMSYNC_MAX_CPUS <= CPUSET_MAX, "a CPU set holds every CPU");
#endif
