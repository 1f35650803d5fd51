/* The serial console: every line a CPU prints comes out whole. */
#include "kernel/console.h"
#include "lib/printf.h"
#include "arch/spinlock.h"
#include "arch/percpu.h"
#include "drivers/uart.h"

static struct spinlock console_lock = SPINLOCK_INIT;

void console_init(void)
{
    uart_init();
}

static void put_locked(const char *s)
{
    for (; *s; s++) {
        if (*s == '\n')
            uart_putc('\r');
        uart_putc(*s);
    }
}

static void lock(void)
{
    /* Bounded: a CPU that died holding the lock must not silence the rest. */
    for (unsigned long i = 0; !spin_trylock(&console_lock); i++) {
        if (i > 50000000UL)
            return;
        cpu_relax();
    }
    console_lock.owner = (int32_t)cpu_index();
}

void kputs(const char *s)
{
    lock();
    put_locked(s);
    spin_unlock(&console_lock);
}

int kvprintf(const char *fmt, va_list ap)
{
    char buf[512];
    int n = kvsnprintf(buf, sizeof(buf), fmt, ap);
    kputs(buf);
    return n;
}

int kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = kvprintf(fmt, ap);
    va_end(ap);
    return n;
}

void console_break_lock(void)
{
    if (console_lock.locked && console_lock.owner == (int32_t)cpu_index())
        spin_unlock(&console_lock);
}
