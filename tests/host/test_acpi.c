/*
 * test_acpi.c - ACPI table discovery and MADT/FADT parsing.
 *
 * A fake physical address space (a byte array at PHYS_BASE) holds
 * synthetic RSDT/XSDT/MADT/FADT images.  The map function hands out an
 * exactly sized heap copy of each requested range, so ASan flags any read
 * beyond what the code asked map() for.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/acpi_tables.h"

/* ---- fake physical memory -------------------------------------------- */

#define PHYS_BASE 0x7fe0000ull
#define RSDT_AT   (PHYS_BASE + 0x0000)
#define XSDT_AT   (PHYS_BASE + 0x0400)
#define MADT_AT   (PHYS_BASE + 0x8000)  /* room for 257 x2APIC entries */
#define FADT_AT   (PHYS_BASE + 0x2000)
#define SSDT_AT   (PHYS_BASE + 0x3000)
#define HPET_AT   (PHYS_BASE + 0x3400)

static uint8_t phys[0x10000];
static void *maps[4096];
static unsigned nmaps;
static uint64_t fail_addr;      /* map() of this address returns NULL ... */
static size_t fail_min_len;     /* ... if len >= this */

static const void *fake_map(uint64_t pa, size_t len, void *ctx)
{
    uint64_t off;
    void *c;

    assert_ptr_equal(ctx, &phys);
    if (pa == fail_addr && len >= fail_min_len)
        return NULL;
    if (pa < PHYS_BASE)
        return NULL;
    off = pa - PHYS_BASE;
    if (off > sizeof(phys) || len > sizeof(phys) - off)
        return NULL;
    assert_true(nmaps < sizeof(maps) / sizeof(maps[0]));
    c = malloc(len ? len : 1);
    assert_non_null(c);
    memcpy(c, phys + off, len);
    maps[nmaps++] = c;
    return c;
}

static uint8_t *at(uint64_t pa)
{
    return phys + (pa - PHYS_BASE);
}

static void w8(uint64_t pa, uint8_t v) { *at(pa) = v; }
static void w16(uint64_t pa, uint16_t v) { memcpy(at(pa), &v, 2); }
static void w32(uint64_t pa, uint32_t v) { memcpy(at(pa), &v, 4); }
static void w64(uint64_t pa, uint64_t v) { memcpy(at(pa), &v, 8); }

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;

    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

/* Make the SDT at pa (its own Length) sum to zero via byte 9. */
static void fix_sum(uint64_t pa)
{
    uint32_t len;

    memcpy(&len, at(pa) + 4, 4);
    at(pa)[9] = 0;
    at(pa)[9] = (uint8_t)-sum(at(pa), len);
}

static void sdt(uint64_t pa, const char *sig, uint32_t len)
{
    memset(at(pa), 0, len);
    memcpy(at(pa), sig, 4);
    w32(pa + 4, len);
    w8(pa + 8, 1);
    memcpy(at(pa) + 10, "SMMSYN", 6);
    memcpy(at(pa) + 16, "TESTTBL ", 8);
    fix_sum(pa);
}

/* ---- RSDP ----------------------------------------------------------- */

static uint8_t rsdp[64];

static void make_rsdp(uint8_t rev, uint32_t rsdt, uint64_t xsdt)
{
    memset(rsdp, 0, sizeof(rsdp));
    memcpy(rsdp, "RSD PTR ", 8);
    memcpy(rsdp + 9, "SMMSYN", 6);
    rsdp[15] = rev;
    memcpy(rsdp + 16, &rsdt, 4);
    if (rev >= 2) {
        uint32_t len = 36;

        memcpy(rsdp + 20, &len, 4);
        memcpy(rsdp + 24, &xsdt, 8);
        rsdp[32] = (uint8_t)-sum(rsdp, 36);
    }
    rsdp[8] = (uint8_t)-sum(rsdp, 20);
    if (rev >= 2)       /* byte 8 changed: redo the extended checksum */
        rsdp[32] = (uint8_t)(rsdp[32] - sum(rsdp, 36));
}

/* ---- table images ---------------------------------------------------- */

