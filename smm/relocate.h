#ifndef SMMSYNC_SMM_RELOCATE_H
#define SMMSYNC_SMM_RELOCATE_H

/* relocate.c: every CPU's SMBASE to its slot of the layout, one at a time. */
void smm_relocate_all(void);
#endif
