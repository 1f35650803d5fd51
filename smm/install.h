#ifndef SMMSYNC_SMM_INSTALL_H
#define SMMSYNC_SMM_INSTALL_H

/* install.c: the image, its configuration, page tables and the stubs. */
void smm_install_image(void);
#endif
