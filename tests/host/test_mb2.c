/*
 * test_mb2.c - Multiboot2 info parser against hand-built images.
 *
 * Every parse runs on an exactly sized heap copy of the image, so ASan
 * reports any read outside [mbi, mbi + avail).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mb2.h"

/* ---- image builder ---------------------------------------------------- */

struct img {
    uint64_t store[4096];       /* 32 KiB, 8-byte aligned like a real info */
    size_t len;
};

static uint8_t *bytes(struct img *m)
{
    return (uint8_t *)m->store;
}

static void put32(struct img *m, size_t off, uint32_t v)
{
    memcpy(bytes(m) + off, &v, 4);
}

static void img_begin(struct img *m)
{
    memset(m, 0, sizeof(*m));
    m->len = 8; /* total_size + reserved, filled by img_finish */
}

/* Append a tag with `plen` payload bytes; returns its offset. */
static size_t img_tag(struct img *m, uint32_t type, const void *payload,
              size_t plen)
{
    size_t off = m->len;

    put32(m, off, type);
    put32(m, off + 4, (uint32_t)(8 + plen));
    if (plen)
        memcpy(bytes(m) + off + 8, payload, plen);
    m->len = (off + 8 + plen + 7) & ~(size_t)7;
    return off;
}

static void img_finish(struct img *m)
{
    img_tag(m, MB2_TAG_END, NULL, 0);
    put32(m, 0, (uint32_t)m->len);
}

static size_t img_mmap(struct img *m, uint32_t entry_size, uint32_t version,
               unsigned n)
{
    uint8_t payload[8 + 512 * 40];
    unsigned i;

    memset(payload, 0, sizeof(payload));
    memcpy(payload, &entry_size, 4);
    memcpy(payload + 4, &version, 4);
    for (i = 0; i < n; i++) {
        uint8_t *e = payload + 8 + (size_t)i * entry_size;
        uint64_t addr = 0x100000ull * i, len = 0x1000ull * (i + 1);
        uint32_t type = 1 + i % 5;

        memcpy(e, &addr, 8);
        memcpy(e + 8, &len, 8);
        memcpy(e + 16, &type, 4);
        if (entry_size > 24)
            memset(e + 24, 0xee, entry_size - 24);      /* must be ignored */
    }
    return img_tag(m, MB2_TAG_MMAP, payload, 8 + (size_t)n * entry_size);
}

/* A syntactically valid RSDP copy (checksums are acpi_tables.c's job). */
static size_t img_rsdp(struct img *m, uint32_t type, size_t len, uint8_t mark)
{
    uint8_t r[64];

    memset(r, 0, sizeof(r));
    memcpy(r, "RSD PTR ", 8);
    r[15] = type == MB2_TAG_ACPI_NEW ? 2 : 0;
    r[16] = mark;
    return img_tag(m, type, r, len);
}

/* ---- parse helpers ---------------------------------------------------- */

static struct mb2_info info;
static char err[256];

/* Parse the first `avail` bytes of the image from an exact heap copy. */
static int parse_avail(const struct img *m, size_t avail)
{
    void *copy = malloc(avail ? avail : 1);
    int rc;

    assert_non_null(copy);
    memcpy(copy, m->store, avail);
    memset(err, 'X', sizeof(err));
    rc = mb2_parse(copy, avail, &info, err, sizeof(err));
    free(copy);
    /* The message is always a terminated string, empty on success. */
    assert_non_null(memchr(err, '\0', sizeof(err)));
    if (rc == 0)
        assert_string_equal(err, "");
    else
        assert_true(strlen(err) > 0);
    return rc;
}

static int parse(const struct img *m)
{
    return parse_avail(m, m->len);
}

static struct img m;

/* ---- tests ------------------------------------------------------------ */

