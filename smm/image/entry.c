/* The SMM handler: entered from each CPU's stub (smm/stub.asm) in 64-bit
 * mode on that CPU's SMM stack. Its first act is the synchbyte (claim 14);
 * then it records what it sees (struct smm_rec, in the communication area),
 * and either parks a CPU that entered with the reset state, serves a
 * per-CPU request, or takes part in the rendezvous. */
#include "smm/image/smm.h"
#include "smm/savestate.h"
#include "lib/kstring.h"

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

/* Opens this entry's record in the CPU's ring and says "in SMM". */
static struct smm_rec *open_record(struct smm_cpu_comm *cc, uint64_t t0, uint8_t before,
                                   const uint8_t *ss, uint64_t smbase)
{
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
    return r;
}

/* Parks a CPU that came from wait-for-SIPI, serves a per-CPU request, or
 * takes part in the rendezvous; returns the byte it leaves SMM with. */
static uint8_t take_part(unsigned cpu, struct smm_cpu_comm *cc, uint8_t *ss, uint8_t before,
                         struct smm_rec *r)
{
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
        exit_val = smm_local_service(cpu, ss, exit_val, r);
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
    return exit_val;
}

void smm_entry(uint32_t slot, uint64_t smbase, const struct smm_entry_state *snap)
{
    uint64_t t0 = rdtsc();
    smm_idt_load();
    int found = smm_cpu_of_apic(smm_apic_id());
    unsigned cpu = found >= 0 ? (unsigned)found : slot;
    uint8_t before = synch_enter(cpu);            /* claim 14: entering SMM */

    struct smm_cpu_comm *cc = &comm()->cpu[cpu];
    uint8_t *ss = (uint8_t *)(uintptr_t)(smbase + SMM_SAVE_OFFSET);
    struct smm_rec *r = open_record(cc, t0, before, ss, smbase);
    r->entry = *snap;
    uint32_t ipis = cc->irqs_in_smm;
    uint8_t exit_val = take_part(cpu, cc, ss, before, r);
    r->wake_ipis = cc->irqs_in_smm - ipis;
    r->self_after = exit_val;
    r->tsc_exit = rdtsc();
    cc->rec_count = r->seq;
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
