/* The ICH9 TCO block, as QEMU's q35 has it (QEMU hw/acpi/tco.c; Intel ICH9
 * datasheet, "TCO I/O registers"): constants only, so the SMM image, the
 * SMI triggers and the tests name the same registers. */
#ifndef SMMSYNC_ICH9_TCO_H
#define SMMSYNC_ICH9_TCO_H

#define ICH9_TCO_OFF   0x60          /* the TCO block's I/O base: PMBASE + 0x60 */

#define TCO_RLD        0x00          /* reload: restarts the timer */
#define TCO_DAT_IN     0x02          /* a write raises an SMI (SW_TCO_SMI) */
#define TCO1_STS       0x04
#define   TCO1_STS_SW_TCO_SMI (1u << 1)
#define   TCO1_STS_TIMEOUT    (1u << 3)
#define TCO1_CNT       0x08
#define   TCO_TMR_HLT  (1u << 11)    /* timer halted */
#define TCO_TMR        0x12          /* timer initial value */

#define SMI_EN_TCO_EN  (1u << 13)    /* ICH9 SMI_EN: TCO logic may raise SMIs */
#endif
