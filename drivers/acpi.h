#ifndef SMMSYNC_ACPI_H
#define SMMSYNC_ACPI_H
#include <stdbool.h>
#include <stddef.h>
#include "drivers/acpi_tables.h"
struct mb2_info;
extern struct acpi_madt_info acpi_madt;
extern struct acpi_fadt_info acpi_fadt;
extern bool acpi_have_fadt;
extern uint8_t acpi_madt_raw[4096];
extern uint32_t acpi_madt_raw_len;
/* Finds and parses the MADT (required) and the FADT (optional) from the
 * RSDP multiboot2 handed over. 0 or a negative error with a message. */
int acpi_init(const struct mb2_info *mb, char *err, size_t errlen);
#endif
