#ifndef SMMSYNC_IDT_H
#define SMMSYNC_IDT_H
#include <stdint.h>
#include "drivers/apic_regs.h"

/* Layout pushed by kernel/isr.asm (lowest address first). */
struct regs {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

#define VEC_NMI       2
#define VEC_DF        8
#define VEC_GP        13       /* a listed RDMSR resumes at its fixup (rdmsr_safe) */
#define VEC_MC        18
#define VEC_TIMER     0x40     /* BSP local APIC timer: the test watchdog */
#define VEC_IPI_TEST  0x41     /* fixed IPI used by SMI-vs-INTR tests */
#define VEC_WAKE      0x42     /* fixed IPI: wakes a halted idle AP (new on_cpu work) */
#define VEC_SPURIOUS  0xFF

/* The test watchdog's tick (main/testrun.c): the BSP's LVT timer, periodic.
 * The kernel lends it to SMM's halting waits (smm_config.lent_tick_lvt). */
#define LVT_WATCHDOG_TICK (VEC_TIMER | LVT_TIMER_PERIODIC)

typedef void (*irq_handler_t)(struct regs *r);

void idt_init(void);           /* build the IDT (BSP, once) */
void idt_load(void);           /* load it on this CPU */
void idt_set_handler(unsigned vec, irq_handler_t h);
#endif
