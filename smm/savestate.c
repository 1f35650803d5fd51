/* Offsets from SMBASE + 0xFE00. AMD64 map: AMD APM vol. 2 table 10-2 and
 * QEMU target/i386/tcg/sysemu/smm_helper.c (64-bit branch); the 32-bit map:
 * SDM vol. 3C table 34-1 and the same file's 32-bit branch. */
#include "smm/savestate.h"
#include "lib/kstring.h"

struct loc { uint16_t off; uint8_t size; };   /* size 0: absent */

static const struct loc amd64[SS_FIELD_COUNT] = {
    [SS_RAX] = { 0x1F8, 8 }, [SS_RCX] = { 0x1F0, 8 }, [SS_RDX] = { 0x1E8, 8 },
    [SS_RBX] = { 0x1E0, 8 }, [SS_RSP] = { 0x1D8, 8 }, [SS_RBP] = { 0x1D0, 8 },
    [SS_RSI] = { 0x1C8, 8 }, [SS_RDI] = { 0x1C0, 8 },
    [SS_R8] = { 0x1B8, 8 }, [SS_R9] = { 0x1B0, 8 }, [SS_R10] = { 0x1A8, 8 },
    [SS_R11] = { 0x1A0, 8 }, [SS_R12] = { 0x198, 8 }, [SS_R13] = { 0x190, 8 },
    [SS_R14] = { 0x188, 8 }, [SS_R15] = { 0x180, 8 },
    [SS_RIP] = { SS64_OFF_RIP, 8 }, [SS_RFLAGS] = { 0x170, 8 },
    [SS_CR0] = { SS64_OFF_CR0, 8 }, [SS_CR3] = { 0x150, 8 }, [SS_CR4] = { 0x148, 8 },
    [SS_EFER] = { SS64_OFF_EFER, 8 }, [SS_DR6] = { 0x168, 8 }, [SS_DR7] = { 0x160, 8 },
    [SS_ES_SEL] = { 0x000, 2 }, [SS_CS_SEL] = { SS64_OFF_CS_SEL, 2 }, [SS_SS_SEL] = { 0x020, 2 },
    [SS_DS_SEL] = { 0x030, 2 }, [SS_FS_SEL] = { 0x040, 2 }, [SS_GS_SEL] = { 0x050, 2 },
    [SS_ES_BASE] = { 0x008, 8 }, [SS_CS_BASE] = { SS64_OFF_CS_BASE, 8 }, [SS_SS_BASE] = { 0x028, 8 },
    [SS_DS_BASE] = { 0x038, 8 }, [SS_FS_BASE] = { 0x048, 8 }, [SS_GS_BASE] = { 0x058, 8 },
    [SS_CS_LIMIT] = { 0x014, 4 }, [SS_CS_ATTR] = { 0x012, 2 },
    [SS_GDTR_BASE] = { 0x068, 8 }, [SS_GDTR_LIMIT] = { 0x064, 4 },
    [SS_IDTR_BASE] = { 0x088, 8 }, [SS_IDTR_LIMIT] = { 0x084, 4 },
    [SS_SMBASE] = { SS64_OFF_SMBASE, 4 }, [SS_REVISION] = { SS_OFF_REVISION, 4 },
    [SS_ES_ATTR] = { 0x002, 2 }, [SS_ES_LIMIT] = { 0x004, 4 }, [SS_SS_ATTR] = { 0x022, 2 },
    [SS_SS_LIMIT] = { 0x024, 4 }, [SS_DS_ATTR] = { 0x032, 2 }, [SS_DS_LIMIT] = { 0x034, 4 },
    [SS_FS_ATTR] = { 0x042, 2 }, [SS_FS_LIMIT] = { 0x044, 4 }, [SS_GS_ATTR] = { 0x052, 2 },
    [SS_GS_LIMIT] = { 0x054, 4 }, [SS_LDTR_SEL] = { 0x070, 2 }, [SS_TR_SEL] = { 0x090, 2 },
};

