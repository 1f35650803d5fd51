/*
 * fuzz_acpi.c - libFuzzer target for drivers/acpi_tables.c.
 *
 * Two uses of each input:
 *
 * 1. A tiny machine.  Input layout:
 *      [0]       rsdp_len: how many RSDP bytes the caller has (value % 37)
 *      [1]       signature to look for: bits 0-1 pick "APIC", "FACP",
 *                "HPET" or "XSDT" (a root table's own signature)
 *      [2]       error buffer size (0: none; 160 if the input is shorter)
 *      [3]       bit 0: racy memory: every second mapping sees byte
 *                (value >> 1) % len of the range incremented, as if
 *                another CPU were rewriting the tables
 *      [4..39]   the RSDP (36 bytes; zero-filled if the input is shorter)
 *      [40..]    physical memory at MEM_BASE (0x1000), also mirrored at
 *                HIGH_BASE (2^64 - 64 KiB, so lengths can run past 2^64);
 *                the rest is unmapped
 *    acpi_find_table walks it through map(), which returns a fresh heap
 *    copy of exactly the requested range (so ASan catches any read past
 *    the length asked for) and keeps every copy until the call returns.
 *    A found MADT/FADT is then parsed from that mapping.
 *
 * 2. The raw input, as an exactly sized heap copy, to acpi_parse_madt and
 *    acpi_parse_fadt.
 *
 * Checked (abort() on violation): return codes are known, error messages
 * are empty on success and NUL-terminated; a found table is one of the
 * mappings, of exactly the returned length, with the signature asked for
 * and a valid checksum; a parsed MADT has no more than ACPI_MAX_CPUS
 * processors and no duplicate APIC ID among usable ones.
 *
 * Build: tools/fuzz.sh (clang -fsanitize=fuzzer,address,undefined).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/acpi_tables.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                      \
    do {                                                             \
        if (!(cond)) {                                           \
            fprintf(stderr, "fuzz_acpi: check failed: %s (%s:%d)\n", \
                #cond, __FILE__, __LINE__);              \
            abort();                                         \
        }                                                        \
    } while (0)

#define HDR_LEN  4u
#define RSDP_OFF HDR_LEN
#define MEM_OFF  (HDR_LEN + ACPI_RSDP_V2_LEN)
#define MEM_BASE 0x1000ull
#define HIGH_BASE 0xFFFFFFFFFFFF0000ull

/* ---- the fake machine ------------------------------------------------ */

struct mapping {
    const uint8_t *p;
    size_t len;
};

struct machine {
    const uint8_t *mem; /* the input's memory part */
    size_t mem_len;
    struct mapping *maps;       /* every copy handed out during one call */
    size_t nmaps, cap;
    unsigned racy;              /* input byte 3 */
};

static const void *map(uint64_t phys, size_t len, void *ctx)
{
    struct machine *m = ctx;
    uint64_t off;
    uint8_t *p;

    if (phys >= HIGH_BASE)
        off = phys - HIGH_BASE;
    else if (phys >= MEM_BASE)
        off = phys - MEM_BASE;
    else
        return NULL;
    if (off > m->mem_len || len > m->mem_len - off)
        return NULL;
    if (m->nmaps == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 16;
        m->maps = realloc(m->maps, m->cap * sizeof(*m->maps));
        if (!m->maps)
            abort();
    }
    p = malloc(len ? len : 1);
    if (!p)
        abort();
    if (len)
        memcpy(p, m->mem + off, len);
    if ((m->racy & 1) && len && m->nmaps % 2)
        p[(m->racy >> 1) % len]++;
    m->maps[m->nmaps].p = p;
    m->maps[m->nmaps].len = len;
    m->nmaps++;
    return p;
}

static void unmap_all(struct machine *m)
{
    for (size_t i = 0; i < m->nmaps; i++)
        free((void *)m->maps[i].p);
    free(m->maps);
    m->maps = NULL;
    m->nmaps = m->cap = 0;
}

/* ---- checks -------------------------------------------------------- */

static bool nul_within(const char *s, size_t n)
{
    return memchr(s, '\0', n) != NULL;
}

static void check_err(int rc, int min_rc, const char *err, size_t errlen)
{
    CHECK(rc <= 0 && rc >= min_rc);
    if (!errlen)
        return;
    CHECK(nul_within(err, errlen));
    if (rc == 0)
        CHECK(err[0] == '\0');
    else if (errlen > 1)
        CHECK(err[0] != '\0');
}

