/* QEMU's ACPI CPU hotplug register block, "modern" interface (QEMU
 * docs/specs/acpi_cpu_hotplug.rst, hw/acpi/cpu.c): what the firmware's and
 * the OS's ACPI code use to find a hot-added CPU. q35 (ICH9 LPC) decodes it
 * at I/O 0x0CD8, pc (PIIX4 PM) at 0xAF00; it comes up in the legacy
 * interface, and a 32-bit write of 0 at the base switches it to the modern
 * one (the AML's _INI does the same; OVMF has done it by the time the OS
 * runs). Slots are QEMU's possible CPUs, in -smp order. */
#ifndef SMMSYNC_CPUHP_H
#define SMMSYNC_CPUHP_H
#include <stdint.h>
#include <stdbool.h>

#define CPUHP_BASE_Q35   0x0CD8
#define CPUHP_BASE_PIIX4 0xAF00

#define CPUHP_W_SELECTOR 0x0     /* 32-bit: the slot the other registers address */
#define CPUHP_RW_FLAGS   0x4     /* 8-bit: status read, event clear written */
#define CPUHP_W_CMD      0x5     /* 8-bit: command */
#define CPUHP_RW_DATA    0x8     /* 32-bit: the command's result */

#define CPUHP_F_ENABLED  0x01    /* a CPU is plugged in the slot */
#define CPUHP_F_INSERT   0x02    /* read: insert event pending; write: clear it */
#define CPUHP_F_REMOVE   0x04

#define CPUHP_CMD_NEXT_EVENT 0   /* select the next slot with an event (DATA: the slot) */
#define CPUHP_CMD_GET_ID     3   /* DATA: the selected slot's APIC ID */

/* The ACPI CPU-hotplug SMI command QEMU's AML writes to 0xB2 before it scans
 * (when the firmware negotiated it): OVMF's cue to relocate new CPUs. */
#define APM_CMD_CPU_HOTPLUG 0x04

void cpuhp_init(uint16_t base);          /* switch to the modern interface */
uint8_t cpuhp_flags(uint32_t slot);
uint32_t cpuhp_apic_id(uint32_t slot);
/* The next slot with an insert event (-1: none). */
int cpuhp_next_insert(void);
void cpuhp_clear_insert(uint32_t slot);
#endif
