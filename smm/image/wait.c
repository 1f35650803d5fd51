/* The bounded wait every SMM wait is made of (rdv_port.h). Pure: the clock
 * and the relax step come from the port, so the host test runs it too. */
#include "smm/image/rdv_port.h"

bool smm_wait_until(bool (*done)(void *ctx), void *ctx, uint64_t end)
{
    for (;;) {
        if (done(ctx))
            return true;
        if (smm_clock() >= end)
            return done(ctx);    /* one last look: the bound is not a verdict on a late peer */
        smm_relax();
    }
}