/* Root tables listing SSDT, HPET, MADT, FADT (in that order). */
static void make_roots(void)
{
    static const uint64_t tabs[] = { SSDT_AT, HPET_AT, MADT_AT, FADT_AT };
    unsigned i;

    sdt(RSDT_AT, "RSDT", 36 + 4 * 4);
    sdt(XSDT_AT, "XSDT", 36 + 8 * 4);
    for (i = 0; i < 4; i++) {
        w32(RSDT_AT + 36 + 4 * i, (uint32_t)tabs[i]);
        w64(XSDT_AT + 36 + 8 * i, tabs[i]);
    }
    fix_sum(RSDT_AT);
    fix_sum(XSDT_AT);
}

static uint32_t madt_len;

static void madt_begin(void)
{
    madt_len = 44;
    sdt(MADT_AT, "APIC", madt_len);
    w32(MADT_AT + 36, 0xfee00000u);
    w32(MADT_AT + 40, 1);       /* PCAT_COMPAT */
}

static void madt_add(const uint8_t *e, uint8_t len)
{
    memcpy(at(MADT_AT + madt_len), e, len);
    madt_len += len;
    w32(MADT_AT + 4, madt_len);
    fix_sum(MADT_AT);
}

static void madt_lapic(uint8_t uid, uint8_t id, uint32_t flags)
{
    uint8_t e[8] = { 0, 8, uid, id };

    memcpy(e + 4, &flags, 4);
    madt_add(e, 8);
}

static void madt_x2apic(uint32_t id, uint32_t flags, uint32_t uid)
{
    uint8_t e[16] = { 9, 16 };

    memcpy(e + 4, &id, 4);
    memcpy(e + 8, &flags, 4);
    memcpy(e + 12, &uid, 4);
    madt_add(e, 16);
}

static void madt_ioapic(uint8_t id)
{
    uint8_t e[12] = { 1, 12, id, 0, 0x00, 0x00, 0xc0, 0xfe };

    madt_add(e, 12);
}

/* A q35-like FADT, ACPI 2.0+ layout (244 bytes). */
static void make_fadt(uint32_t len)
{
    sdt(FADT_AT, "FACP", len);
    w8(FADT_AT + 8, len > 116 ? 3 : 1);
    w16(FADT_AT + 46, 9);               /* SCI_INT */
    w32(FADT_AT + 48, 0xb2);    /* SMI_CMD */
    w8(FADT_AT + 52, 0xf1);             /* ACPI_ENABLE */
    w8(FADT_AT + 53, 0xf0);             /* ACPI_DISABLE */
    w32(FADT_AT + 64, 0x604);   /* PM1a_CNT_BLK */
    w32(FADT_AT + 76, 0x608);   /* PM_TMR_BLK */
    w8(FADT_AT + 91, 4);                /* PM_TMR_LEN */
    w32(FADT_AT + 112, 1u << 8 | 1u << 0);      /* TMR_VAL_EXT | WBINVD */
    fix_sum(FADT_AT);
}

/* Generic Address Structure at pa. */
static void gas(uint64_t pa, uint8_t space, uint8_t width, uint64_t addr)
{
    w8(pa, space);
    w8(pa + 1, width);
    w8(pa + 2, 0);
    w8(pa + 3, 3);
    w64(pa + 4, addr);
}

static char err[256];

static int setup(void **state)
{
    (void)state;
    memset(phys, 0xa5, sizeof(phys));
    fail_addr = 0;
    fail_min_len = 0;
    make_roots();
    sdt(SSDT_AT, "SSDT", 64);
    sdt(HPET_AT, "HPET", 56);
    madt_begin();
    madt_lapic(0, 0, 1);
    madt_ioapic(0);
    make_fadt(244);
    memset(err, 'X', sizeof(err));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    while (nmaps)
        free(maps[--nmaps]);
    return 0;
}

static int find(const char *sig, const void **t, uint32_t *len)
{
    size_t rlen = rsdp[15] >= 2 ? 36 : 20;

    memset(err, 'X', sizeof(err));
    return acpi_find_table(rsdp, rlen, sig, fake_map, &phys, t, len, err,
                   sizeof(err));
}

