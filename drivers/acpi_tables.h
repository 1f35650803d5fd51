/*
 * acpi_tables.h - ACPI table discovery and MADT/FADT parsing (ACPI 6.x §5.2).
 *
 * Pure code: physical memory is reached only through the caller's
 * acpi_map_fn, so host tests can serve synthetic tables from a buffer.
 * Everything is validated before use (lengths, checksums, signatures);
 * errors come back as a negative enum acpi_err plus a one-line message.
 */
#ifndef SMMSYNC_ACPI_TABLES_H
#define SMMSYNC_ACPI_TABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Return a readable pointer for [phys, phys+len), or NULL if that range
 * cannot be mapped.  Pointers handed out must stay valid at least until
 * acpi_find_table returns (and the one it returns for as long as the
 * caller uses the table).
 */
typedef const void *(*acpi_map_fn)(uint64_t phys, size_t len, void *ctx);

enum acpi_err {
    ACPI_OK = 0,
    ACPI_ERR_ARG = -1,          /* NULL pointer argument */
    ACPI_ERR_RSDP = -2,         /* RSDP malformed (length/signature/revision) */
    ACPI_ERR_MAP = -3,          /* map() returned NULL */
    ACPI_ERR_LENGTH = -4,               /* a length field is too small or overruns */
    ACPI_ERR_CHECKSUM = -5,             /* a checksum does not sum to 0 */
    ACPI_ERR_SIGNATURE = -6,    /* wrong table signature */
    ACPI_ERR_NOT_FOUND = -7,    /* no table with that signature */
    ACPI_ERR_ENTRY = -8,                /* MADT entry malformed */
    ACPI_ERR_DUP = -9,          /* duplicate APIC ID */
    ACPI_ERR_TOO_MANY = -10,    /* more than ACPI_MAX_CPUS processors */
};

/* Sizes from ACPI 6.x §5.2.5.3 (RSDP) and §5.2.6 (SDT header). */
#define ACPI_RSDP_V1_LEN 20u
#define ACPI_RSDP_V2_LEN 36u
#define ACPI_SDT_HDR_LEN 36u

struct acpi_cpu {
    uint32_t apic_id;
    uint32_t uid;               /* ACPI Processor UID */
    bool enabled;               /* MADT flags bit 0 */
    bool online_capable;        /* MADT flags bit 1 (ACPI 6.3+) */
    bool x2apic;                /* came from a type 9 (x2APIC) entry */
};

#define ACPI_MAX_CPUS 256

struct acpi_madt_info {
    uint32_t lapic_addr;        /* Local Interrupt Controller Address (or its override) */
    uint32_t flags;             /* MADT flags (bit 0 PCAT_COMPAT) */
    unsigned ncpus;             /* local APIC + local x2APIC entries */
    struct acpi_cpu cpus[ACPI_MAX_CPUS];
    unsigned n_ioapic;
    unsigned n_entries; /* all interrupt controller structures */
};

struct acpi_fadt_info {
    uint32_t pm_tmr_blk;        /* I/O port of the PM timer (0 if none) */
    uint8_t pm_tmr_len; /* 4 when present */
    bool tmr_val_ext;   /* timer is 32 bits wide (else 24) */
    uint16_t sci_int;
    uint32_t smi_cmd;   /* I/O port of the SMI command register */
    uint8_t acpi_enable, acpi_disable;
    uint32_t pm1a_cnt_blk;      /* I/O port of PM1a_CNT */
};

/* True if the bytes of [p, p+len) sum to 0 mod 256 (§5.2.5.3, §5.2.6). */
bool acpi_checksum_ok(const void *p, size_t len);

/*
 * Find the first table with signature sig (e.g. "APIC", "FACP") through the
 * RSDP copy at rsdp (rsdp_len readable bytes).  Uses the XSDT when the RSDP
 * revision is >= 2 and XsdtAddress != 0, else the RSDT.  Every SDT mapped on
 * the way is checked (Length >= 36, fully mappable, checksum).  On success
 * *table and *len describe the whole mapped table.
 */
int acpi_find_table(const void *rsdp, size_t rsdp_len, const char sig[4],
            acpi_map_fn map, void *ctx, const void **table,
            uint32_t *len, char *err, size_t errlen);

/*
 * Parse a MADT (signature "APIC") of len readable bytes.  Records local
 * APIC (type 0) and local x2APIC (type 9) entries, counts I/O APICs, applies
 * a local APIC address override (type 5, must be below 4 GiB), skips other
 * types.  Duplicate APIC IDs among usable processors (enabled or
 * online-capable) are an error; entries that are neither are recorded but
 * exempt, since firmware pads the table with such placeholders.
 */
int acpi_parse_madt(const void *madt, size_t len, struct acpi_madt_info *out,
            char *err, size_t errlen);

/*
 * Parse a FADT (signature "FACP") of len readable bytes; needs at least
 * the 116-byte ACPI 1.0 layout.  Where the ACPI 2.0+ X_PM_TMR_BLK /
 * X_PM1a_CNT_BLK fields are present, nonzero and in system I/O space they
 * take precedence over the 32-bit fields, as §5.2.9 requires.
 */
int acpi_parse_fadt(const void *fadt, size_t len, struct acpi_fadt_info *out,
            char *err, size_t errlen);

#endif /* SMMSYNC_ACPI_TABLES_H */
