/* The SMM handler: entered from each CPU's stub (smm/stub.asm) in 64-bit
 * mode on that CPU's SMM stack. Its first act is the synchbyte (claim 14);
 * then it records what it sees (struct smm_rec, in the communication area),
 * and either parks a CPU that entered with the reset state, serves a
 * per-CPU request, or takes part in the rendezvous. */
#include "smm/image/smm.h"
#include "smm/savestate.h"
#include "smm/cmd.h"
#include "lib/kstring.h"

struct smm_config smm_config __attribute__((aligned(64)));

/* The GDT the stubs load by physical address: 0x08 64-bit code, 0x10 flat
 * data, 0x18 32-bit code (the same selectors as the kernel's). */
uint64_t smm_gdt[4] __attribute__((aligned(16))) = {
    0, 0x00AF9A000000FFFFull, 0x00CF92000000FFFFull, 0x00CF9A000000FFFFull,
};
extern char smm_gdt_end[];
__asm__(".pushsection .data\n.global smm_gdt_end\nsmm_gdt_end = smm_gdt + 32\n.popsection");

static uint8_t copy_scratch[SMM_COMM_BUF] SMM_MUTABLE;
/* 64 bytes of SMRAM whose content only SMM decides: the SMRAM protection
 * tests write to it from outside and ask SMM what it holds. */
volatile uint64_t smm_probe[8] SMM_MUTABLE __attribute__((aligned(64)));

static struct smm_cmd_limits limits(void)
{
    return (struct smm_cmd_limits){
        .buf_phys = smm_config.comm_phys + __builtin_offsetof(struct smm_comm, buf),
        .buf_len = SMM_COMM_BUF,
        .smram_base = smm_config.smram_base,
        .smram_size = smm_config.smram_size,
        .ncpus = smm_config.ncpus,
    };
}

/* ---- hardware SMI status: the ICH9 TCO block (QEMU hw/acpi/tco.c) ---- */
#define TCO1_STS 0x04
#define   TCO1_STS_SW_TCO_SMI (1u << 1)
#define   TCO1_STS_TIMEOUT    (1u << 3)

uint32_t tco_status(void)
{
    if (!smm_config.tco_base)
        return 0;
    return inw((uint16_t)(smm_config.tco_base + TCO1_STS)) &
           (TCO1_STS_SW_TCO_SMI | TCO1_STS_TIMEOUT);
}

uint32_t tco_pending_clear(void)
{
    uint32_t s = tco_status();
    if (s)  /* QEMU stores (value & mask) here; writing 0 clears */
        outw((uint16_t)(smm_config.tco_base + TCO1_STS), 0);
    return s;
}

static uint64_t fnv1a(uint64_t h, const volatile uint8_t *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001B3ull;
    }
    return h;
}

/* ---- the SMRAM hash: every byte that must not change ---- */

struct range { uint64_t lo, hi; };
#define HASH_SKIP_MAX (SMMSYNC_MAX_CPUS + 4)

static void skip_add(struct range *s, unsigned *n, uint64_t lo, uint64_t len)
{
    unsigned i = (*n)++;
    while (i > 0 && s[i - 1].lo > lo) {      /* insertion sort by start */
        s[i] = s[i - 1];
        i--;
    }
    s[i] = (struct range){ lo, lo + len };
}

/* The configuration without the fields commands may change (backend, bounds). */
static uint64_t hash_config(uint64_t h)
{
    const uint8_t *c = (const uint8_t *)&smm_config;
    size_t backend = __builtin_offsetof(struct smm_config, backend);
    size_t bounds = __builtin_offsetof(struct smm_config, t_patent_failsafe);
    size_t member = __builtin_offsetof(struct smm_config, t_member);
    h = fnv1a(h, c, backend);
    h = fnv1a(h, c + backend + sizeof(smm_config.backend), bounds - backend - sizeof(smm_config.backend));
    return fnv1a(h, c + member, sizeof(smm_config) - member);
}

/* FNV-1a over all of SMRAM except what legitimately changes in SMM:
 *   every CPU's save-state map   (written by the CPU on each SMI)
 *   the SMM stacks
 *   the synchbytes of the smram backend
 *   the handler's mutable variables (SMM_MUTABLE) and its configuration
 *     (hashed separately, without the backend and the rendezvous bounds).
 * Everything else is covered: every stub with its parameters, the GDT and
 * the IDT, the page tables (built with their accessed and dirty bits set,
 * so the page walker never writes them), the handler's code and constants,
 * and the unused bytes. result[1] = bytes hashed, result[2] = bytes left out. */
