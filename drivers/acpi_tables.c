/*
 * acpi_tables.c - ACPI RSDP/RSDT/XSDT walking and MADT/FADT parsing.
 *
 * Firmware tables are input we verify rather than trust: each length is
 * checked before the bytes it covers are read, and fields are fetched
 * with memcpy because ACPI structures are packed (XSDT entries, for one,
 * are only 4-byte aligned).  Section numbers refer to ACPI 6.x.
 */
#include "drivers/acpi_tables.h"
#include "lib/kstring.h"
#include "lib/printf.h"
#include "lib/bytes.h"

/* §5.2.5.3 RSDP field offsets. */
#define RSDP_CHECKSUM   8
#define RSDP_REVISION   15
#define RSDP_RSDT_ADDR  16
#define RSDP_LENGTH     20
#define RSDP_XSDT_ADDR  24

/* §5.2.6 System Description Table header offsets. */
#define SDT_SIGNATURE 0
#define SDT_LENGTH    4

/* §5.2.12 MADT: header, Local Interrupt Controller Address, Flags. */
#define MADT_LAPIC_ADDR   36
#define MADT_FLAGS        40
#define MADT_ENTRIES      44
#define MADT_TYPE_LAPIC   0     /* §5.2.12.2 Processor Local APIC */
#define MADT_TYPE_IOAPIC  1     /* §5.2.12.3 I/O APIC */
#define MADT_TYPE_LAPIC_OVERRIDE 5      /* §5.2.12.8 Local APIC Address Override */
#define MADT_TYPE_X2APIC  9     /* §5.2.12.12 Processor Local x2APIC */
#define MADT_LAPIC_LEN    8
#define MADT_IOAPIC_LEN   12
#define MADT_OVERRIDE_LEN 12
#define MADT_X2APIC_LEN   16
#define MADT_CPU_ENABLED        (1u << 0)       /* Local APIC Flags, §5.2.12.2 */
#define MADT_CPU_ONLINE_CAPABLE (1u << 1)

/* §5.2.9 FADT field offsets (ACPI 1.0 layout ends after Flags, at 116). */
#define FADT_SCI_INT       46
#define FADT_SMI_CMD       48
#define FADT_ACPI_ENABLE   52
#define FADT_ACPI_DISABLE  53
#define FADT_PM1A_CNT_BLK  64
#define FADT_PM_TMR_BLK    76
#define FADT_PM_TMR_LEN    91
#define FADT_FLAGS        112
#define FADT_V1_LEN       116
#define FADT_X_PM1A_CNT_BLK 172 /* Generic Address Structures, ACPI 2.0+ */
#define FADT_X_PM_TMR_BLK   208
#define FADT_TMR_VAL_EXT (1u << 8)      /* Fixed Feature Flags, §5.2.9 */

/* §5.2.3.2 Generic Address Structure. */
#define GAS_LEN          12
#define GAS_SPACE_ID     0
#define GAS_BIT_WIDTH    1
#define GAS_ADDRESS      4
#define GAS_SPACE_SYSIO  1

static uint8_t rd8(const uint8_t *p) { return *p; }

static uint8_t sum8(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t s = 0;

    while (len--)
        s = (uint8_t)(s + *b++);
    return s;
}

bool acpi_checksum_ok(const void *p, size_t len)
{
    return sum8(p, len) == 0;
}

/*
 * Name for messages: the table's common name where the signature is
 * historic ("APIC" is the MADT, "FACP" the FADT), else the signature
 * itself with unprintable bytes shown as '?'.
 */
static const char *table_name(const uint8_t sig[4], char buf[5])
{
    int i;

    if (memcmp(sig, "APIC", 4) == 0)
        return "MADT";
    if (memcmp(sig, "FACP", 4) == 0)
        return "FADT";
    for (i = 0; i < 4; i++)
        buf[i] = (sig[i] >= 0x20 && sig[i] < 0x7f) ? (char)sig[i] : '?';
    buf[4] = '\0';
    return buf;
}

/*
 * Map and validate the SDT at phys (§5.2.6): header mappable, Length >=
 * 36 and not wrapping, whole table mappable, checksum zero.  `what`
 * describes the reference for messages (e.g. "XSDT entry 3").
 */
