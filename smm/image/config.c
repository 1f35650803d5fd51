/* The image's configuration: struct smm_config, which the kernel's
 * installer fills in (smm/install.c; its offset is in the image header), the
 * GDT the stubs load, and the limits commands are checked against. */
#include "smm/image/smm.h"
#include "smm/cmd.h"

struct smm_config smm_config __attribute__((aligned(64)));

/* The GDT the stubs load by physical address: the kernel's selectors and
 * descriptors (arch/x86.h), the first four of them. */
uint64_t smm_gdt[GDT_CODE32 / 8 + 1] __attribute__((aligned(16))) = {
    [GDT_CODE64 / 8] = GDT_DESC_CODE64,
    [GDT_DATA / 8] = GDT_DESC_DATA,
    [GDT_CODE32 / 8] = GDT_DESC_CODE32,
};
_Static_assert(sizeof(smm_gdt) == 32, "smm_gdt_end below");
extern char smm_gdt_end[];
__asm__(".pushsection .data\n.global smm_gdt_end\nsmm_gdt_end = smm_gdt + 32\n.popsection");

struct smm_cmd_limits smm_limits(void)
{
    return (struct smm_cmd_limits){
        .buf_phys = smm_config.comm_phys + __builtin_offsetof(struct smm_comm, buf),
        .buf_len = SMM_COMM_BUF,
        .smram_base = smm_config.smram_base,
        .smram_size = smm_config.smram_size,
        .ncpus = smm_config.ncpus,
    };
}