/* ---- tests: discovery -------------------------------------------------- */

static void test_checksum_ok(void **state)
{
    uint8_t b[4] = { 1, 2, 3, 250 };

    (void)state;
    assert_true(acpi_checksum_ok(b, 4));
    assert_false(acpi_checksum_ok(b, 3));
    assert_true(acpi_checksum_ok(b, 0));
}

static void test_find_via_rsdt(void **state)
{
    const void *t;
    uint32_t len;

    (void)state;
    make_rsdp(0, (uint32_t)RSDT_AT, 0);
    assert_int_equal(find("APIC", &t, &len), 0);
    assert_string_equal(err, "");
    assert_int_equal(len, madt_len);
    assert_memory_equal(t, at(MADT_AT), len);
    assert_int_equal(find("FACP", &t, &len), 0);
    assert_int_equal(len, 244);
}

static void test_find_via_xsdt(void **state)
{
    const void *t;
    uint32_t len;

    (void)state;
    /* RSDT deliberately broken: with an XSDT it must not be used. */
    w8(RSDT_AT + 20, 0x55);
    make_rsdp(2, (uint32_t)RSDT_AT, XSDT_AT);
    assert_int_equal(find("HPET", &t, &len), 0);
    assert_int_equal(len, 56);
    assert_memory_equal(t, "HPET", 4);
}

static void test_rev2_without_xsdt_uses_rsdt(void **state)
{
    const void *t;
    uint32_t len;

    (void)state;
    w8(XSDT_AT + 20, 0x55);     /* must not be touched */
    make_rsdp(2, (uint32_t)RSDT_AT, 0);
    assert_int_equal(find("APIC", &t, &len), 0);
    /* And revision 1 (not >= 2) ignores an XsdtAddress too. */
    make_rsdp(1, (uint32_t)RSDT_AT, 0);
    assert_int_equal(find("APIC", &t, &len), 0);
}

static void test_not_found(void **state)
{
    const void *t = (const void *)1;
    uint32_t len = 7;

    (void)state;
    make_rsdp(2, (uint32_t)RSDT_AT, XSDT_AT);
    assert_int_equal(find("BGRT", &t, &len), ACPI_ERR_NOT_FOUND);
    assert_null(t);
    assert_int_equal(len, 0);
    assert_string_equal(err, "acpi: no \"BGRT\" table among the 4 XSDT entries");
}

static void test_rsdp_errors(void **state)
{
    const void *t;
    uint32_t len;

    (void)state;
    make_rsdp(0, (uint32_t)RSDT_AT, 0);
    rsdp[8] = (uint8_t)(rsdp[8] + 0x3c);
    assert_int_equal(find("APIC", &t, &len), ACPI_ERR_CHECKSUM);
    assert_string_equal(err, "acpi: RSDP checksum bad (sum 0x3c)");

    make_rsdp(2, (uint32_t)RSDT_AT, XSDT_AT);
    rsdp[33] = 1;       /* reserved byte: only the extended checksum sees it */
    assert_int_equal(find("APIC", &t, &len), ACPI_ERR_CHECKSUM);
    assert_string_equal(err, "acpi: RSDP extended checksum bad (sum 0x01)");

    make_rsdp(0, (uint32_t)RSDT_AT, 0);
    rsdp[0] = 'r';
    assert_int_equal(find("APIC", &t, &len), ACPI_ERR_SIGNATURE);

    make_rsdp(0, (uint32_t)RSDT_AT, 0);
    assert_int_equal(acpi_find_table(rsdp, 19, "APIC", fake_map, &phys, &t,
                     &len, err, sizeof(err)),
             ACPI_ERR_RSDP);

    /* Revision 2 but only a v1-sized copy available. */
    make_rsdp(2, (uint32_t)RSDT_AT, XSDT_AT);
    assert_int_equal(acpi_find_table(rsdp, 20, "APIC", fake_map, &phys, &t,
                     &len, err, sizeof(err)),
             ACPI_ERR_RSDP);

    /* Length field larger than the bytes we have. */
    make_rsdp(2, (uint32_t)RSDT_AT, XSDT_AT);
    rsdp[20] = 40;
    assert_int_equal(find("APIC", &t, &len), ACPI_ERR_LENGTH);

    /* No root table address at all. */
    make_rsdp(0, 0, 0);
    assert_int_equal(find("APIC", &t, &len), ACPI_ERR_RSDP);

    assert_int_equal(acpi_find_table(NULL, 20, "APIC", fake_map, &phys, &t,
                     &len, err, sizeof(err)),
             ACPI_ERR_ARG);
}