static void test_well_formed(void **state)
{
    static const char cmd[] = "smmsync.filter=smm.* verbose";
    static const char loader[] = "GRUB 2.06-13+deb12u1";
    uint32_t meminfo[2] = { 639, 130048 };
    unsigned i;

    (void)state;
    img_begin(&m);
    img_tag(&m, MB2_TAG_CMDLINE, cmd, sizeof(cmd));
    img_tag(&m, MB2_TAG_LOADER_NAME, loader, sizeof(loader));
    img_tag(&m, MB2_TAG_BASIC_MEMINFO, meminfo, sizeof(meminfo));
    img_mmap(&m, 24, 0, 6);
    img_rsdp(&m, MB2_TAG_ACPI_OLD, 20, 0x11);
    img_rsdp(&m, MB2_TAG_ACPI_NEW, 36, 0x22);
    img_tag(&m, 0x1234, "future", 6);   /* unknown: skipped */
    img_finish(&m);

    assert_int_equal(parse(&m), 0);
    assert_true(info.has_cmdline);
    assert_string_equal(info.cmdline, cmd);
    assert_true(info.has_loader);
    assert_string_equal(info.loader, loader);
    assert_true(info.has_mmap);
    assert_int_equal(info.mmap_count, 6);
    for (i = 0; i < 6; i++) {
        assert_int_equal(info.mmap[i].addr, 0x100000ull * i);
        assert_int_equal(info.mmap[i].len, 0x1000ull * (i + 1));
        assert_int_equal(info.mmap[i].type, 1 + i % 5);
    }
    assert_true(info.has_rsdp);
    assert_int_equal(info.rsdp_version, 2);
    assert_int_equal(info.rsdp_len, 36);
    assert_int_equal(info.rsdp[16], 0x22);
    assert_memory_equal(info.rsdp, "RSD PTR ", 8);
    assert_int_equal(info.tag_count, 7);
}

static void test_only_end_tag(void **state)
{
    (void)state;
    img_begin(&m);
    img_finish(&m);
    assert_int_equal(m.len, 16);
    assert_int_equal(parse(&m), 0);
    assert_false(info.has_cmdline);
    assert_false(info.has_loader);
    assert_false(info.has_mmap);
    assert_false(info.has_rsdp);
    assert_int_equal(info.tag_count, 0);
}

static void test_bad_total_size(void **state)
{
    (void)state;
    img_begin(&m);
    img_finish(&m);

    put32(&m, 0, 8);
    assert_int_equal(parse(&m), MB2_ERR_TOTAL);
    assert_string_equal(err, "multiboot2: total_size 0x8 too small (min 0x10)");
    put32(&m, 0, 0);
    assert_int_equal(parse(&m), MB2_ERR_TOTAL);
    put32(&m, 0, 0xffffffffu);
    assert_int_equal(parse(&m), MB2_ERR_TOTAL);
    assert_string_equal(err, "multiboot2: total_size 0xffffffff exceeds the 0x10 bytes available");
    put32(&m, 0, 24);
    assert_int_equal(parse(&m), MB2_ERR_TOTAL);

    put32(&m, 0, 16);
    put32(&m, 4, 1);    /* reserved must be 0 */
    assert_int_equal(parse(&m), MB2_ERR_TOTAL);
    assert_string_equal(err, "multiboot2: reserved field is 0x1, expected 0");
}

static void test_tiny_avail(void **state)
{
    size_t a;

    (void)state;
    img_begin(&m);
    img_finish(&m);
    for (a = 0; a < 8; a++)
        assert_int_equal(parse_avail(&m, a), MB2_ERR_TOTAL);
    assert_int_equal(mb2_parse(NULL, 64, &info, err, sizeof(err)), MB2_ERR_ARG);
    assert_int_equal(mb2_parse(m.store, 64, NULL, err, sizeof(err)), MB2_ERR_ARG);
    /* err may be omitted entirely. */
    assert_int_equal(mb2_parse(m.store, 4, &info, NULL, 0), MB2_ERR_TOTAL);
}

static void test_misaligned(void **state)
{
    uint64_t buf[8] = { 0 };
    uint8_t *p = (uint8_t *)buf + 4;
    uint32_t hdr[4] = { 16, 0, 0, 8 };

    (void)state;
    memcpy(p, hdr, sizeof(hdr));
    assert_int_equal(mb2_parse(p, 16, &info, err, sizeof(err)), MB2_ERR_ARG);
    assert_non_null(strstr(err, "not 8-byte aligned"));
}

/* Truncate a valid image at every length: always an error, never a crash. */
static void test_truncated_everywhere(void **state)
{
    static const char cmd[] = "a=b";
    size_t a, full;

    (void)state;
    img_begin(&m);
    img_tag(&m, MB2_TAG_CMDLINE, cmd, sizeof(cmd));
    img_mmap(&m, 24, 0, 3);
    img_rsdp(&m, MB2_TAG_ACPI_NEW, 36, 1);
    img_finish(&m);
    full = m.len;
    assert_int_equal(parse(&m), 0);
    for (a = 0; a < full; a++)
        assert_int_equal(parse_avail(&m, a), MB2_ERR_TOTAL);

    /* Now lie in total_size instead: the tags get cut off. */
    for (a = 16; a < full; a++) {
        int rc;

        put32(&m, 0, (uint32_t)a);
        rc = parse_avail(&m, a);
        assert_true(rc == MB2_ERR_TAG || rc == MB2_ERR_NO_END);
    }
}

