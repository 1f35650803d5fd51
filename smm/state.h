/* What the steps of smm_setup() (smm/setup.c: region.c, relocate.c,
 * install.c) share: the embedded blobs, the sizes, and the state in
 * smm/state.c. Only the kernel-side SMM files include this. */
#ifndef SMMSYNC_SMM_STATE_H
#define SMMSYNC_SMM_STATE_H
#include <stdint.h>
#include <stdbool.h>
#include "smm/smm.h"

/* The three blobs kernel/blobs.asm embeds. */
extern const uint8_t smm_image_blob[], smm_image_blob_end[];
extern const uint8_t smm_stub_blob[], smm_stub_blob_end[];
extern const uint8_t smm_reloc_blob[], smm_reloc_blob_end[];

#define ASEG_BASE   0xA0000u
#define ASEG_SIZE   0x20000u
/* The TSEG sizes the q35 ESMRAMC register offers (0x9E bits 2:1), smallest
 * first: the layout takes the first that holds every CPU. */
#define TSEG_SIZES_MB { 1, 2, 8 }
/* Each CPU's SMM stack. The deepest call chain in the image takes about
 * 1 KiB (gcc -fstack-usage: smm_entry 144, rendezvous 304, the service,
 * command and wait frames under 200 each); 3 KiB leaves room and lets
 * 8 CPUs fit the A-segment with the 28 KiB image of 255-CPU builds. */
#define SMM_STACK   3072u
#define SMM_PT_SIZE (9u * 4096u)

static inline const struct smm_image_header *image_header(void)
{
    return (const struct smm_image_header *)smm_image_blob;
}

/* state.c: smm.why_not = fmt with one string. */
void smm_why(const char *fmt, const char *a);
#endif