static void test_root_errors(void **state)
{
    const void *t;
    uint32_t len;

    (void)state;
    make_rsdp(0, (uint32_t)RSDT_AT, 0);
    w8(RSDT_AT + 36, (uint8_t)(at(RSDT_AT)[36] + 0x10));
    assert_int_equal(find("APIC", &t, &len), ACPI_ERR_CHECKSUM);
    assert_string_equal(err, "acpi: RSDT checksum bad (sum 0x10) at 0x7fe0000 (RSDT)");

    setup(state);
    make_rsdp(2, (uint32_t)RSDT_AT, XSDT_AT);
    memcpy(at(XSDT_AT), "XSDX", 4);
    fix_sum(XSDT_AT);
    assert_int_equal(find("APIC", &t, &len), ACPI_ERR_SIGNATURE);

    setup(state);
    make_rsdp(2, (uint32_t)RSDT_AT, 0x1000);    /* outside fake RAM */
    assert_int_equal(find("APIC", &t, &len), ACPI_ERR_MAP);
    assert_string_equal(err, "acpi: XSDT at 0x1000 unmappable");

    /* Length not a whole number of entries. */
    setup(state);
    w32(RSDT_AT + 4, 36 + 4 * 4 - 2);
    fix_sum(RSDT_AT);
    make_rsdp(0, (uint32_t)RSDT_AT, 0);
    assert_int_equal(find("APIC", &t, &len), ACPI_ERR_LENGTH);
}

static void test_entry_errors(void **state)
{
    const void *t;
    uint32_t len;

    (void)state;
    /* Entry 1 (HPET) unmappable, before the MADT is reached. */
    make_rsdp(0, (uint32_t)RSDT_AT, 0);
    fail_addr = HPET_AT;
    assert_int_equal(find("APIC", &t, &len), ACPI_ERR_MAP);
    assert_string_equal(err, "acpi: RSDT entry 1 at 0x7fe3400 unmappable");

    /* Header maps, the full length does not. */
    fail_min_len = 37;
    assert_int_equal(find("APIC", &t, &len), ACPI_ERR_MAP);
    assert_string_equal(err, "acpi: HPET (RSDT entry 1 at 0x7fe3400): table length 0x38 overruns mappable memory");
    fail_addr = 0;
    fail_min_len = 0;

    /* Bad checksum of the wanted table. */
    w8(MADT_AT + 44 + 3, (uint8_t)(at(MADT_AT)[44 + 3] + 0x3c));
    assert_int_equal(find("APIC", &t, &len), ACPI_ERR_CHECKSUM);
    assert_string_equal(err, "acpi: MADT checksum bad (sum 0x3c) at 0x7fe8000 (RSDT entry 2)");

    /* Length below the header size. */
    setup(state);
    make_rsdp(2, (uint32_t)RSDT_AT, XSDT_AT);
    w32(SSDT_AT + 4, 35);
    assert_int_equal(find("APIC", &t, &len), ACPI_ERR_LENGTH);
    assert_string_equal(err, "acpi: SSDT (XSDT entry 0 at 0x7fe3000): table length 0x23 is below the 0x24-byte header");

    /* Length running off the end of memory. */
    setup(state);
    make_rsdp(2, (uint32_t)RSDT_AT, XSDT_AT);
    w32(HPET_AT + 4, 0x20000);
    assert_int_equal(find("APIC", &t, &len), ACPI_ERR_MAP);
    assert_non_null(strstr(err, "table length 0x20000 overruns"));

    /* A 64-bit entry that wraps the address space. */
    setup(state);
    make_rsdp(2, (uint32_t)RSDT_AT, XSDT_AT);
    w64(XSDT_AT + 36, 0xffffffffffffffe0ull);
    fix_sum(XSDT_AT);
    assert_int_equal(find("APIC", &t, &len), ACPI_ERR_MAP);

    /* NULL entry. */
    setup(state);
    make_rsdp(0, (uint32_t)RSDT_AT, 0);
    w32(RSDT_AT + 36 + 4, 0);
    fix_sum(RSDT_AT);
    assert_int_equal(find("APIC", &t, &len), ACPI_ERR_MAP);
    assert_string_equal(err, "acpi: RSDT entry 1 is a null pointer");
}