static void test_tag_overrun(void **state)
{
    uint8_t pad[0x40] = { 0 };
    size_t off;

    (void)state;
    img_begin(&m);
    img_tag(&m, 0x100, pad, 0x40 - 8);  /* 0x08..0x48 */
    off = img_tag(&m, MB2_TAG_MMAP, pad, 0x30 - 8);     /* 0x48..0x78 */
    assert_int_equal(off, 0x48);
    img_finish(&m);
    put32(&m, 0, 0x60); /* total now ends inside the mmap tag */
    assert_int_equal(parse_avail(&m, 0x60), MB2_ERR_TAG);
    assert_string_equal(err, "multiboot2: tag 6 at offset 0x48 overruns the info (size 0x30, total 0x60)");
}

static void test_tag_size_too_small(void **state)
{
    uint32_t s;

    (void)state;
    for (s = 0; s < 8; s++) {
        img_begin(&m);
        img_tag(&m, 0x77, NULL, 0);
        img_finish(&m);
        put32(&m, 8 + 4, s);    /* size 0 would loop forever if accepted */
        assert_int_equal(parse(&m), MB2_ERR_TAG);
    }
    assert_string_equal(err, "multiboot2: tag 119 at offset 0x8 has size 0x7 < 0x8");
}

static void test_missing_end_tag(void **state)
{
    (void)state;
    img_begin(&m);
    img_tag(&m, MB2_TAG_CMDLINE, "x", 2);
    put32(&m, 0, (uint32_t)m.len);      /* no end tag appended */
    assert_int_equal(parse(&m), MB2_ERR_NO_END);
    assert_string_equal(err, "multiboot2: no end tag (tags stop at offset 0x18, total 0x18)");

    /* An end tag must be exactly 8 bytes. */
    img_begin(&m);
    img_tag(&m, MB2_TAG_END, "12345678", 8);
    put32(&m, 0, (uint32_t)m.len);
    assert_int_equal(parse(&m), MB2_ERR_NO_END);

    /* The last tag's padding missing from total_size: no end tag fits. */
    img_begin(&m);
    img_tag(&m, MB2_TAG_CMDLINE, "abcd", 5);    /* size 13 */
    put32(&m, 0, 8 + 13);
    assert_int_equal(parse_avail(&m, 8 + 13), MB2_ERR_NO_END);
}

static void test_data_after_end_ignored(void **state)
{
    (void)state;
    img_begin(&m);
    img_finish(&m);
    img_tag(&m, MB2_TAG_CMDLINE, "late", 5);    /* after the end tag */
    put32(&m, 0, (uint32_t)m.len);
    assert_int_equal(parse(&m), 0);
    assert_false(info.has_cmdline);
}

static void test_mmap_entry_size(void **state)
{
    static const uint32_t bad[] = { 0, 8, 16, 20, 23, 25, 28, 36 };
    unsigned i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        img_begin(&m);
        img_mmap(&m, 24, 0, 2);
        img_finish(&m);
        put32(&m, 8 + 8, bad[i]);
        assert_int_equal(parse(&m), MB2_ERR_MMAP);
    }
    assert_string_equal(err, "multiboot2: mmap tag at offset 0x8 has bad entry_size 0x24 (entry_version 0)");

    /* Larger entries (multiple of 8) are fine; extra bytes are skipped. */
    img_begin(&m);
    img_mmap(&m, 40, 0, 3);
    img_finish(&m);
    assert_int_equal(parse(&m), 0);
    assert_int_equal(info.mmap_count, 3);
    assert_int_equal(info.mmap[2].addr, 0x200000);
    assert_int_equal(info.mmap[2].len, 0x3000);
    assert_int_equal(info.mmap[2].type, 3);

    /* A newer entry_version stays readable (spec: backward compatible). */
    img_begin(&m);
    img_mmap(&m, 24, 1, 1);
    img_finish(&m);
    assert_int_equal(parse(&m), 0);
    assert_int_equal(info.mmap_count, 1);

    /* Tag too short for its own header. */
    img_begin(&m);
    img_tag(&m, MB2_TAG_MMAP, "\x18\0\0\0", 4);
    img_finish(&m);
    assert_int_equal(parse(&m), MB2_ERR_MMAP);
}