static int map_sdt(uint64_t phys, const char *what, acpi_map_fn map,
           void *ctx, const uint8_t **table, uint32_t *len,
           char *err, size_t errlen)
{
    const uint8_t *hdr, *t;
    uint32_t length;
    uint8_t s;
    char nb[5];

    hdr = map(phys, ACPI_SDT_HDR_LEN, ctx);
    if (!hdr)
        return kfail(err, errlen, ACPI_ERR_MAP,
                "acpi: %s at 0x%llx unmappable", what,
                (unsigned long long)phys);
    length = rd32(hdr + SDT_LENGTH);
    if (length < ACPI_SDT_HDR_LEN)
        return kfail(err, errlen, ACPI_ERR_LENGTH,
                "acpi: %s (%s at 0x%llx): table length 0x%x is below the 0x%x-byte header",
                table_name(hdr, nb), what, (unsigned long long)phys,
                length, ACPI_SDT_HDR_LEN);
    if (phys + length < phys)
        return kfail(err, errlen, ACPI_ERR_LENGTH,
                "acpi: %s (%s at 0x%llx): table length 0x%x overruns the address space",
                table_name(hdr, nb), what, (unsigned long long)phys,
                length);
    t = map(phys, length, ctx);
    if (!t)
        return kfail(err, errlen, ACPI_ERR_MAP,
                "acpi: %s (%s at 0x%llx): table length 0x%x overruns mappable memory",
                table_name(hdr, nb), what, (unsigned long long)phys,
                length);
    /* Re-read Length from the full mapping: it is the copy we checksum. */
    if (rd32(t + SDT_LENGTH) != length)
        return kfail(err, errlen, ACPI_ERR_LENGTH,
                "acpi: %s at 0x%llx: table length changed between mappings",
                what, (unsigned long long)phys);
    s = sum8(t, length);
    if (s != 0)
        return kfail(err, errlen, ACPI_ERR_CHECKSUM,
                "acpi: %s checksum bad (sum 0x%02x) at 0x%llx (%s)",
                table_name(t, nb), s, (unsigned long long)phys, what);
    *table = t;
    *len = length;
    return 0;
}

/* Validate the RSDP (§5.2.5.3) and pick the root table to walk. */
static int check_rsdp(const uint8_t *r, size_t rsdp_len, uint64_t *root,
              bool *xsdt, char *err, size_t errlen)
{
    uint8_t s, rev;

    if (rsdp_len < ACPI_RSDP_V1_LEN)
        return kfail(err, errlen, ACPI_ERR_RSDP,
                "acpi: RSDP is 0x%zx bytes, need at least 0x%x",
                rsdp_len, ACPI_RSDP_V1_LEN);
    if (memcmp(r, "RSD PTR ", 8) != 0)
        return kfail(err, errlen, ACPI_ERR_SIGNATURE,
                "acpi: RSDP signature is not \"RSD PTR \"");
    /* The ACPI 1.0 checksum covers only the first 20 bytes. */
    s = sum8(r, ACPI_RSDP_V1_LEN);
    if (s != 0)
        return kfail(err, errlen, ACPI_ERR_CHECKSUM,
                "acpi: RSDP checksum bad (sum 0x%02x)", s);
    rev = rd8(r + RSDP_REVISION);
    if (rev >= 2) {
        uint32_t length;

        if (rsdp_len < ACPI_RSDP_V2_LEN)
            return kfail(err, errlen, ACPI_ERR_RSDP,
                    "acpi: RSDP revision %u but only 0x%zx bytes (need 0x%x)",
                    rev, rsdp_len, ACPI_RSDP_V2_LEN);
        length = rd32(r + RSDP_LENGTH);
        if (length < ACPI_RSDP_V2_LEN || length > rsdp_len)
            return kfail(err, errlen, ACPI_ERR_LENGTH,
                    "acpi: RSDP length 0x%x invalid (min 0x%x, have 0x%zx bytes)",
                    length, ACPI_RSDP_V2_LEN, rsdp_len);
        s = sum8(r, length);
        if (s != 0)
            return kfail(err, errlen, ACPI_ERR_CHECKSUM,
                    "acpi: RSDP extended checksum bad (sum 0x%02x)",
                    s);
        *root = rd64(r + RSDP_XSDT_ADDR);
        if (*root) {
            *xsdt = true;
            return 0;
        }
    }
    *xsdt = false;
    *root = rd32(r + RSDP_RSDT_ADDR);
    if (*root == 0)
        return kfail(err, errlen, ACPI_ERR_RSDP,
                "acpi: RSDP (revision %u) has no RSDT/XSDT address",
                rev);
    return 0;
}

