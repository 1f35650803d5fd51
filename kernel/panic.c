/* Panic: name the CPU, dump its registers, close the TAP stream so the
 * host sees a well-formed failing run, and leave with the crash verdict. */
#include <stdarg.h>
#include "kernel/panic.h"
#include "kernel/idt.h"
#include "kernel/console.h"
#include "lib/printf.h"
#include "arch/percpu.h"
#include "kernel/report.h"
#include "arch/x86.h"
#include "drivers/debugexit.h"

static volatile int panicking = -1;

static void dump_regs(const struct regs *r)
{
    kprintf("# RIP=%016lx CS=%04lx RFLAGS=%08lx RSP=%016lx SS=%04lx\n",
            r->rip, r->cs, r->rflags, r->rsp, r->ss);
    kprintf("# RAX=%016lx RBX=%016lx RCX=%016lx RDX=%016lx\n", r->rax, r->rbx, r->rcx, r->rdx);
    kprintf("# RSI=%016lx RDI=%016lx RBP=%016lx R8 =%016lx\n", r->rsi, r->rdi, r->rbp, r->r8);
    kprintf("# R9 =%016lx R10=%016lx R11=%016lx R12=%016lx\n", r->r9, r->r10, r->r11, r->r12);
    kprintf("# R13=%016lx R14=%016lx R15=%016lx\n", r->r13, r->r14, r->r15);
    kprintf("# CR0=%016lx CR2=%016lx CR3=%016lx CR4=%016lx\n",
            read_cr0(), read_cr2(), read_cr3(), read_cr4());
}

static __attribute__((noreturn)) void vpanic(const struct regs *r, const char *fmt, va_list ap)
{
    char msg[256];
    cli();
    int me = (int)cpu_index();
    /* Only the first CPU to panic reports; the others stop quietly. */
    int expected = -1;
    if (!__atomic_compare_exchange_n(&panicking, &expected, me, false,
                                     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        for (;;)
            hlt();
    console_break_lock();
    kvsnprintf(msg, sizeof(msg), fmt, ap);
    kprintf("# PANIC on CPU %d (APIC ID %u): %s\n", me, this_percpu()->apic_id, msg);
    if (this_percpu()->where)
        kprintf("# CPU %d was in: %s\n", me, this_percpu()->where);
    if (r)
        dump_regs(r);
    report_panic_summary(msg);
    debug_exit(VERDICT_CRASH);
}

void panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vpanic(0, fmt, ap);
}

void panic_regs(const struct regs *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vpanic(r, fmt, ap);
}
