/* The power transitions of patent claims 11-14: HLT park, INIT park and
 * their wakes (smp/power.c; the hooks: smp/hooks.c). They are the only paths that change a started
 * CPU's power state. Each tells the layer above through the hooks it
 * registered (SMM keeps the CPU's synchbyte in step: smm/synch.c), so smp
 * never calls up into smm. */
#ifndef SMMSYNC_POWER_H
#define SMMSYNC_POWER_H
#include <stdbool.h>

enum power_state { POWER_INACTIVE, POWER_ACTIVE };

struct power_hooks {
    void (*self)(enum power_state s);   /* this CPU enters s (runs on it) */
    bool (*busy)(unsigned cpu);         /* cpu must not be sent an INIT now (in SMM) */
};
/* Registered once, before the APs start; without hooks nothing is told. */
void power_set_hooks(const struct power_hooks *h);
/* This CPU's transition, told to the hook (claims 12, 13). */
void power_self(enum power_state s);
/* Whether cpu must not be sent an INIT now (the hook's answer; false without). */
bool power_busy(unsigned cpu);

bool cpu_park_hlt(unsigned cpu);
bool cpu_wake_hlt(unsigned cpu);
bool cpu_park_init(unsigned cpu);
bool cpu_wake_sipi(unsigned cpu);
#endif