int acpi_find_table(const void *rsdp, size_t rsdp_len, const char sig[4],
            acpi_map_fn map, void *ctx, const void **table,
            uint32_t *len, char *err, size_t errlen)
{
    const uint8_t *root;
    uint64_t root_phys = 0;
    uint32_t root_len, i, n;
    size_t esize;
    bool xsdt = false;
    const char *rname;
    char what[48];
    int rc;

    if (err && errlen)
        err[0] = '\0';
    if (!rsdp || !sig || !map || !table || !len)
        return kfail(err, errlen, ACPI_ERR_ARG,
                "acpi: NULL argument to acpi_find_table");
    *table = NULL;
    *len = 0;

    rc = check_rsdp(rsdp, rsdp_len, &root_phys, &xsdt, err, errlen);
    if (rc)
        return rc;
    rname = xsdt ? "XSDT" : "RSDT";
    esize = xsdt ? 8 : 4;       /* §5.2.8 64-bit, §5.2.7 32-bit entries */

    rc = map_sdt(root_phys, rname, map, ctx, &root, &root_len, err, errlen);
    if (rc)
        return rc;
    if (memcmp(root, rname, 4) != 0)
        return kfail(err, errlen, ACPI_ERR_SIGNATURE,
                "acpi: %s at 0x%llx has signature \"%.4s\"", rname,
                (unsigned long long)root_phys, (const char *)root);
    if ((root_len - ACPI_SDT_HDR_LEN) % esize)
        return kfail(err, errlen, ACPI_ERR_LENGTH,
                "acpi: %s length 0x%x leaves a partial entry",
                rname, root_len);
    n = (uint32_t)((root_len - ACPI_SDT_HDR_LEN) / esize);

    for (i = 0; i < n; i++) {
        const uint8_t *e = root + ACPI_SDT_HDR_LEN + (size_t)i * esize;
        uint64_t phys = xsdt ? rd64(e) : rd32(e);
        const uint8_t *t;
        uint32_t tlen;

        ksnprintf(what, sizeof(what), "%s entry %u", rname, i);
        if (phys == 0)
            return kfail(err, errlen, ACPI_ERR_MAP,
                    "acpi: %s is a null pointer", what);
        rc = map_sdt(phys, what, map, ctx, &t, &tlen, err, errlen);
        if (rc)
            return rc;
        if (memcmp(t, sig, 4) == 0) {
            *table = t;
            *len = tlen;
            return 0;
        }
    }
    return kfail(err, errlen, ACPI_ERR_NOT_FOUND,
            "acpi: no \"%.4s\" table among the %u %s entries", sig, n,
            rname);
}

/*
 * Common header checks for the parsers: enough bytes, signature, Length
 * within what is readable, checksum.  Returns the Length to use.
 */
static int check_header(const uint8_t *t, size_t len, const char *sig,
            const char *name, size_t min_len, uint32_t *length,
            char *err, size_t errlen)
{
    uint8_t s;

    if (!t)
        return kfail(err, errlen, ACPI_ERR_ARG, "acpi: %s pointer is NULL",
                name);
    if (len < min_len)
        return kfail(err, errlen, ACPI_ERR_LENGTH,
                "acpi: %s is 0x%zx bytes, need at least 0x%zx",
                name, len, min_len);
    if (memcmp(t + SDT_SIGNATURE, sig, 4) != 0)
        return kfail(err, errlen, ACPI_ERR_SIGNATURE,
                "acpi: %s signature is \"%.4s\", expected \"%s\"",
                name, (const char *)t, sig);
    *length = rd32(t + SDT_LENGTH);
    if (*length < min_len)
        return kfail(err, errlen, ACPI_ERR_LENGTH,
                "acpi: %s table length 0x%x is below 0x%zx",
                name, *length, min_len);
    if (*length > len)
        return kfail(err, errlen, ACPI_ERR_LENGTH,
                "acpi: %s table length 0x%x overruns the 0x%zx bytes available",
                name, *length, len);
    s = sum8(t, *length);
    if (s != 0)
        return kfail(err, errlen, ACPI_ERR_CHECKSUM,
                "acpi: %s checksum bad (sum 0x%02x)", name, s);
    return 0;
}

