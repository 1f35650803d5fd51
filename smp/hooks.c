/* The hooks the layer above registers for the power transitions
 * (smp/power.h): kept apart from power.c so that smp.c, which marks a
 * started AP active, and power.c both call down into this file and
 * neither into the other. */
#include "smp/power.h"

static const struct power_hooks *hooks;

void power_set_hooks(const struct power_hooks *h)
{
    hooks = h;
}

void power_self(enum power_state s)
{
    if (hooks && hooks->self)
        hooks->self(s);
}

bool power_busy(unsigned cpu)
{
    return hooks && hooks->busy && hooks->busy(cpu);
}
