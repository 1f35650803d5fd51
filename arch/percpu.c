#include "arch/percpu.h"
#include "arch/x86.h"

/* The 64-bit task-state segment (SDM vol. 3A 8.7, figure 8-11): only the
 * interrupt stack table is used (no privilege changes, no I/O bitmap). */
struct tss64 {
    uint32_t rsvd0;
    uint64_t rsp[3];
    uint64_t rsvd1;
    uint64_t ist[7];
    uint64_t rsvd2;
    uint16_t rsvd3, iomap_base;
} __attribute__((packed));

_Static_assert(sizeof(struct tss64) == 104, "64-bit TSS is 104 bytes");

struct cpu_tables {
    uint64_t gdt[GDT_ENTRIES + 2];       /* + the 16-byte TSS descriptor */
    struct tss64 tss;
} __attribute__((aligned(16)));

static struct percpu percpu_area[MAX_CPUS];
static struct cpu_tables tables[MAX_CPUS];
static uint8_t ist_stacks[MAX_CPUS][IST_COUNT][IST_STACK_SIZE] __attribute__((aligned(16)));

static void load_tables(unsigned idx)
{
    struct cpu_tables *t = &tables[idx];
    static const uint64_t shared[GDT_ENTRIES] = {
        0, GDT_DESC_CODE64, GDT_DESC_DATA, GDT_DESC_CODE32, GDT_DESC_CODE16, GDT_DESC_DATA16,
    };
    for (unsigned i = 0; i < GDT_ENTRIES; i++)
        t->gdt[i] = shared[i];
    for (unsigned i = 0; i < IST_COUNT; i++)
        t->tss.ist[i] = (uint64_t)(uintptr_t)&ist_stacks[idx][i][IST_STACK_SIZE];
    t->tss.iomap_base = sizeof(struct tss64);     /* no I/O permission bitmap */
    uint64_t base = (uint64_t)(uintptr_t)&t->tss, limit = sizeof(struct tss64) - 1;
    t->gdt[GDT_TSS / 8] = (limit & 0xFFFF) | (base & 0xFFFFFF) << 16 |
                          (uint64_t)GDT_DESC_TSS_TYPE << 40 | (limit >> 16 & 0xF) << 48 |
                          (base >> 24 & 0xFF) << 56;
    t->gdt[GDT_TSS / 8 + 1] = base >> 32;
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) d = {
        sizeof(t->gdt) - 1, (uint64_t)(uintptr_t)t->gdt };
    /* Same selectors, same descriptors: the loaded segments stay valid. */
    __asm__ volatile("lgdt %0" :: "m"(d) : "memory");
    __asm__ volatile("ltr %w0" :: "r"((uint16_t)GDT_TSS) : "memory");
}

void percpu_init_this(unsigned idx, uint32_t apic_id)
{
    struct percpu *p = &percpu_area[idx];
    p->self = p;
    p->idx = idx;
    p->apic_id = apic_id;
    wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)p);
    load_tables(idx);
}

struct percpu *percpu_of(unsigned idx)
{
    return idx < MAX_CPUS ? &percpu_area[idx] : 0;
}

void percpu_ist_range(unsigned idx, unsigned ist, uintptr_t *lo, uintptr_t *hi)
{
    *lo = *hi = 0;
    if (idx < MAX_CPUS && ist >= 1 && ist <= IST_COUNT) {
        *lo = (uintptr_t)ist_stacks[idx][ist - 1];
        *hi = *lo + IST_STACK_SIZE;
    }
}
