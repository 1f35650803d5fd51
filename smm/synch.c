/* The kernel's side of the synchbyte: each CPU writes only its own byte,
 * only from the park/wake paths (smp/power.c, through the hooks at the end
 * of this file) and SMM, on entry and exit. With the
 * mem backend it is a plain store into the synch area below SMRAM; the
 * smram and cmos backends are reachable only from SMM, so the transition
 * is a per-CPU SMM service call. */
#include "smm/synch.h"
#include "smm/smm.h"
#include "smp/power.h"
#include "arch/percpu.h"

const char *synch_name(uint8_t v)
{
    switch (v) {
    case SYNCH_INACTIVE: return "inactive";
    case SYNCH_ACTIVE: return "active";
    case SYNCH_IN_SMM: return "in-smm";
    default: return "corrupt";
    }
}

const char *synch_backend_name(enum synch_backend b)
{
    static const char *const n[] = { "mem", "smram", "cmos" };
    return (unsigned)b < SYNCH_BACKEND_COUNT ? n[b] : "?";
}

static volatile uint8_t *mem_byte(unsigned cpu)
{
    return (volatile uint8_t *)(uintptr_t)(smm.layout.synch_mem + (uint64_t)cpu * smm.layout.synch_stride);
}

bool synch_self_set(enum synch_value v)
{
    unsigned me = cpu_index();
    if (!smm.ready || !smm.relocated[me])
        return true;                /* nothing to keep in step yet */
    if (smm.backend == SYNCH_MEM) {
        *mem_byte(me) = (uint8_t)v;
        return true;
    }
    int st = -1;
    return smm_local(me, SMM_LOCAL_SYNCH_SET, v, 1000000, &st, 0) && st == SMM_OK;
}

bool synch_peek(unsigned cpu, uint8_t *v)
{
    if (!smm.ready || smm.backend != SYNCH_MEM)
        return false;
    *v = *mem_byte(cpu);
    return true;
}

/* What the power transitions of smp/power.c mean here (claims 11-14). */
static void power_changed(enum power_state s)
{
    synch_self_set(s == POWER_ACTIVE ? SYNCH_ACTIVE : SYNCH_INACTIVE);
}

static bool cpu_in_smm(unsigned cpu)
{
    return smm_comm.cpu[cpu].in_smm;
}

const struct power_hooks synch_power_hooks = { .self = power_changed, .busy = cpu_in_smm };
