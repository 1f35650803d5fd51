/* Hardware SMI status: the ICH9 TCO block (QEMU hw/acpi/tco.c). */
#include "smm/image/smm.h"
#include "drivers/ich9_tco.h"

uint32_t tco_status(void)
{
    if (!smm_config.tco_base)
        return 0;
    return inw((uint16_t)(smm_config.tco_base + TCO1_STS)) &
           (TCO1_STS_SW_TCO_SMI | TCO1_STS_TIMEOUT);
}

uint32_t tco_pending_clear(void)
{
    uint32_t s = tco_status();
    if (s)  /* QEMU stores (value & mask) here; writing 0 clears */
        outw((uint16_t)(smm_config.tco_base + TCO1_STS), 0);
    return s;
}
