#ifndef SMMSYNC_PANIC_H
#define SMMSYNC_PANIC_H
struct regs;
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);
__attribute__((noreturn, format(printf, 2, 3))) void panic_regs(const struct regs *r, const char *fmt, ...);
#define BUG_ON(c) do { if (c) panic("BUG: %s at %s:%d", #c, __FILE__, __LINE__); } while (0)
#endif