static void test_mmap_counts(void **state)
{
    (void)state;
    img_begin(&m);
    img_mmap(&m, 24, 0, 0);
    img_finish(&m);
    assert_int_equal(parse(&m), 0);
    assert_true(info.has_mmap);
    assert_int_equal(info.mmap_count, 0);

    img_begin(&m);
    img_mmap(&m, 24, 0, MB2_MAX_MMAP);
    img_finish(&m);
    assert_int_equal(parse(&m), 0);
    assert_int_equal(info.mmap_count, MB2_MAX_MMAP);

    img_begin(&m);
    img_mmap(&m, 24, 0, MB2_MAX_MMAP + 1);
    img_finish(&m);
    assert_int_equal(parse(&m), MB2_ERR_MMAP);
    assert_string_equal(err, "multiboot2: mmap has 129 entries, more than the 128 supported");

    /* A trailing partial entry is ignored, not read. */
    {
        uint8_t p[8 + 24 + 16] = { 24, 0, 0, 0, 0, 0, 0, 0 };

        img_begin(&m);
        img_tag(&m, MB2_TAG_MMAP, p, sizeof(p));
        img_finish(&m);
    }
    assert_int_equal(parse(&m), 0);
    assert_int_equal(info.mmap_count, 1);
}

static void test_cmdline(void **state)
{
    char longcmd[1500];

    (void)state;
    /* No NUL anywhere inside the tag. */
    img_begin(&m);
    img_tag(&m, MB2_TAG_CMDLINE, "abcdefgh", 8);
    img_finish(&m);
    assert_int_equal(parse(&m), MB2_ERR_STRING);
    assert_string_equal(err, "multiboot2: tag 1 (cmdline) at offset 0x8: string not NUL-terminated within size 0x10");

    /* Empty payload: no room even for the NUL. */
    img_begin(&m);
    img_tag(&m, MB2_TAG_CMDLINE, NULL, 0);
    img_finish(&m);
    assert_int_equal(parse(&m), MB2_ERR_STRING);

    /* Empty string. */
    img_begin(&m);
    img_tag(&m, MB2_TAG_CMDLINE, "", 1);
    img_finish(&m);
    assert_int_equal(parse(&m), 0);
    assert_true(info.has_cmdline);
    assert_string_equal(info.cmdline, "");

    /* NUL early, garbage after it inside the tag: stop at the NUL. */
    img_begin(&m);
    img_tag(&m, MB2_TAG_CMDLINE, "ab\0cd", 5);
    img_finish(&m);
    assert_int_equal(parse(&m), 0);
    assert_string_equal(info.cmdline, "ab");

    /* Longer than the buffer: truncated, terminated. */
    memset(longcmd, 'k', sizeof(longcmd));
    longcmd[sizeof(longcmd) - 1] = '\0';
    img_begin(&m);
    img_tag(&m, MB2_TAG_CMDLINE, longcmd, sizeof(longcmd));
    img_finish(&m);
    assert_int_equal(parse(&m), 0);
    assert_int_equal(strlen(info.cmdline), sizeof(info.cmdline) - 1);

    /* Loader name: same rules, smaller buffer. */
    img_begin(&m);
    img_tag(&m, MB2_TAG_LOADER_NAME, longcmd, 200);
    img_finish(&m);
    assert_int_equal(parse(&m), MB2_ERR_STRING);
    img_begin(&m);
    img_tag(&m, MB2_TAG_LOADER_NAME, longcmd + 1300, 200);
    img_finish(&m);
    assert_int_equal(parse(&m), 0);
    assert_int_equal(strlen(info.loader), sizeof(info.loader) - 1);
}

static void test_duplicates(void **state)
{
    (void)state;
    img_begin(&m);
    img_tag(&m, MB2_TAG_CMDLINE, "a", 2);
    img_tag(&m, MB2_TAG_CMDLINE, "b", 2);
    img_finish(&m);
    assert_int_equal(parse(&m), MB2_ERR_DUP);
    assert_string_equal(err, "multiboot2: duplicate tag 1 (cmdline) at offset 0x18");

    img_begin(&m);
    img_mmap(&m, 24, 0, 1);
    img_mmap(&m, 24, 0, 1);
    img_finish(&m);
    assert_int_equal(parse(&m), MB2_ERR_DUP);

    img_begin(&m);
    img_rsdp(&m, MB2_TAG_ACPI_OLD, 20, 1);
    img_rsdp(&m, MB2_TAG_ACPI_OLD, 20, 2);
    img_finish(&m);
    assert_int_equal(parse(&m), MB2_ERR_DUP);
}