static const struct loc ia32[SS_FIELD_COUNT] = {
    [SS_RAX] = { 0x1D0, 4 }, [SS_RCX] = { 0x1D4, 4 }, [SS_RDX] = { 0x1D8, 4 },
    [SS_RBX] = { 0x1DC, 4 }, [SS_RSP] = { 0x1E0, 4 }, [SS_RBP] = { 0x1E4, 4 },
    [SS_RSI] = { 0x1E8, 4 }, [SS_RDI] = { 0x1EC, 4 },
    [SS_RIP] = { SS32_OFF_EIP, 4 }, [SS_RFLAGS] = { 0x1F4, 4 },
    [SS_CR0] = { SS32_OFF_CR0, 4 }, [SS_CR3] = { 0x1F8, 4 }, [SS_CR4] = { 0x114, 4 },
    [SS_DR6] = { 0x1CC, 4 }, [SS_DR7] = { 0x1C8, 4 },
    [SS_ES_SEL] = { 0x1A8, 4 }, [SS_CS_SEL] = { SS32_OFF_CS_SEL, 4 }, [SS_SS_SEL] = { 0x1B0, 4 },
    [SS_DS_SEL] = { 0x1B4, 4 }, [SS_FS_SEL] = { 0x1B8, 4 }, [SS_GS_SEL] = { 0x1BC, 4 },
    [SS_ES_BASE] = { 0x18C, 4 }, [SS_CS_BASE] = { SS32_OFF_CS_BASE, 4 }, [SS_SS_BASE] = { 0x1A4, 4 },
    [SS_DS_BASE] = { 0x134, 4 }, [SS_FS_BASE] = { 0x140, 4 }, [SS_GS_BASE] = { 0x14C, 4 },
    [SS_CS_LIMIT] = { 0x194, 4 }, [SS_CS_ATTR] = { 0x190, 4 },
    [SS_GDTR_BASE] = { 0x174, 4 }, [SS_GDTR_LIMIT] = { 0x170, 4 },
    [SS_IDTR_BASE] = { 0x158, 4 }, [SS_IDTR_LIMIT] = { 0x154, 4 },
    [SS_SMBASE] = { SS32_OFF_SMBASE, 4 }, [SS_REVISION] = { SS_OFF_REVISION, 4 },
    [SS_ES_ATTR] = { 0x184, 4 }, [SS_ES_LIMIT] = { 0x188, 4 }, [SS_SS_ATTR] = { 0x19C, 4 },
    [SS_SS_LIMIT] = { 0x1A0, 4 }, [SS_DS_ATTR] = { 0x12C, 4 }, [SS_DS_LIMIT] = { 0x130, 4 },
    [SS_FS_ATTR] = { 0x138, 4 }, [SS_FS_LIMIT] = { 0x13C, 4 }, [SS_GS_ATTR] = { 0x144, 4 },
    [SS_GS_LIMIT] = { 0x148, 4 }, [SS_LDTR_SEL] = { 0x1C0, 4 }, [SS_TR_SEL] = { 0x1C4, 4 },
};

static const char *const names[SS_FIELD_COUNT] = {
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
    "rip", "rflags", "cr0", "cr3", "cr4", "efer", "dr6", "dr7",
    "es", "cs", "ss", "ds", "fs", "gs",
    "es.base", "cs.base", "ss.base", "ds.base", "fs.base", "gs.base",
    "cs.limit", "cs.attr", "gdtr.base", "gdtr.limit", "idtr.base", "idtr.limit",
    "smbase", "revision",
    "es.limit", "es.attr", "ss.limit", "ss.attr", "ds.limit", "ds.attr",
    "fs.limit", "fs.attr", "gs.limit", "gs.attr", "ldtr", "tr",
};

uint32_t ss_revision(const uint8_t *ss)
{
    uint32_t r;
    memcpy(&r, ss + SS_OFF_REVISION, 4);
    return r;
}

/* The low 16 bits name the map; bit 17 (SMBASE relocation) is set by
 * every implementation we know, so an all-zero area is not a 32-bit map. */
enum ss_map ss_map_of(const uint8_t *ss)
{
    uint32_t rev = ss_revision(ss), r = rev & 0xFFFF;
    if (r == (SS_REV_AMD64 & 0xFFFF))
        return SS_MAP_AMD64;
    if (r == (SS_REV_IA32 & 0xFFFF) && (rev & SS_REV_SMBASE_RELOC))
        return SS_MAP_IA32;
    return SS_MAP_UNKNOWN;
}

static const struct loc *locate(const uint8_t *ss, enum ss_field f)
{
    if ((unsigned)f >= SS_FIELD_COUNT)
        return 0;
    switch (ss_map_of(ss)) {
    case SS_MAP_AMD64: return amd64[f].size ? &amd64[f] : 0;
    case SS_MAP_IA32: return ia32[f].size ? &ia32[f] : 0;
    default: return 0;
    }
}

bool ss_get(const uint8_t *ss, enum ss_field f, uint64_t *v)
{
    const struct loc *l = locate(ss, f);
    if (!l)
        return false;
    uint64_t x = 0;
    memcpy(&x, ss + l->off, l->size);     /* little-endian */
    *v = x;
    return true;
}

bool ss_set(uint8_t *ss, enum ss_field f, uint64_t v)
{
    const struct loc *l = locate(ss, f);
    if (!l || f == SS_REVISION)
        return false;
    memcpy(ss + l->off, &v, l->size);
    return true;
}

const char *ss_field_name(enum ss_field f)
{
    return (unsigned)f < SS_FIELD_COUNT ? names[f] : "?";
}

static bool flag_loc(const uint8_t *ss, enum ss_flag f, unsigned *off, unsigned *size)
{
    enum ss_map m = ss_map_of(ss);
    if (m == SS_MAP_AMD64) {
        *off = f == SS_FLAG_AUTO_HALT ? SS64_OFF_AUTO_HALT : SS64_OFF_IO_RESTART;
        *size = 1;
    } else if (m == SS_MAP_IA32) {
        *off = f == SS_FLAG_AUTO_HALT ? SS32_OFF_AUTO_HALT : SS32_OFF_IO_RESTART;
        *size = 2;
    } else {
        return false;
    }
    return true;
}

bool ss_flag_get(const uint8_t *ss, enum ss_flag f, uint32_t *v)
{
    unsigned off, size;
    if (!flag_loc(ss, f, &off, &size))
        return false;
    *v = ss[off] | (size == 2 ? (uint32_t)ss[off + 1] << 8 : 0);
    return true;
}

bool ss_flag_set(uint8_t *ss, enum ss_flag f, uint32_t v)
{
    unsigned off, size;
    if (!flag_loc(ss, f, &off, &size))
        return false;
    ss[off] = (uint8_t)v;
    if (size == 2)
        ss[off + 1] = (uint8_t)(v >> 8);
    return true;
}