/* The 64-bit address wrap check itself, through a map that accepts anything. */
static const void *greedy_map(uint64_t pa, size_t len, void *ctx)
{
    static uint8_t hdr[36] = "XXXX";
    uint32_t big = 0x100;

    (void)ctx;
    if (pa == 0xfffffffffffffff0ull && len == 36) {
        memcpy(hdr + 4, &big, 4);
        return hdr;
    }
    return fake_map(pa, len, &phys);
}

static void test_address_wrap(void **state)
{
    const void *t;
    uint32_t len;

    (void)state;
    make_rsdp(2, (uint32_t)RSDT_AT, XSDT_AT);
    w64(XSDT_AT + 36, 0xfffffffffffffff0ull);
    fix_sum(XSDT_AT);
    assert_int_equal(acpi_find_table(rsdp, 36, "APIC", greedy_map, NULL, &t,
                     &len, err, sizeof(err)),
             ACPI_ERR_LENGTH);
    assert_string_equal(err, "acpi: XXXX (XSDT entry 0 at 0xfffffffffffffff0): table length 0x100 overruns the address space");
}

/* ---- tests: MADT ------------------------------------------------------ */

static struct acpi_madt_info mi;

static int parse_madt_now(void)
{
    memset(err, 'X', sizeof(err));
    return acpi_parse_madt(at(MADT_AT), madt_len, &mi, err, sizeof(err));
}

static void test_madt_basic(void **state)
{
    (void)state;
    madt_begin();
    madt_lapic(0, 0, 1);                /* enabled */
    madt_lapic(1, 2, 3);                /* enabled + online capable bit */
    madt_lapic(2, 4, 2);                /* online capable only */
    madt_lapic(3, 6, 0);                /* unusable */
    madt_ioapic(1);
    madt_ioapic(2);
    {
        uint8_t iso[10] = { 2, 10, 0, 0, 2, 0, 0, 0, 0, 0 };
        uint8_t odd[5] = { 0x7f, 5, 1, 2, 3 };  /* unknown: skipped */

        madt_add(iso, 10);
        madt_add(odd, 5);
    }
    madt_x2apic(0x100, 1, 100);
    madt_x2apic(0x101, 0, 101);

    assert_int_equal(parse_madt_now(), 0);
    assert_string_equal(err, "");
    assert_int_equal(mi.lapic_addr, 0xfee00000u);
    assert_int_equal(mi.flags, 1);
    assert_int_equal(mi.n_entries, 10);
    assert_int_equal(mi.n_ioapic, 2);
    assert_int_equal(mi.ncpus, 6);

    assert_int_equal(mi.cpus[0].apic_id, 0);
    assert_true(mi.cpus[0].enabled);
    assert_false(mi.cpus[0].online_capable);
    assert_false(mi.cpus[0].x2apic);

    assert_int_equal(mi.cpus[1].apic_id, 2);
    assert_int_equal(mi.cpus[1].uid, 1);
    assert_true(mi.cpus[1].enabled);
    assert_true(mi.cpus[1].online_capable);

    assert_false(mi.cpus[2].enabled);
    assert_true(mi.cpus[2].online_capable);

    assert_false(mi.cpus[3].enabled);
    assert_false(mi.cpus[3].online_capable);

    assert_int_equal(mi.cpus[4].apic_id, 0x100);
    assert_int_equal(mi.cpus[4].uid, 100);
    assert_true(mi.cpus[4].x2apic);
    assert_true(mi.cpus[4].enabled);
    assert_int_equal(mi.cpus[5].apic_id, 0x101);
    assert_false(mi.cpus[5].enabled);
}

