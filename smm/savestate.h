/* Save-state map accessors for both maps QEMU/KVM write, chosen by the
 * revision ID the CPU stored: 0x00020064 (AMD64 map, TCG always; KVM for
 * guests with long mode) and 0x00020000 (the 32-bit map). 'ss' points at
 * SMBASE + 0xFE00 (512 bytes). Pure code: kernel, SMM image, host tests. */
#ifndef SMMSYNC_SAVESTATE_H
#define SMMSYNC_SAVESTATE_H
#include <stdint.h>
#include <stdbool.h>

#define SS_REV_AMD64      0x00020064u
#define SS_REV_IA32       0x00020000u
#define SS_REV_SMBASE_RELOC (1u << 17)   /* SDM 34.5.1: SMBASE relocation supported */
#define SS_REV_IO_RESTART   (1u << 16)   /* SDM 34.12: I/O instruction restart supported */

/* Offsets from SMBASE + 0xFE00 of the fields the relocation handler
 * (smm/reloc.asm) uses as well: savestate.c's tables and the generated
 * build/gen/asm-offsets.inc (tools/asm-offsets.c: SS_REV, SS64_*, SS32_*,
 * from SMBASE) both take them from here. */
#define SS_OFF_REVISION   0x0FCu       /* both maps */
#define SS64_OFF_SMBASE   0x100u
#define SS64_OFF_EFER     0x0D0u
#define SS64_OFF_CR0      0x158u
#define SS64_OFF_RIP      0x178u
#define SS64_OFF_CS_SEL   0x010u
#define SS64_OFF_CS_BASE  0x018u
#define SS32_OFF_SMBASE   0x0F8u
#define SS32_OFF_EIP      0x1F0u
#define SS32_OFF_CR0      0x1FCu
#define SS32_OFF_CS_SEL   0x1ACu
#define SS32_OFF_CS_BASE  0x198u
#define SS_REV_AMD64_LOW  (SS_REV_AMD64 & 0xFFFFu)   /* the map, without the feature bits */

enum ss_field {
    SS_RAX, SS_RCX, SS_RDX, SS_RBX, SS_RSP, SS_RBP, SS_RSI, SS_RDI,
    SS_R8, SS_R9, SS_R10, SS_R11, SS_R12, SS_R13, SS_R14, SS_R15,
    SS_RIP, SS_RFLAGS, SS_CR0, SS_CR3, SS_CR4, SS_EFER, SS_DR6, SS_DR7,
    SS_ES_SEL, SS_CS_SEL, SS_SS_SEL, SS_DS_SEL, SS_FS_SEL, SS_GS_SEL,
    SS_ES_BASE, SS_CS_BASE, SS_SS_BASE, SS_DS_BASE, SS_FS_BASE, SS_GS_BASE,
    SS_CS_LIMIT, SS_CS_ATTR,
    SS_GDTR_BASE, SS_GDTR_LIMIT, SS_IDTR_BASE, SS_IDTR_LIMIT,
    SS_SMBASE, SS_REVISION,
    SS_ES_LIMIT, SS_ES_ATTR, SS_SS_LIMIT, SS_SS_ATTR, SS_DS_LIMIT, SS_DS_ATTR,
    SS_FS_LIMIT, SS_FS_ATTR, SS_GS_LIMIT, SS_GS_ATTR, SS_LDTR_SEL, SS_TR_SEL,
    SS_FIELD_COUNT
};

enum ss_map { SS_MAP_UNKNOWN, SS_MAP_AMD64, SS_MAP_IA32 };

enum ss_map ss_map_of(const uint8_t *ss);
uint32_t ss_revision(const uint8_t *ss);
/* false: the field does not exist in this map (e.g. R8 in the 32-bit map). */
bool ss_get(const uint8_t *ss, enum ss_field f, uint64_t *v);
bool ss_set(uint8_t *ss, enum ss_field f, uint64_t v);
const char *ss_field_name(enum ss_field f);

/* The restart fields (SDM vol. 3C 34.10 auto HALT restart, 34.12 I/O
 * instruction restart): bytes at FEC9h / FEC8h in the AMD64 map (AMD APM
 * vol. 2 table 10-2), words at FF02h / FF00h in the 32-bit map (SDM table
 * 34-1). Bit 0 is the flag. false: no such map. */
enum ss_flag { SS_FLAG_AUTO_HALT, SS_FLAG_IO_RESTART };
#define SS64_OFF_IO_RESTART 0x0C8u
#define SS64_OFF_AUTO_HALT  0x0C9u
#define SS32_OFF_IO_RESTART 0x100u
#define SS32_OFF_AUTO_HALT  0x102u
bool ss_flag_get(const uint8_t *ss, enum ss_flag f, uint32_t *v);
bool ss_flag_set(uint8_t *ss, enum ss_flag f, uint32_t v);
#endif
