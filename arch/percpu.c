#include "arch/percpu.h"
#include "arch/x86.h"

static struct percpu percpu_area[MAX_CPUS];

void percpu_init_this(unsigned idx, uint32_t apic_id)
{
    struct percpu *p = &percpu_area[idx];
    p->self = p;
    p->idx = idx;
    p->apic_id = apic_id;
    wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)p);
}

struct percpu *percpu_of(unsigned idx)
{
    return idx < MAX_CPUS ? &percpu_area[idx] : 0;
}
