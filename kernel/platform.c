/* The machine facts (kernel/platform.h) and the skip reasons made of them. */
#include "kernel/platform.h"
#include "lib/printf.h"

struct platform platform;

const char *platform_missing(uint32_t missing, char *buf, unsigned len)
{
    if (missing & FEAT_SMM)
        ksnprintf(buf, len, "no SMM: %s", platform.smm_why_not ? platform.smm_why_not : "?");
    else if (missing & FEAT_Q35)
        ksnprintf(buf, len, "q35 only (this is %s)", platform.machine_name);
    else if (missing & FEAT_PC)
        ksnprintf(buf, len, "pc only (this is %s)", platform.machine_name);
    else if (missing & FEAT_TCG)
        ksnprintf(buf, len, "TCG only (this is %s)", platform.accel_name);
    else if (missing & FEAT_KVM)
        ksnprintf(buf, len, "KVM only (this is %s)", platform.accel_name);
    else if (missing & FEAT_TSEG)
        ksnprintf(buf, len, "needs SMRAM in TSEG");
    else if (missing & FEAT_FW_SMM)
        ksnprintf(buf, len, "audits a firmware's own SMM (--firmware ovmf-smm)");
    else
        ksnprintf(buf, len, "platform lacks features 0x%x", missing);
    return buf;
}