static bool usable(const struct acpi_cpu *c)
{
    return c->enabled || c->online_capable;
}

static void check_madt(const struct acpi_madt_info *mi)
{
    CHECK(mi->ncpus <= ACPI_MAX_CPUS);
    CHECK(mi->ncpus + mi->n_ioapic <= mi->n_entries);
    for (unsigned i = 0; i < mi->ncpus; i++) {
        if (!mi->cpus[i].x2apic)
            CHECK(mi->cpus[i].apic_id <= 0xff && mi->cpus[i].uid <= 0xff);
        if (!usable(&mi->cpus[i]))
            continue;
        for (unsigned j = i + 1; j < mi->ncpus; j++)
            CHECK(!usable(&mi->cpus[j]) ||
                  mi->cpus[j].apic_id != mi->cpus[i].apic_id);
    }
}

/* Parse [t, t+len) as both tables, each from its own exact copy, with an
 * error buffer of errlen bytes (none if 0). */
static void parse_both(const uint8_t *t, size_t len, size_t errlen)
{
    static struct acpi_madt_info madt;
    struct acpi_fadt_info fadt;
    char *err = errlen ? malloc(errlen) : NULL;
    uint8_t *copy;
    int rc;

    if (errlen && !err)
        abort();

    copy = malloc(len ? len : 1);
    if (!copy)
        abort();
    if (len)
        memcpy(copy, t, len);
    rc = acpi_parse_madt(copy, len, &madt, err, errlen);
    check_err(rc, ACPI_ERR_TOO_MANY, err, errlen);
    if (rc == 0) {
        uint32_t length;

        memcpy(&length, copy + 4, 4);
        CHECK(memcmp(copy, "APIC", 4) == 0);
        CHECK(length >= 44 && length <= len);
        CHECK(acpi_checksum_ok(copy, length));
        check_madt(&madt);
    }
    rc = acpi_parse_fadt(copy, len, &fadt, err, errlen);
    check_err(rc, ACPI_ERR_TOO_MANY, err, errlen);
    if (rc == 0) {
        uint32_t length;

        memcpy(&length, copy + 4, 4);
        CHECK(memcmp(copy, "FACP", 4) == 0);
        CHECK(length >= 116 && length <= len);
        CHECK(acpi_checksum_ok(copy, length));
    }
    free(copy);
    free(err);
}

static void find(const uint8_t *data, size_t size, const char sig[4],
         size_t errlen)
{
    struct machine m = { 0 };
    uint8_t rsdp_bytes[ACPI_RSDP_V2_LEN] = { 0 };
    size_t rsdp_len = data[0] % (ACPI_RSDP_V2_LEN + 1);
    uint8_t *rsdp;
    const void *table = (const void *)&m;       /* must be overwritten */
    uint32_t len = 0xdeadbeef;
    char *err = errlen ? malloc(errlen) : NULL;
    int rc;

    if (errlen && !err)
        abort();
    if (size > RSDP_OFF)
        memcpy(rsdp_bytes, data + RSDP_OFF,
               size - RSDP_OFF < sizeof(rsdp_bytes) ? size - RSDP_OFF
                               : sizeof(rsdp_bytes));
    rsdp = malloc(rsdp_len ? rsdp_len : 1);
    if (!rsdp)
        abort();
    memcpy(rsdp, rsdp_bytes, rsdp_len);
    if (size > MEM_OFF) {
        m.mem = data + MEM_OFF;
        m.mem_len = size - MEM_OFF;
    }
    m.racy = size > 3 ? data[3] : 0;

    rc = acpi_find_table(rsdp, rsdp_len, sig, map, &m, &table, &len, err,
                 errlen);
    check_err(rc, ACPI_ERR_TOO_MANY, err, errlen);
    if (rc == 0) {
        bool found = false;

        for (size_t i = 0; i < m.nmaps; i++)
            found |= m.maps[i].p == table && m.maps[i].len == len;
        CHECK(found);
        CHECK(len >= ACPI_SDT_HDR_LEN);
        CHECK(memcmp(table, sig, 4) == 0);
        CHECK(acpi_checksum_ok(table, len));
        parse_both(table, len, 128);
    } else {
        CHECK(table == NULL && len == 0);
    }
    unmap_all(&m);
    free(rsdp);
    free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const sigs[4] = { "APIC", "FACP", "HPET", "XSDT" };

    if (size >= 1)
        find(data, size, sigs[size >= 2 ? data[1] & 3 : 0],
             size >= 3 ? data[2] : 160);
    parse_both(data, size, 160);
    return 0;
}