static void test_rsdp_versions(void **state)
{
    (void)state;
    /* v1 only. */
    img_begin(&m);
    img_rsdp(&m, MB2_TAG_ACPI_OLD, 20, 0x11);
    img_finish(&m);
    assert_int_equal(parse(&m), 0);
    assert_true(info.has_rsdp);
    assert_int_equal(info.rsdp_version, 1);
    assert_int_equal(info.rsdp_len, 20);
    assert_int_equal(info.rsdp[16], 0x11);

    /* v2 only. */
    img_begin(&m);
    img_rsdp(&m, MB2_TAG_ACPI_NEW, 36, 0x22);
    img_finish(&m);
    assert_int_equal(parse(&m), 0);
    assert_int_equal(info.rsdp_version, 2);
    assert_int_equal(info.rsdp_len, 36);

    /* Both, new first: the ACPI 2.0 copy is kept. */
    img_begin(&m);
    img_rsdp(&m, MB2_TAG_ACPI_NEW, 36, 0x22);
    img_rsdp(&m, MB2_TAG_ACPI_OLD, 20, 0x11);
    img_finish(&m);
    assert_int_equal(parse(&m), 0);
    assert_int_equal(info.rsdp_version, 2);
    assert_int_equal(info.rsdp[16], 0x22);

    /* Oversized payload: copy capped at 64 bytes. */
    img_begin(&m);
    img_tag(&m, 0x99, NULL, 0);
    {
        uint8_t r[100] = "RSD PTR ";

        img_tag(&m, MB2_TAG_ACPI_NEW, r, sizeof(r));
    }
    img_finish(&m);
    assert_int_equal(parse(&m), 0);
    assert_int_equal(info.rsdp_len, 64);
}

static void test_rsdp_malformed(void **state)
{
    (void)state;
    img_begin(&m);
    img_rsdp(&m, MB2_TAG_ACPI_OLD, 19, 0);
    img_finish(&m);
    assert_int_equal(parse(&m), MB2_ERR_RSDP);
    assert_string_equal(err, "multiboot2: tag 14 (acpi old rsdp) at offset 0x8 holds 0x13 RSDP bytes, need 0x14");

    img_begin(&m);
    img_rsdp(&m, MB2_TAG_ACPI_NEW, 24, 0);      /* a v1-sized copy in tag 15 */
    img_finish(&m);
    assert_int_equal(parse(&m), MB2_ERR_RSDP);

    img_begin(&m);
    img_rsdp(&m, MB2_TAG_ACPI_OLD, 20, 0);
    bytes(&m)[8 + 8 + 7] = '_'; /* "RSD PTR_" */
    img_finish(&m);
    assert_int_equal(parse(&m), MB2_ERR_RSDP);
    assert_non_null(strstr(err, "signature"));

    /* A bad v1 copy is still an error even if a good v2 one exists. */
    img_begin(&m);
    img_rsdp(&m, MB2_TAG_ACPI_NEW, 36, 0);
    img_rsdp(&m, MB2_TAG_ACPI_OLD, 8, 0);
    img_finish(&m);
    assert_int_equal(parse(&m), MB2_ERR_RSDP);
}

