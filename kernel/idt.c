/* The IDT: exceptions panic with a register dump; a few vectors have
 * handlers installed by the drivers and tests. SDM vol. 3A 6.14. */
#include "kernel/idt.h"
#include "kernel/panic.h"
#include "arch/x86.h"
#include "arch/percpu.h"
#include "drivers/pic.h"

struct idt_gate {
    uint16_t off_lo, sel;
    uint8_t ist, type;
    uint16_t off_mid;
    uint32_t off_hi, zero;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));
static irq_handler_t handlers[256];
extern const uint64_t isr_table[256];

/* NMI, double fault and machine check run on their own stacks (arch/percpu.h):
 * every CPU loads its TSS before this IDT. */
static uint8_t ist_of(unsigned v)
{
    return v == VEC_NMI ? IST_NMI : v == VEC_DF ? IST_DF : v == VEC_MC ? IST_MC : 0;
}

void idt_init(void)
{
    for (unsigned v = 0; v < 256; v++) {
        uint64_t a = isr_table[v];
        idt[v] = (struct idt_gate){
            .off_lo = (uint16_t)a, .sel = GDT_CODE64, .ist = ist_of(v),
            .type = 0x8E,  /* present, DPL0, 64-bit interrupt gate */
            .off_mid = (uint16_t)(a >> 16), .off_hi = (uint32_t)(a >> 32),
        };
    }
}

void idt_load(void)
{
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) d = {
        sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
    __asm__ volatile("lidt %0" :: "m"(d));
}

void idt_set_handler(unsigned vec, irq_handler_t h)
{
    if (vec < 256)
        handlers[vec] = h;
}

extern const struct ex_entry __ex_table_start[], __ex_table_end[];

/* A fault at an instruction the exception table lists resumes at its fixup. */
static bool ex_fixup(struct regs *r)
{
    for (const struct ex_entry *e = __ex_table_start; e < __ex_table_end; e++)
        if (e->insn == r->rip) {
            r->rip = e->fixup;
            return true;
        }
    return false;
}

void isr_dispatch(struct regs *r)
{
    irq_handler_t h = handlers[r->vector & 0xFF];
    if (h) {
        h(r);
        return;
    }
    /* Spurious: the local APIC's, and the masked 8259s' IRQ7/IRQ15. */
    if (r->vector == VEC_SPURIOUS || r->vector == PIC_VECTOR_BASE + 7 || r->vector == PIC_VECTOR_BASE + 15)
        return;
    if (r->vector == VEC_DF)     /* on its own stack (IST_DF), so it can be told */
        panic_regs(r, "double fault: an exception could not be delivered (interrupted RSP 0x%lx)", r->rsp);
    if (r->vector == VEC_GP && ex_fixup(r))
        return;
    if (r->vector < 32) {
        panic_regs(r, "unhandled exception %lu (error 0x%lx)", r->vector, r->error);
    }
    panic_regs(r, "unexpected interrupt vector %lu", r->vector);
}