static uint64_t hash_smram(volatile uint64_t *result)
{
    extern char __mut_start[], __mut_end[];
    const struct smm_config *c = &smm_config;
    struct range skip[HASH_SKIP_MAX];
    unsigned n = 0;
    uint64_t image_va = (uint64_t)SMM_IMAGE_VBASE;
    for (unsigned i = 0; i < c->ncpus; i++)
        skip_add(skip, &n, c->smbase[i] + SMM_SAVE_OFFSET, SMM_SAVE_SIZE);
    skip_add(skip, &n, c->stack_lo, c->stack_hi - c->stack_lo);
    skip_add(skip, &n, c->sync_smram, (uint64_t)c->ncpus * c->sync_stride);
    skip_add(skip, &n, c->image_phys + ((uint64_t)__mut_start - image_va),
             (uint64_t)(__mut_end - __mut_start));
    skip_add(skip, &n, c->image_phys + ((uint64_t)(uintptr_t)&smm_config - image_va), sizeof(smm_config));

    uint64_t h = hash_config(0xCBF29CE484222325ull), cur = c->smram_base, end = c->smram_base + c->smram_size;
    uint64_t hashed = 0;
    for (unsigned i = 0; i <= n; i++) {
        uint64_t lo = i < n ? skip[i].lo : end, hi = i < n ? skip[i].hi : end;
        if (lo > end)
            lo = end;
        if (lo > cur) {
            h = fnv1a(h, (const volatile uint8_t *)(uintptr_t)cur, lo - cur);
            hashed += lo - cur;
        }
        if (hi > cur)
            cur = hi;
    }
    result[1] = hashed;
    result[2] = c->smram_size - hashed;
    return h;
}

