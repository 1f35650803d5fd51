#ifndef SMMSYNC_SMM_REGION_H
#define SMMSYNC_SMM_REGION_H
#include <stdbool.h>

/* region.c: chooses the SMRAM region and computes the layout into smm;
 * false with smm.why_not set. */
bool smm_choose_layout(void);
#endif
