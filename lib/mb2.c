/*
 * mb2.c - Multiboot2 boot-information parser; see mb2.h.
 *
 * The loader hands us a structure we cannot trust blindly (a buggy or
 * hostile loader, or our own test images), so every length is checked
 * before the bytes it covers are touched.  Fields are read with memcpy so
 * the code has no alignment or aliasing assumptions and works on
 * arbitrary host test buffers too.
 */
#include "lib/mb2.h"
#include "lib/kstring.h"
#include "lib/printf.h"
#include "lib/bytes.h"

/* §3.6.2: fixed part is u32 total_size + u32 reserved; tags follow. */
#define MB2_FIXED_SIZE   8u
#define MB2_TAG_HDR_SIZE 8u     /* u32 type + u32 size */
#define MB2_TAG_ALIGN    8u     /* §3.6.2: every tag starts 8-byte aligned */
#define MB2_END_TAG_SIZE 8u
/* §3.6.8: mmap tag = type, size, entry_size, entry_version, entries. */
#define MB2_MMAP_HDR_SIZE 16u
#define MB2_MMAP_ENTRY_MIN 24u  /* u64 base, u64 length, u32 type, u32 rsvd */
/* ACPI 6.x §5.2.5.3: RSDP is 20 bytes in 1.0, 36 bytes from 2.0 on. */
#define RSDP_V1_LEN 20u
#define RSDP_V2_LEN 36u

const char *mb2_tag_name(uint32_t type)
{
    static const char *const names[] = {
        [MB2_TAG_END] = "end",
        [MB2_TAG_CMDLINE] = "cmdline",
        [MB2_TAG_LOADER_NAME] = "boot loader name",
        [MB2_TAG_MODULE] = "module",
        [MB2_TAG_BASIC_MEMINFO] = "basic meminfo",
        [MB2_TAG_BOOTDEV] = "bios boot device",
        [MB2_TAG_MMAP] = "memory map",
        [MB2_TAG_VBE] = "vbe info",
        [MB2_TAG_FRAMEBUFFER] = "framebuffer info",
        [MB2_TAG_ELF_SECTIONS] = "elf sections",
        [MB2_TAG_APM] = "apm table",
        [MB2_TAG_EFI32] = "efi32 system table",
        [MB2_TAG_EFI64] = "efi64 system table",
        [MB2_TAG_SMBIOS] = "smbios tables",
        [MB2_TAG_ACPI_OLD] = "acpi old rsdp",
        [MB2_TAG_ACPI_NEW] = "acpi new rsdp",
        [MB2_TAG_NETWORK] = "networking info",
        [MB2_TAG_EFI_MMAP] = "efi memory map",
        [MB2_TAG_EFI_BS] = "efi boot services not terminated",
        [MB2_TAG_EFI32_IH] = "efi32 image handle",
        [MB2_TAG_EFI64_IH] = "efi64 image handle",
        [MB2_TAG_LOAD_BASE_ADDR] = "image load base address",
    };

    if (type < sizeof(names) / sizeof(names[0]) && names[type])
        return names[type];
    return "unknown";
}

/*
 * Copy a NUL-terminated string that must end inside [p, p+n) into dst,
 * truncating to dstlen-1 characters.  False if there is no NUL.
 */
static bool copy_tag_string(char *dst, size_t dstlen, const uint8_t *p,
                size_t n)
{
    size_t len = strnlen((const char *)p, n);

    if (len == n)
        return false;
    if (len >= dstlen)
        len = dstlen - 1;
    memcpy(dst, p, len);
    dst[len] = '\0';
    return true;
}

static int parse_mmap(const uint8_t *tag, uint32_t size, size_t off,
              struct mb2_info *out, char *err, size_t errlen)
{
    uint32_t esize, ever, n, i;

    if (size < MB2_MMAP_HDR_SIZE)
        return kfail(err, errlen, MB2_ERR_MMAP,
                "multiboot2: mmap tag at offset 0x%zx too small (size 0x%x, need 0x%x)",
                off, size, MB2_MMAP_HDR_SIZE);
    esize = rd32(tag + 8);
    ever = rd32(tag + 12);
    /* §3.6.8: entry_size is a multiple of 8; entries are >= 24 bytes. */
    if (esize < MB2_MMAP_ENTRY_MIN || esize % 8)
        return kfail(err, errlen, MB2_ERR_MMAP,
                "multiboot2: mmap tag at offset 0x%zx has bad entry_size 0x%x (entry_version %u)",
                off, esize, ever);
    /*
     * entry_version is 0 today; §3.6.8 promises later versions stay
     * backward compatible, so a nonzero version is still parsed.
     */
    n = (size - MB2_MMAP_HDR_SIZE) / esize;
    if (n > MB2_MAX_MMAP)
        return kfail(err, errlen, MB2_ERR_MMAP,
                "multiboot2: mmap has %u entries, more than the %u supported",
                n, MB2_MAX_MMAP);
    for (i = 0; i < n; i++) {
        const uint8_t *e = tag + MB2_MMAP_HDR_SIZE + (size_t)i * esize;

        out->mmap[i].addr = rd64(e);
        out->mmap[i].len = rd64(e + 8);
        out->mmap[i].type = rd32(e + 16);
    }
    out->mmap_count = n;
    out->has_mmap = true;
    return 0;
}

