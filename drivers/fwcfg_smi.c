/* q35: ask QEMU to broadcast APM SMIs to every CPU (the fw_cfg etc/smi files, in
 * the order docs/PLATFORM.md Q5 gives: read supported, DMA-write requested,
 * then select features-ok, which validates and locks until reset). */
#include "drivers/fwcfg_smi.h"
#include "drivers/fwcfg.h"
#include "lib/printf.h"

bool fwcfg_smi_broadcast(char *whyb, unsigned whylen)
{
    uint16_t s_sup, s_req, s_ok;
    uint32_t z_sup, z_req, z_ok;
    if (!fwcfg_find("etc/smi/supported-features", &s_sup, &z_sup) ||
        !fwcfg_find("etc/smi/requested-features", &s_req, &z_req) ||
        !fwcfg_find("etc/smi/features-ok", &s_ok, &z_ok) || z_sup != 8 || z_req != 8 || z_ok != 1) {
        ksnprintf(whyb, whylen, "no etc/smi/* fw_cfg files (machine type without SMI negotiation)");
        return false;
    }
    uint64_t sup;
    fwcfg_read(s_sup, &sup, 8);
    if (!(sup & 1)) {
        ksnprintf(whyb, whylen, "host does not offer SMI broadcast (supported=0x%lx)", sup);
        return false;
    }
    static uint64_t req __attribute__((aligned(8)));
    req = 1;                        /* BROADCAST only */
    if (!fwcfg_has_dma() || !fwcfg_dma_write(s_req, &req, 8)) {
        ksnprintf(whyb, whylen, "fw_cfg DMA write of requested-features failed");
        return false;
    }
    uint8_t ok = 0;
    fwcfg_read(s_ok, &ok, 1);
    if (ok != 1) {
        ksnprintf(whyb, whylen, "features-ok reads %u", ok);
        return false;
    }
    return true;
}