static void test_madt_lapic_override(void **state)
{
    uint8_t ov[12] = { 5, 12, 0, 0, 0x00, 0x10, 0xe0, 0xfe, 0, 0, 0, 0 };
    uint8_t high[12] = { 5, 12, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
    uint8_t short_ov[8] = { 5, 8 };

    (void)state;
    madt_begin();
    madt_lapic(0, 0, 1);
    madt_add(ov, 12);
    assert_int_equal(parse_madt_now(), 0);
    assert_int_equal(mi.lapic_addr, 0xfee01000u);

    madt_begin();
    madt_add(high, 12);
    assert_int_equal(parse_madt_now(), ACPI_ERR_ENTRY);
    assert_string_equal(err, "acpi: MADT entry 0 at offset 0x2c: local APIC address override 0x100000000 is above 4 GiB");

    madt_begin();
    madt_add(short_ov, 8);
    assert_int_equal(parse_madt_now(), ACPI_ERR_ENTRY);
}

static void test_madt_bad_entries(void **state)
{
    uint8_t zero[2] = { 0x42, 0 };
    uint8_t one[2] = { 0x42, 1 };
    uint8_t over[4] = { 0x42, 40, 0, 0 };
    uint8_t short_lapic[6] = { 0, 6, 0, 1, 1, 0 };
    uint8_t short_x2[12] = { 9, 12 };
    uint8_t short_io[8] = { 1, 8 };

    (void)state;
    /* Length 0 must be rejected, not loop forever. */
    madt_begin();
    madt_lapic(0, 0, 1);
    madt_add(zero, 2);
    assert_int_equal(parse_madt_now(), ACPI_ERR_ENTRY);
    assert_string_equal(err, "acpi: MADT entry 1 (type 66) at offset 0x34 has length 0");

    madt_begin();
    madt_add(one, 2);
    assert_int_equal(parse_madt_now(), ACPI_ERR_ENTRY);

    madt_begin();
    madt_add(over, 4);
    assert_int_equal(parse_madt_now(), ACPI_ERR_ENTRY);
    assert_string_equal(err, "acpi: MADT entry 0 (type 66) at offset 0x2c overruns the table (length 40, table 0x30)");

    madt_begin();
    madt_add(short_lapic, 6);
    assert_int_equal(parse_madt_now(), ACPI_ERR_ENTRY);
    madt_begin();
    madt_add(short_x2, 12);
    assert_int_equal(parse_madt_now(), ACPI_ERR_ENTRY);
    madt_begin();
    madt_add(short_io, 8);
    assert_int_equal(parse_madt_now(), ACPI_ERR_ENTRY);

    /* A single trailing byte cannot even hold Type and Length. */
    madt_begin();
    madt_lapic(0, 0, 1);
    madt_add(one, 1);
    assert_int_equal(parse_madt_now(), ACPI_ERR_ENTRY);
    assert_string_equal(err, "acpi: MADT entry 1 at offset 0x34 truncated (1 byte left)");
}

static void test_madt_header_checks(void **state)
{
    (void)state;
    madt_begin();
    madt_lapic(0, 0, 1);

    /* Checksum. */
    w8(MADT_AT + 36, 0x01);     /* lapic_addr low byte changed */
    assert_int_equal(parse_madt_now(), ACPI_ERR_CHECKSUM);
    assert_string_equal(err, "acpi: MADT checksum bad (sum 0x01)");
    fix_sum(MADT_AT);

    /* Length field beyond what the caller says is readable. */
    assert_int_equal(acpi_parse_madt(at(MADT_AT), madt_len - 1, &mi, err,
                     sizeof(err)),
             ACPI_ERR_LENGTH);
    /* Too short for the fixed MADT fields. */
    assert_int_equal(acpi_parse_madt(at(MADT_AT), 40, &mi, err, sizeof(err)),
             ACPI_ERR_LENGTH);
    /* Wrong signature. */
    memcpy(at(MADT_AT), "APIX", 4);
    fix_sum(MADT_AT);
    assert_int_equal(parse_madt_now(), ACPI_ERR_SIGNATURE);
    assert_int_equal(acpi_parse_madt(NULL, 100, &mi, err, sizeof(err)),
             ACPI_ERR_ARG);
}

/* Exactly sized heap copy: the parser must stay inside its Length. */
static void test_madt_no_overread(void **state)
{
    uint8_t *copy;

    (void)state;
    madt_begin();
    madt_lapic(0, 0, 1);
    madt_x2apic(7, 1, 7);
    copy = malloc(madt_len);
    assert_non_null(copy);
    memcpy(copy, at(MADT_AT), madt_len);
    assert_int_equal(acpi_parse_madt(copy, madt_len, &mi, err, sizeof(err)), 0);
    assert_int_equal(mi.ncpus, 2);
    free(copy);
}

static void test_madt_duplicates(void **state)
{
    (void)state;
    madt_begin();
    madt_lapic(0, 5, 1);
    madt_lapic(1, 5, 1);
    assert_int_equal(parse_madt_now(), ACPI_ERR_DUP);
    assert_string_equal(err, "acpi: MADT entry 1 at offset 0x34: duplicate APIC ID 0x5 (UIDs 0 and 1)");

    /* Same ID through a local APIC and an x2APIC entry. */
    madt_begin();
    madt_lapic(0, 9, 1);
    madt_x2apic(9, 2, 1);
    assert_int_equal(parse_madt_now(), ACPI_ERR_DUP);

    /* Unusable placeholder entries may repeat (firmware pads with 0xff). */
    madt_begin();
    madt_lapic(0, 0, 1);
    madt_lapic(1, 0xff, 0);
    madt_lapic(2, 0xff, 0);
    assert_int_equal(parse_madt_now(), 0);
    assert_int_equal(mi.ncpus, 3);
    /* ... but an unusable entry does not hide a usable duplicate. */
    madt_lapic(3, 0xff, 1);
    assert_int_equal(parse_madt_now(), 0);
    madt_lapic(4, 0xff, 2);
    assert_int_equal(parse_madt_now(), ACPI_ERR_DUP);
}

static void test_madt_too_many(void **state)
{
    unsigned i;

    (void)state;
    madt_begin();
    for (i = 0; i < ACPI_MAX_CPUS; i++)
        madt_x2apic(i, 1, i);
    assert_int_equal(parse_madt_now(), 0);
    assert_int_equal(mi.ncpus, ACPI_MAX_CPUS);
    assert_int_equal(mi.cpus[255].apic_id, 255);
    madt_x2apic(1000, 1, 1000);
    assert_int_equal(parse_madt_now(), ACPI_ERR_TOO_MANY);
    assert_string_equal(err, "acpi: MADT entry 256 at offset 0x102c: more than 256 processors");
}

/* ---- tests: FADT ------------------------------------------------------ */

static struct acpi_fadt_info fi;

static int parse_fadt_now(uint32_t len)
{
    memset(err, 'X', sizeof(err));
    return acpi_parse_fadt(at(FADT_AT), len, &fi, err, sizeof(err));
}

static void test_fadt_v1(void **state)
{
    (void)state;
    make_fadt(116);
    assert_int_equal(parse_fadt_now(116), 0);
    assert_int_equal(fi.sci_int, 9);
    assert_int_equal(fi.smi_cmd, 0xb2);
    assert_int_equal(fi.acpi_enable, 0xf1);
    assert_int_equal(fi.acpi_disable, 0xf0);
    assert_int_equal(fi.pm1a_cnt_blk, 0x604);
    assert_int_equal(fi.pm_tmr_blk, 0x608);
    assert_int_equal(fi.pm_tmr_len, 4);
    assert_true(fi.tmr_val_ext);

    w32(FADT_AT + 112, 0);
    fix_sum(FADT_AT);
    assert_int_equal(parse_fadt_now(116), 0);
    assert_false(fi.tmr_val_ext);
}

static void test_fadt_x_fields(void **state)
{
    (void)state;
    /* Long FADT with zero X_ fields: 32-bit values stand. */
    make_fadt(244);
    assert_int_equal(parse_fadt_now(244), 0);
    assert_int_equal(fi.pm_tmr_blk, 0x608);

    /* X_PM_TMR_BLK / X_PM1a_CNT_BLK in system I/O override. */
    gas(FADT_AT + 208, 1, 32, 0xb008);
    gas(FADT_AT + 172, 1, 16, 0xb004);
    fix_sum(FADT_AT);
    assert_int_equal(parse_fadt_now(244), 0);
    assert_int_equal(fi.pm_tmr_blk, 0xb008);
    assert_int_equal(fi.pm_tmr_len, 4);
    assert_int_equal(fi.pm1a_cnt_blk, 0xb004);

    /* In system memory space they cannot be ports: ignored. */
    gas(FADT_AT + 208, 0, 32, 0xfed00000u);
    fix_sum(FADT_AT);
    assert_int_equal(parse_fadt_now(244), 0);
    assert_int_equal(fi.pm_tmr_blk, 0x608);

    /* A table too short to contain the X_ field: not read. */
    make_fadt(200);
    gas(FADT_AT + 208, 1, 32, 0xb008);  /* beyond Length: garbage */
    assert_int_equal(parse_fadt_now(200), 0);
    assert_int_equal(fi.pm_tmr_blk, 0x608);
}

static void test_fadt_errors(void **state)
{
    (void)state;
    make_fadt(100);
    assert_int_equal(parse_fadt_now(100), ACPI_ERR_LENGTH);
    assert_string_equal(err, "acpi: FADT is 0x64 bytes, need at least 0x74");

    make_fadt(116);
    assert_int_equal(parse_fadt_now(115), ACPI_ERR_LENGTH);
    assert_int_equal(parse_fadt_now(200), 0);   /* more readable is fine */

    w8(FADT_AT + 46, 10);
    assert_int_equal(parse_fadt_now(116), ACPI_ERR_CHECKSUM);
    assert_string_equal(err, "acpi: FADT checksum bad (sum 0x01)");

    make_fadt(116);
    w32(FADT_AT + 4, 100);      /* Length field says 100 */
    fix_sum(FADT_AT);
    assert_int_equal(parse_fadt_now(116), ACPI_ERR_LENGTH);

    make_fadt(116);
    memcpy(at(FADT_AT), "FADT", 4);
    fix_sum(FADT_AT);
    assert_int_equal(parse_fadt_now(116), ACPI_ERR_SIGNATURE);
    assert_string_equal(err, "acpi: FADT signature is \"FADT\", expected \"FACP\"");
}

/* End to end: RSDP -> XSDT -> FADT -> parsed fields. */
static void test_find_then_parse(void **state)
{
    const void *t;
    uint32_t len;

    (void)state;
    make_rsdp(2, (uint32_t)RSDT_AT, XSDT_AT);
    assert_int_equal(find("FACP", &t, &len), 0);
    assert_int_equal(acpi_parse_fadt(t, len, &fi, err, sizeof(err)), 0);
    assert_int_equal(fi.smi_cmd, 0xb2);
    assert_int_equal(find("APIC", &t, &len), 0);
    assert_int_equal(acpi_parse_madt(t, len, &mi, err, sizeof(err)), 0);
    assert_int_equal(mi.ncpus, 1);
    assert_int_equal(mi.n_ioapic, 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_checksum_ok),
        T(test_find_via_rsdt),
        T(test_find_via_xsdt),
        T(test_rev2_without_xsdt_uses_rsdt),
        T(test_not_found),
        T(test_rsdp_errors),
        T(test_root_errors),
        T(test_entry_errors),
        T(test_address_wrap),
        T(test_madt_basic),
        T(test_madt_lapic_override),
        T(test_madt_bad_entries),
        T(test_madt_header_checks),
        T(test_madt_no_overread),
        T(test_madt_duplicates),
        T(test_madt_too_many),
        T(test_fadt_v1),
        T(test_fadt_x_fields),
        T(test_fadt_errors),
        T(test_find_then_parse),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