/* Validate an RSDP copy from tag 14/15; store it unless superseded. */
static int parse_rsdp(const uint8_t *tag, uint32_t size, uint32_t type,
              size_t off, struct mb2_info *out, char *err,
              size_t errlen)
{
    const uint8_t *p = tag + MB2_TAG_HDR_SIZE;
    size_t n = size - MB2_TAG_HDR_SIZE;
    int version = type == MB2_TAG_ACPI_NEW ? 2 : 1;
    size_t need = version == 2 ? RSDP_V2_LEN : RSDP_V1_LEN;

    if (n < need)
        return kfail(err, errlen, MB2_ERR_RSDP,
                "multiboot2: tag %u (%s) at offset 0x%zx holds 0x%zx RSDP bytes, need 0x%zx",
                type, mb2_tag_name(type), off, n, need);
    /* ACPI §5.2.5.3: Signature is "RSD PTR " (note the trailing space). */
    if (memcmp(p, "RSD PTR ", 8) != 0)
        return kfail(err, errlen, MB2_ERR_RSDP,
                "multiboot2: tag %u (%s) at offset 0x%zx: RSDP signature is not \"RSD PTR \"",
                type, mb2_tag_name(type), off);
    /* The ACPI 2.0+ copy wins whatever the tag order (brief: prefer 15). */
    if (out->has_rsdp && out->rsdp_version > version)
        return 0;
    if (n > sizeof(out->rsdp))
        n = sizeof(out->rsdp);
    memcpy(out->rsdp, p, n);
    out->rsdp_len = (unsigned)n;
    out->rsdp_version = version;
    out->has_rsdp = true;
    return 0;
}

/* The fixed part: total_size within what is available, reserved zero. */
static int check_fixed(const uint8_t *base, size_t avail, uint32_t *total_out,
               char *err, size_t errlen)
{
    uint32_t total, reserved;

    if (avail < MB2_FIXED_SIZE)
        return kfail(err, errlen, MB2_ERR_TOTAL,
                "multiboot2: only 0x%zx bytes available, fixed part needs 0x%x",
                avail, MB2_FIXED_SIZE);
    total = rd32(base);
    reserved = rd32(base + 4);
    if (total < MB2_FIXED_SIZE + MB2_END_TAG_SIZE)
        return kfail(err, errlen, MB2_ERR_TOTAL,
                "multiboot2: total_size 0x%x too small (min 0x%x)",
                total, MB2_FIXED_SIZE + MB2_END_TAG_SIZE);
    if (total > avail)
        return kfail(err, errlen, MB2_ERR_TOTAL,
                "multiboot2: total_size 0x%x exceeds the 0x%zx bytes available",
                total, avail);
    /*
     * §3.6.2 says reserved is always 0 (and that the OS must ignore it);
     * we are a test harness, so a nonzero value is reported as a sign of
     * a corrupted or misidentified structure rather than ignored.
     */
    if (reserved != 0)
        return kfail(err, errlen, MB2_ERR_TOTAL,
                "multiboot2: reserved field is 0x%x, expected 0",
                reserved);
    *total_out = total;
    return 0;
}

/* The tag header at off: there, at least 8 bytes, within total. */
static int check_tag(const uint8_t *base, size_t off, uint32_t total,
             uint32_t *type, uint32_t *size, char *err, size_t errlen)
{
    /* off can pass total when the last tag's padding is missing. */
    if (off >= total || total - off < MB2_TAG_HDR_SIZE)
        return kfail(err, errlen, MB2_ERR_NO_END,
                "multiboot2: no end tag (tags stop at offset 0x%zx, total 0x%x)",
                off, total);
    *type = rd32(base + off);
    *size = rd32(base + off + 4);
    if (*size < MB2_TAG_HDR_SIZE)
        return kfail(err, errlen, MB2_ERR_TAG,
                "multiboot2: tag %u at offset 0x%zx has size 0x%x < 0x%x",
                *type, off, *size, MB2_TAG_HDR_SIZE);
    if (*size > total - off)
        return kfail(err, errlen, MB2_ERR_TAG,
                "multiboot2: tag %u at offset 0x%zx overruns the info (size 0x%x, total 0x%x)",
                *type, off, *size, total);
    return 0;
}

