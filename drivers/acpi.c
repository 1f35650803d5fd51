/* Kernel glue for the pure ACPI parser: physical memory below 4 GiB is
 * identity-mapped, so mapping is a range check. */
#include "drivers/acpi.h"
#include "lib/mb2.h"
#include "lib/printf.h"
#include "lib/kstring.h"

struct acpi_madt_info acpi_madt;
/* A copy of the raw MADT: once TSEG covers the top of RAM (where SeaBIOS
 * keeps its ACPI tables) non-SMM reads of the original return all-ones. */
uint8_t acpi_madt_raw[4096];
uint32_t acpi_madt_raw_len;
struct acpi_fadt_info acpi_fadt;
bool acpi_have_fadt;

static const void *identity_map(uint64_t phys, size_t len, void *ctx)
{
    (void)ctx;
    if (!phys || phys >= (1ull << 32) || len > (1ull << 32) - phys)
        return 0;
    return (const void *)(uintptr_t)phys;
}

int acpi_init(const struct mb2_info *mb, char *err, size_t errlen)
{
    const void *t;
    uint32_t len;
    if (!mb->has_rsdp) {
        ksnprintf(err, errlen, "multiboot2 gave no ACPI RSDP tag (14/15)");
        return -1;
    }
    int rc = acpi_find_table(mb->rsdp, mb->rsdp_len, "APIC", identity_map, 0, &t, &len, err, errlen);
    if (rc)
        return rc;
    rc = acpi_parse_madt(t, len, &acpi_madt, err, errlen);
    if (rc)
        return rc;
    acpi_madt_raw_len = len < sizeof(acpi_madt_raw) ? len : sizeof(acpi_madt_raw);
    memcpy(acpi_madt_raw, t, acpi_madt_raw_len);
    char ferr[128];
    acpi_have_fadt = !acpi_find_table(mb->rsdp, mb->rsdp_len, "FACP", identity_map, 0, &t, &len,
                                      ferr, sizeof(ferr)) &&
                     !acpi_parse_fadt(t, len, &acpi_fadt, ferr, sizeof(ferr));
    return 0;
}
