/*
 * mb2.h - Multiboot2 boot-information parser (Multiboot2 spec 2.0, §3.6).
 *
 * Pure code: it only reads the buffer it is given, so the same parser runs
 * in the kernel and in host unit tests.  Everything it returns is copied
 * into struct mb2_info, so the caller may reuse the memory afterwards.
 */
#ifndef SMMSYNC_MB2_H
#define SMMSYNC_MB2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Value in EAX when a Multiboot2 loader enters the OS image (§3.3). */
#define MB2_BOOTLOADER_MAGIC 0x36d76289u

/* Tag types (§3.6.2 - §3.6.23). */
#define MB2_TAG_END              0u
#define MB2_TAG_CMDLINE          1u     /* §3.6.5 */
#define MB2_TAG_LOADER_NAME      2u     /* §3.6.9 */
#define MB2_TAG_MODULE           3u     /* §3.6.6 */
#define MB2_TAG_BASIC_MEMINFO    4u     /* §3.6.3 */
#define MB2_TAG_BOOTDEV          5u     /* §3.6.4 */
#define MB2_TAG_MMAP             6u     /* §3.6.8 */
#define MB2_TAG_VBE              7u     /* §3.6.11 */
#define MB2_TAG_FRAMEBUFFER      8u     /* §3.6.12 */
#define MB2_TAG_ELF_SECTIONS     9u     /* §3.6.7 */
#define MB2_TAG_APM             10u     /* §3.6.10 */
#define MB2_TAG_EFI32           11u     /* §3.6.13 */
#define MB2_TAG_EFI64           12u     /* §3.6.14 */
#define MB2_TAG_SMBIOS          13u     /* §3.6.15 */
#define MB2_TAG_ACPI_OLD        14u     /* §3.6.16: copy of ACPI 1.0 RSDP */
#define MB2_TAG_ACPI_NEW        15u     /* §3.6.17: copy of ACPI 2.0+ RSDP */
#define MB2_TAG_NETWORK         16u
#define MB2_TAG_EFI_MMAP        17u
#define MB2_TAG_EFI_BS          18u
#define MB2_TAG_EFI32_IH        19u
#define MB2_TAG_EFI64_IH        20u
#define MB2_TAG_LOAD_BASE_ADDR  21u

/* Memory map entry types (§3.6.8). */
#define MB2_MMAP_AVAILABLE        1u
#define MB2_MMAP_RESERVED         2u
#define MB2_MMAP_ACPI_RECLAIMABLE 3u
#define MB2_MMAP_NVS              4u
#define MB2_MMAP_BADRAM           5u

/* Error codes returned (negated) by mb2_parse. */
enum mb2_err {
    MB2_OK = 0,
    MB2_ERR_ARG = -1,   /* NULL pointer / misaligned info */
    MB2_ERR_TOTAL = -2, /* fixed part (total_size/reserved) bad */
    MB2_ERR_TAG = -3,   /* tag header bad or overruns the info */
    MB2_ERR_NO_END = -4,        /* no valid end tag */
    MB2_ERR_MMAP = -5,  /* memory map tag malformed */
    MB2_ERR_STRING = -6,        /* cmdline / loader name not terminated */
    MB2_ERR_RSDP = -7,  /* ACPI RSDP tag malformed */
    MB2_ERR_DUP = -8,   /* a tag that must be unique appears twice */
};

struct mb2_mmap_entry {
    uint64_t addr, len;
    uint32_t type;
};

#define MB2_MAX_MMAP 128

struct mb2_info {
    bool has_cmdline;
    char cmdline[1024]; /* truncated (still NUL-terminated) if longer */
    bool has_loader;
    char loader[64];    /* truncated (still NUL-terminated) if longer */
    bool has_mmap;
    unsigned mmap_count;
    struct mb2_mmap_entry mmap[MB2_MAX_MMAP];
    bool has_rsdp;
    int rsdp_version;   /* 1 = ACPI 1.0 tag 14, 2 = ACPI 2.0+ tag 15 */
    unsigned rsdp_len;  /* bytes valid in rsdp[] (tag payload, max 64) */
    uint8_t rsdp[64];   /* a copy of the RSDP bytes from the tag */
    unsigned tag_count; /* tags seen, not counting the end tag */
};

/*
 * Parse the boot information at mbi.  `avail` is how many bytes the caller
 * guarantees are readable there; nothing outside
 * [mbi, mbi + min(total_size, avail)) is read.  Returns 0 or a negative
 * enum mb2_err; on error a one-line message is written to err (if
 * errlen > 0) and *out is only partly filled, so must not be used.
 * Missing tags are not errors: the has_* flags stay false.
 */
int mb2_parse(const void *mbi, size_t avail, struct mb2_info *out,
          char *err, size_t errlen);

/*
 * Whether [lo, hi) lies in available RAM (type 1) of the memory map, as one
 * entry or several adjacent ones (a UEFI firmware's map is split by what it
 * used the RAM for). If not, *first_bad is the first address that is not.
 */
bool mb2_ram_covers(const struct mb2_info *mi, uint64_t lo, uint64_t hi, uint64_t *first_bad);

/* Human-readable name of a tag type, for logs ("unknown" if not known). */
const char *mb2_tag_name(uint32_t type);

#endif /* SMMSYNC_MB2_H */