static bool cpu_usable(const struct acpi_cpu *c)
{
    return c->enabled || c->online_capable;
}

static int add_cpu(struct acpi_madt_info *out, const struct acpi_cpu *c,
           unsigned idx, uint32_t off, char *err, size_t errlen)
{
    unsigned i;

    if (cpu_usable(c)) {
        for (i = 0; i < out->ncpus; i++) {
            const struct acpi_cpu *o = &out->cpus[i];

            if (cpu_usable(o) && o->apic_id == c->apic_id)
                return kfail(err, errlen, ACPI_ERR_DUP,
                        "acpi: MADT entry %u at offset 0x%x: duplicate APIC ID 0x%x (UIDs %u and %u)",
                        idx, off, c->apic_id, o->uid, c->uid);
        }
    }
    if (out->ncpus >= ACPI_MAX_CPUS)
        return kfail(err, errlen, ACPI_ERR_TOO_MANY,
                "acpi: MADT entry %u at offset 0x%x: more than %u processors",
                idx, off, ACPI_MAX_CPUS);
    out->cpus[out->ncpus++] = *c;
    return 0;
}

/* The structure header at off (§5.2.12: Type and Length bytes), within
 * the table and long enough to move on. */
static int madt_header(const uint8_t *t, uint32_t off, uint32_t length, unsigned idx,
               uint8_t *type, uint8_t *elen, char *err, size_t errlen)
{
    if (length - off < 2)
        return kfail(err, errlen, ACPI_ERR_ENTRY,
                "acpi: MADT entry %u at offset 0x%x truncated (1 byte left)",
                idx, off);
    *type = rd8(t + off);
    *elen = rd8(t + off + 1);
    /* A length below 2 would never advance: reject, don't loop. */
    if (*elen < 2)
        return kfail(err, errlen, ACPI_ERR_ENTRY,
                "acpi: MADT entry %u (type %u) at offset 0x%x has length %u",
                idx, *type, off, *elen);
    if (*elen > length - off)
        return kfail(err, errlen, ACPI_ERR_ENTRY,
                "acpi: MADT entry %u (type %u) at offset 0x%x overruns the table (length %u, table 0x%x)",
                idx, *type, off, *elen, length);
    return 0;
}

/* The least length of the structure types we read; 0 for the others. */
static unsigned madt_min_len(uint8_t type)
{
    switch (type) {
    case MADT_TYPE_LAPIC: return MADT_LAPIC_LEN;
    case MADT_TYPE_X2APIC: return MADT_X2APIC_LEN;
    case MADT_TYPE_IOAPIC: return MADT_IOAPIC_LEN;
    case MADT_TYPE_LAPIC_OVERRIDE: return MADT_OVERRIDE_LEN;
    default: return 0;
    }
}

/* A local APIC (type 0) or local x2APIC (type 9) structure at e. */
static void madt_cpu(const uint8_t *e, uint8_t type, struct acpi_cpu *c)
{
    uint32_t flags;

    if (type == MADT_TYPE_LAPIC) {
        flags = rd32(e + 4);
        c->uid = rd8(e + 2);
        c->apic_id = rd8(e + 3);
    } else {
        c->apic_id = rd32(e + 4);
        flags = rd32(e + 8);
        c->uid = rd32(e + 12);
    }
    c->enabled = flags & MADT_CPU_ENABLED;
    c->online_capable = flags & MADT_CPU_ONLINE_CAPABLE;
    c->x2apic = type == MADT_TYPE_X2APIC;
}

static int madt_entry(const uint8_t *t, uint32_t off, uint8_t type, uint8_t elen, unsigned idx,
              struct acpi_madt_info *out, char *err, size_t errlen)
{
    struct acpi_cpu c;
    uint64_t a;

