#ifndef SMMSYNC_CONSOLE_H
#define SMMSYNC_CONSOLE_H
#include <stdarg.h>
void console_init(void);
void kputs(const char *s);
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kvprintf(const char *fmt, va_list ap);
/* Drop the console lock if the current CPU holds it (panic/timeout paths). */
void console_break_lock(void);
#endif
