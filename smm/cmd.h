/* Validation of the commands the OS hands to SMM. Pure code (kernel, SMM
 * image, host tests and fuzzers). The SMM handler copies the command into
 * SMRAM first and validates the copy, so a CPU rewriting the page during the
 * SMI cannot change what was checked. */
#ifndef SMMSYNC_CMD_H
#define SMMSYNC_CMD_H
#include <stdint.h>
#include "smm/smm_abi.h"

struct smm_cmd_limits {
    uint64_t buf_phys, buf_len;          /* the only memory commands may name */
    uint64_t smram_base, smram_size;
    unsigned ncpus;
};

/* SMM_OK or a negative enum smm_status. */
int smm_cmd_validate(const struct smm_cmd *c, const struct smm_cmd_limits *lim);
int smm_local_validate(uint32_t op, uint64_t arg, const struct smm_cmd_limits *lim);
/* [p, p+len) lies inside the buffer and not in SMRAM. */
int smm_range_ok(uint64_t p, uint64_t len, const struct smm_cmd_limits *lim);
#endif