int smm_run_command(unsigned cpu, const struct smm_cmd *c, volatile uint64_t *result)
{
    struct smm_cmd_limits lim = limits();
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
        result[0] = hash_smram(result);
        return SMM_OK;
    case SMM_CMD_COPY_IN: {
        const volatile uint8_t *src = (const volatile uint8_t *)(uintptr_t)c->arg[0];
        for (uint64_t i = 0; i < c->arg[1]; i++)
            copy_scratch[i] = src[i];
        result[0] = fnv1a(0xCBF29CE484222325ull, copy_scratch, c->arg[1]);
        return SMM_OK;
    }
    case SMM_CMD_COPY_OUT: {
        volatile uint8_t *dst = (volatile uint8_t *)(uintptr_t)c->arg[0];
        for (uint64_t i = 0; i < c->arg[1]; i++)
            dst[i] = (uint8_t)(0xC5 ^ i);
        return SMM_OK;
    }
    case SMM_CMD_SET_BACKEND:
        synch_migrate((enum synch_backend)c->arg[0]);
        return SMM_OK;
    case SMM_CMD_SET_TIMEOUTS:
        smm_config.t_patent_failsafe = smm_us_to_tsc(c->arg[0]);
        smm_config.t_pullin1 = smm_us_to_tsc(c->arg[1]);
        smm_config.t_pullin2 = smm_us_to_tsc(c->arg[2]);
        smm_config.t_waitall = smm_us_to_tsc(c->arg[3]);
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

/* ---- per-CPU service calls ---- */

static uint8_t local_service(unsigned cpu, uint8_t *ss, uint8_t exit_val, struct smm_rec *r)
{
    volatile struct smm_local_req *q = &comm()->cpu[cpu].req;
    uint32_t seq = q->seq, op = q->op;     /* copy in, then validate the copy */
    uint64_t arg = q->arg, result = 0;
    struct smm_cmd_limits lim = limits();
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

/* TCG delivers an SMI to a CPU in wait-for-SIPI at once, with the reset
 * state saved (docs/PLATFORM.md Q3). RSM would run the BIOS reset vector and
 * reboot the machine; send the CPU to a real-mode hlt loop instead. It stays
 * in wait-for-SIPI for QEMU, so a later SIPI still starts it. */
static bool reset_state(const uint8_t *ss)
{
    uint64_t cs, base, rip;
    return ss_get(ss, SS_CS_SEL, &cs) && ss_get(ss, SS_CS_BASE, &base) &&
           ss_get(ss, SS_RIP, &rip) && cs == 0xF000 && base == 0xFFFF0000ull && rip == 0xFFF0;
}

static void park_from_reset(uint8_t *ss)
{
    ss_set(ss, SS_CS_SEL, 0);
    ss_set(ss, SS_CS_BASE, 0);
    ss_set(ss, SS_RIP, smm_config.park_real16);
    ss_set(ss, SS_RFLAGS, 2);
}

static void record_entry(struct smm_rec *r, const uint8_t *ss, uint64_t smbase)
{
    uint64_t v;
    r->smbase = (uint32_t)smbase;
    r->revision = ss_revision(ss);
    r->smi_count = rdmsr(MSR_SMI_COUNT);
    r->backend = (uint8_t)smm_config.backend;
    if (ss_get(ss, SS_RIP, &v)) r->rip = v;
    if (ss_get(ss, SS_RFLAGS, &v)) r->rflags = v;
    if (ss_get(ss, SS_EFER, &v)) r->efer = v;
    if (ss_get(ss, SS_CS_SEL, &v)) r->cs_sel = (uint32_t)v;
    if (ss_get(ss, SS_CS_BASE, &v)) r->cs_base = v;
    if (ss_get(ss, SS_CR0, &v)) r->cr0 = (uint32_t)v;
}

void smm_idt_load(void);

void smm_entry(uint32_t slot, uint64_t smbase)
{
    uint64_t t0 = rdtsc();
    smm_idt_load();
    int found = smm_cpu_of_apic(smm_apic_id());
    unsigned cpu = found >= 0 ? (unsigned)found : slot;
    uint8_t before = synch_enter(cpu);            /* claim 14: entering SMM */

    struct smm_cpu_comm *cc = &comm()->cpu[cpu];
    uint8_t *ss = (uint8_t *)(uintptr_t)(smbase + SMM_SAVE_OFFSET);
    uint64_t n = cc->entries + 1;
    struct smm_rec *r = &cc->ring[(n - 1) % SMM_RING];
    memset(r, 0, sizeof(*r));
    r->seq = (uint32_t)n;
    r->tsc_entry = t0;
    r->self_before = before;
    record_entry(r, ss, smbase);
    memcpy(cc->save_state, ss, SMM_SAVE_SIZE);
    cc->in_smm = 1;
    cc->entries = n;

    /* A parked CPU goes back to its low-power state (claim 12); everyone
     * else leaves SMM active (claim 13). An unknown value counts as active. */
    uint8_t exit_val = before == SYNCH_INACTIVE ? SYNCH_INACTIVE : SYNCH_ACTIVE;
    if (reset_state(ss)) {
        park_from_reset(ss);
        r->role = ROLE_WFS_PARK;
        exit_val = SYNCH_INACTIVE;
        synch_put(cpu, exit_val);
    } else if (cc->req.seq != cc->req.done_seq) {
        /* Serve the request, then still take part in the rendezvous: the
         * SMI that brought this CPU in may also have been a command's
         * (pending SMIs merge). (Found by the model: regress-service-*.) */
        exit_val = local_service(cpu, ss, exit_val, r);
        rendezvous(cpu, r, exit_val);
        if (r->role == ROLE_NOWORK)
            r->role = ROLE_SERVICE;
    } else {
        if ((smm_config.flags & SMMF_SPIN_FOREVER) && cpu == smm_config.fault_cpu) {
            /* Test-only: this CPU never joins; bounded so the VM survives. */
            uint64_t end = rdtsc() + smm_us_to_tsc(20000000);
            while (!comm()->hold_release && rdtsc() < end)
                cc->spins++;
        }
        rendezvous(cpu, r, exit_val);
    }
    r->self_after = exit_val;
    r->tsc_exit = rdtsc();
    cc->rec_count = n;
    cc->in_smm = 0;
}

/* Exceptions in SMM: record them and stop this CPU (the kernel's bounded
 * wait reports it); never resume into a corrupt state. */
void smm_fault(uint64_t vector, uint64_t error, uint64_t rip)
{
    int cpu = smm_cpu_of_apic(smm_apic_id_nofault());
    if (cpu >= 0) {
        struct smm_cpu_comm *cc = &comm()->cpu[cpu];
        cc->fault_rip = rip;
        cc->fault_err = error;
        cc->fault_vector = (uint32_t)vector + 1;
    }
    for (;;)
        __asm__ volatile("cli; hlt");
}
