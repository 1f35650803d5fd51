/* QEMU's SMI feature negotiation over fw_cfg (the etc/smi files). */
#ifndef SMMSYNC_FWCFG_SMI_H
#define SMMSYNC_FWCFG_SMI_H
#include <stdbool.h>
/* Asks for SMI broadcast (every CPU takes an APM SMI); false with the
 * reason in 'why' when the machine or the host does not offer it. */
bool fwcfg_smi_broadcast(char *why, unsigned whylen);
#endif
