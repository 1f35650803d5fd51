#ifndef SMMSYNC_SMM_RELOCATE_H
#define SMMSYNC_SMM_RELOCATE_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include "lib/mb2.h"

/* relocate.c: every CPU's SMBASE to its slot of the layout, one at a time. */
void smm_relocate_all(void);

/* The fixed physical ranges the harness writes before it has allocated
 * anything: the kernel image, the AP trampoline's page, and the default
 * SMBASE's entry point and save state (the relocation handler). Each must
 * be available RAM in the firmware's memory map. */
struct fixed_range { const char *what; uint64_t lo, hi; };
unsigned fixed_ranges(const struct fixed_range **r);
/* Whether the kernel's and the trampoline's ranges are RAM in 'mi'; if not,
 * 'why' names the first that is not, and where (at boot). */
bool fixed_ranges_ok(const struct mb2_info *mi, char *why, size_t len);
/* The same for the default SMBASE's window, which only relocation writes
 * (smm_setup: a firmware that keeps it, OVMF with SMM, is audited instead). */
bool reloc_window_ok(const struct mb2_info *mi, char *why, size_t len);
#endif