/* Random corruption of a valid image: whatever happens, no bad reads. */
static void test_fuzz(void **state)
{
    static const char cmd[] = "x=1 y";
    struct img base;
    uint32_t rng = 0x2545f491;
    int iter;

    (void)state;
    img_begin(&base);
    img_tag(&base, MB2_TAG_CMDLINE, cmd, sizeof(cmd));
    img_tag(&base, MB2_TAG_LOADER_NAME, "L", 2);
    img_mmap(&base, 24, 0, 4);
    img_rsdp(&base, MB2_TAG_ACPI_OLD, 20, 0);
    img_rsdp(&base, MB2_TAG_ACPI_NEW, 36, 0);
    img_finish(&base);

    for (iter = 0; iter < 20000; iter++) {
        int flips, k, rc;
        size_t avail;

        memcpy(&m, &base, sizeof(m));
        flips = 1 + iter % 4;
        for (k = 0; k < flips; k++) {
            rng ^= rng << 13;
            rng ^= rng >> 17;
            rng ^= rng << 5;
            /* Bias towards header words where damage matters most. */
            if (rng & 1)
                put32(&m, (rng >> 8) % (m.len / 4) * 4,
                      (rng >> 3) % 64);
            else
                bytes(&m)[(rng >> 8) % m.len] = (uint8_t)(rng >> 20);
        }
        avail = m.len - (iter % 3 == 0 ? (size_t)(rng % 16) : 0);
        rc = parse_avail(&m, avail);
        assert_true(rc <= 0 && rc >= MB2_ERR_DUP);
        if (rc == 0) {
            assert_true(info.mmap_count <= MB2_MAX_MMAP);
            assert_true(strlen(info.cmdline) < sizeof(info.cmdline));
            assert_true(info.rsdp_len <= sizeof(info.rsdp));
        }
    }
}

static void test_tag_names(void **state)
{
    (void)state;
    assert_string_equal(mb2_tag_name(0), "end");
    assert_string_equal(mb2_tag_name(1), "cmdline");
    assert_string_equal(mb2_tag_name(6), "memory map");
    assert_string_equal(mb2_tag_name(14), "acpi old rsdp");
    assert_string_equal(mb2_tag_name(15), "acpi new rsdp");
    assert_string_equal(mb2_tag_name(21), "image load base address");
    assert_string_equal(mb2_tag_name(22), "unknown");
    assert_string_equal(mb2_tag_name(0xffffffffu), "unknown");
}

static void test_small_err_buffer(void **state)
{
    char small[8];

    (void)state;
    img_begin(&m);
    img_finish(&m);
    put32(&m, 4, 5);
    memset(small, 'Z', sizeof(small));
    assert_int_equal(mb2_parse(m.store, m.len, &info, small, sizeof(small)),
             MB2_ERR_TOTAL);
    assert_string_equal(small, "multibo");
}

/* RAM coverage over one entry, adjacent entries, and a hole of another
 * type (the OVMF layout that put ACPI NVS inside the kernel's BSS). */
static void test_ram_covers(void **state)
{
    (void)state;
    struct mb2_info mi;
    memset(&mi, 0, sizeof(mi));
    const struct mb2_mmap_entry m[] = {
        { 0x0, 0xA0000, 1 }, { 0x100000, 0x706000, 1 }, { 0x806000, 0x2000, 4 },
        { 0x808000, 0x8000, 1 }, { 0x900000, 0x1000000, 1 }, { 0x1900000, 0x100000, 1 },
    };
    memcpy(mi.mmap, m, sizeof(m));
    mi.mmap_count = sizeof(m) / sizeof(m[0]);
    uint64_t bad = 0;
    assert_true(mb2_ram_covers(&mi, 0x8000, 0xC000, &bad));
    assert_true(mb2_ram_covers(&mi, 0x100000, 0x806000, &bad));
    assert_false(mb2_ram_covers(&mi, 0x120000, 0xB4F008, &bad));
    assert_int_equal(bad, 0x806000);
    assert_false(mb2_ram_covers(&mi, 0x9F000, 0xA1000, &bad));
    assert_int_equal(bad, 0xA0000);
    assert_true(mb2_ram_covers(&mi, 0x1000000, 0x1A00000, &bad));      /* two adjacent entries */
    assert_false(mb2_ram_covers(&mi, 0x1A00000, 0x1A00001, &bad));
    assert_true(mb2_ram_covers(&mi, 0x5000, 0x5000, &bad));            /* empty */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_well_formed),
        cmocka_unit_test(test_only_end_tag),
        cmocka_unit_test(test_bad_total_size),
        cmocka_unit_test(test_tiny_avail),
        cmocka_unit_test(test_misaligned),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_tag_overrun),
        cmocka_unit_test(test_tag_size_too_small),
        cmocka_unit_test(test_missing_end_tag),
        cmocka_unit_test(test_data_after_end_ignored),
        cmocka_unit_test(test_mmap_entry_size),
        cmocka_unit_test(test_mmap_counts),
        cmocka_unit_test(test_cmdline),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_rsdp_versions),
        cmocka_unit_test(test_rsdp_malformed),
        cmocka_unit_test(test_fuzz),
        cmocka_unit_test(test_tag_names),
        cmocka_unit_test(test_small_err_buffer),
        cmocka_unit_test(test_ram_covers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