/* A string tag (command line, loader name) into buf, once. */
static int string_tag(char *buf, size_t len, bool *has, const uint8_t *tag,
              uint32_t type, uint32_t size, size_t off, char *err, size_t errlen)
{
    if (*has)
        return kfail(err, errlen, MB2_ERR_DUP,
                "multiboot2: duplicate tag %u (%s) at offset 0x%zx",
                type, mb2_tag_name(type), off);
    if (!copy_tag_string(buf, len, tag + MB2_TAG_HDR_SIZE, size - MB2_TAG_HDR_SIZE))
        return kfail(err, errlen, MB2_ERR_STRING,
                "multiboot2: tag %u (%s) at offset 0x%zx: string not NUL-terminated within size 0x%x",
                type, mb2_tag_name(type), off, size);
    *has = true;
    return 0;
}

/* One tag other than the end tag; seen[0], seen[1]: ACPI old, new. */
static int parse_tag(const uint8_t *tag, uint32_t type, uint32_t size, size_t off,
             struct mb2_info *out, bool seen[2], char *err, size_t errlen)
{
    switch (type) {
    case MB2_TAG_CMDLINE:
        return string_tag(out->cmdline, sizeof(out->cmdline), &out->has_cmdline,
                  tag, type, size, off, err, errlen);
    case MB2_TAG_LOADER_NAME:
        return string_tag(out->loader, sizeof(out->loader), &out->has_loader,
                  tag, type, size, off, err, errlen);
    case MB2_TAG_MMAP:
        if (out->has_mmap)
            break;
        return parse_mmap(tag, size, off, out, err, errlen);
    case MB2_TAG_ACPI_OLD:
    case MB2_TAG_ACPI_NEW: {
        bool *s = &seen[type == MB2_TAG_ACPI_NEW];
        if (*s)
            break;
        *s = true;
        return parse_rsdp(tag, size, type, off, out, err, errlen);
    }
    default:
        /* Tags we do not need (or know) are skipped by size. */
        return 0;
    }
    return kfail(err, errlen, MB2_ERR_DUP,
            "multiboot2: duplicate tag %u (%s) at offset 0x%zx",
            type, mb2_tag_name(type), off);
}

int mb2_parse(const void *mbi, size_t avail, struct mb2_info *out,
          char *err, size_t errlen)
{
    const uint8_t *base = mbi;
    uint32_t total = 0, type = 0, size = 0;
    bool seen[2] = { false, false };
    int rc;

    if (err && errlen)
        err[0] = '\0';
    if (!mbi || !out)
        return kfail(err, errlen, MB2_ERR_ARG,
                "multiboot2: NULL info or output pointer");
    memset(out, 0, sizeof(*out));
    /* §3.6.2: the info's start is 8-byte aligned. */
    if ((uintptr_t)mbi % MB2_TAG_ALIGN)
        return kfail(err, errlen, MB2_ERR_ARG,
                "multiboot2: info at %p is not 8-byte aligned", mbi);
    rc = check_fixed(base, avail, &total, err, errlen);
    for (size_t off = MB2_FIXED_SIZE; !rc; ) {
        rc = check_tag(base, off, total, &type, &size, err, errlen);
        if (rc)
            break;
        if (type == MB2_TAG_END) {
            /* §3.6.2: the terminating tag is exactly (0, 8). */
            if (size != MB2_END_TAG_SIZE)
                return kfail(err, errlen, MB2_ERR_NO_END,
                        "multiboot2: end tag at offset 0x%zx has size 0x%x, expected 0x%x",
                        off, size, MB2_END_TAG_SIZE);
            return 0;
        }
        out->tag_count++;
        rc = parse_tag(base + off, type, size, off, out, seen, err, errlen);
        /* §3.6.2: tags are padded so the next starts 8-byte aligned. */
        off += ((size_t)size + MB2_TAG_ALIGN - 1) & ~(size_t)(MB2_TAG_ALIGN - 1);
    }
    return rc;
}

bool mb2_ram_covers(const struct mb2_info *mi, uint64_t lo, uint64_t hi, uint64_t *first_bad)
{
    uint64_t covered = lo;
    for (bool grew = true; grew && covered < hi;) {
        grew = false;
        for (unsigned i = 0; i < mi->mmap_count; i++) {
            const struct mb2_mmap_entry *e = &mi->mmap[i];
            if (e->type == 1 && e->addr <= covered && e->addr + e->len > covered) {
                covered = e->addr + e->len;
                grew = true;
            }
        }
    }
    if (first_bad)
        *first_bad = covered;
    return covered >= hi;
}
