/* The state the steps of smm_setup() share, and the communication area
 * the handler writes its records to. */
#include "smm/state.h"
#include "lib/printf.h"

struct smm_state smm;
struct smm_comm smm_comm __attribute__((aligned(4096)));

void smm_why(const char *fmt, const char *a)
{
    ksnprintf(smm.why_not, sizeof(smm.why_not), fmt, a);
}

uint32_t smm_image_mut_size(void)
{
    return image_header()->mut_size;
}