    if (elen < madt_min_len(type))
        return kfail(err, errlen, ACPI_ERR_ENTRY,
                "acpi: MADT entry %u (type %u) at offset 0x%x has length %u, too short for its type",
                idx, type, off, elen);
    switch (type) {
    case MADT_TYPE_LAPIC:
    case MADT_TYPE_X2APIC:
        madt_cpu(t + off, type, &c);
        return add_cpu(out, &c, idx, off, err, errlen);
    case MADT_TYPE_IOAPIC:
        out->n_ioapic++;
        return 0;
    case MADT_TYPE_LAPIC_OVERRIDE:
        /* The 64-bit address replaces the 32-bit header field. */
        a = rd64(t + off + 4);
        if (a > UINT32_MAX)
            return kfail(err, errlen, ACPI_ERR_ENTRY,
                    "acpi: MADT entry %u at offset 0x%x: local APIC address override 0x%llx is above 4 GiB",
                    idx, off, (unsigned long long)a);
        out->lapic_addr = (uint32_t)a;
        return 0;
    default:
        /* Other controller types do not concern us. */
        return 0;
    }
}

int acpi_parse_madt(const void *madt, size_t len, struct acpi_madt_info *out,
            char *err, size_t errlen)
{
    const uint8_t *t = madt;
    uint32_t length = 0, off;
    unsigned idx;
    int rc;

    if (err && errlen)
        err[0] = '\0';
    if (!out)
        return kfail(err, errlen, ACPI_ERR_ARG, "acpi: MADT output is NULL");
    memset(out, 0, sizeof(*out));
    rc = check_header(t, len, "APIC", "MADT", MADT_ENTRIES, &length, err,
              errlen);
    if (rc)
        return rc;
    out->lapic_addr = rd32(t + MADT_LAPIC_ADDR);
    out->flags = rd32(t + MADT_FLAGS);

    for (off = MADT_ENTRIES, idx = 0; off < length; idx++) {
        uint8_t type = 0, elen = 0;

        rc = madt_header(t, off, length, idx, &type, &elen, err, errlen);
        if (rc)
            return rc;
        out->n_entries++;
        rc = madt_entry(t, off, type, elen, idx, out, err, errlen);
        if (rc)
            return rc;
        off += elen;
    }
    return 0;
}

/*
 * If the table is long enough to hold the GAS at off, and it names a
 * nonzero system-I/O address that fits an I/O port, return it.
 */
static bool gas_io_port(const uint8_t *t, uint32_t length, uint32_t off,
            uint32_t *port, uint8_t *width_bytes)
{
    uint64_t addr;

    if (length < off + GAS_LEN)
        return false;
    addr = rd64(t + off + GAS_ADDRESS);
    if (addr == 0 || addr > 0xffff ||
        rd8(t + off + GAS_SPACE_ID) != GAS_SPACE_SYSIO)
        return false;
    *port = (uint32_t)addr;
    *width_bytes = (uint8_t)(rd8(t + off + GAS_BIT_WIDTH) / 8);
    return true;
}

int acpi_parse_fadt(const void *fadt, size_t len, struct acpi_fadt_info *out,
            char *err, size_t errlen)
{
    const uint8_t *t = fadt;
    uint32_t length = 0, port = 0;
    uint8_t width = 0;
    int rc;

    if (err && errlen)
        err[0] = '\0';
    if (!out)
        return kfail(err, errlen, ACPI_ERR_ARG, "acpi: FADT output is NULL");
    memset(out, 0, sizeof(*out));
    rc = check_header(t, len, "FACP", "FADT", FADT_V1_LEN, &length, err,
              errlen);
    if (rc)
        return rc;

    out->sci_int = rd16(t + FADT_SCI_INT);
    out->smi_cmd = rd32(t + FADT_SMI_CMD);
    out->acpi_enable = rd8(t + FADT_ACPI_ENABLE);
    out->acpi_disable = rd8(t + FADT_ACPI_DISABLE);
    out->pm1a_cnt_blk = rd32(t + FADT_PM1A_CNT_BLK);
    out->pm_tmr_blk = rd32(t + FADT_PM_TMR_BLK);
    out->pm_tmr_len = rd8(t + FADT_PM_TMR_LEN);
    out->tmr_val_ext = rd32(t + FADT_FLAGS) & FADT_TMR_VAL_EXT;

    /* §5.2.9: a nonzero X_ field supersedes its 32-bit counterpart. */
    if (gas_io_port(t, length, FADT_X_PM_TMR_BLK, &port, &width)) {
        out->pm_tmr_blk = port;
        out->pm_tmr_len = width;
    }
    if (gas_io_port(t, length, FADT_X_PM1A_CNT_BLK, &port, &width))
        out->pm1a_cnt_blk = port;
    return 0;
}
