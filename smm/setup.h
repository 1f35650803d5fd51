/* The steps of smm_setup() (smm/setup.c), one file each, and what they
 * share. Only the kernel-side SMM files include this. */
#ifndef SMMSYNC_SMM_SETUP_H
#define SMMSYNC_SMM_SETUP_H
#include <stdint.h>
#include <stdbool.h>
#include "smm/smm.h"

/* The three blobs kernel/blobs.asm embeds. */
extern const uint8_t smm_image_blob[], smm_image_blob_end[];
extern const uint8_t smm_stub_blob[], smm_stub_blob_end[];
extern const uint8_t smm_reloc_blob[], smm_reloc_blob_end[];

#define ASEG_BASE   0xA0000u
#define ASEG_SIZE   0x20000u
#define TSEG_MB     1
#define SMM_STACK   4096u
#define SMM_PT_SIZE (9u * 4096u)
#define CMOS_SYNCH_INDEX 0x60     /* CMOS NVRAM bytes 0x60-0x7F: unused by SeaBIOS/QEMU */

static inline const struct smm_image_header *image_header(void)
{
    return (const struct smm_image_header *)smm_image_blob;
}

/* setup.c: smm.why_not = fmt with one string. */
void smm_why(const char *fmt, const char *a);
/* region.c: chooses the SMRAM region and computes the layout into smm;
 * false with smm.why_not set. */
bool smm_choose_layout(void);
/* relocate.c: every CPU's SMBASE to its slot of the layout, one at a time. */
void smm_relocate_all(void);
/* install.c: the image, its configuration, page tables and the stubs. */
void smm_install_image(void);
#endif
