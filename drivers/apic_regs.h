/* The local APIC's registers and fields: constants only, so the SMM image
 * (which has no driver) names them too. SDM vol. 3A chapter 11 "Advanced
 * Programmable Interrupt Controller (APIC)". */
#ifndef SMMSYNC_APIC_REGS_H
#define SMMSYNC_APIC_REGS_H

/* ICR fields, SDM vol. 3A 11.6.1 "Interrupt Command Register". */
#define ICR_DM_FIXED      (0u << 8)
#define ICR_DM_SMI        (2u << 8)
#define ICR_DM_NMI        (4u << 8)
#define ICR_DM_INIT       (5u << 8)
#define ICR_DM_STARTUP    (6u << 8)
#define ICR_DELIVS        (1u << 12)   /* send pending (xAPIC only) */
#define ICR_LEVEL_ASSERT  (1u << 14)
#define ICR_TRIGGER_LEVEL (1u << 15)
#define ICR_DEST_LOGICAL  (1u << 11)   /* flat model: dest = 8-bit CPU mask */
#define ICR_DEST_SELF     (1u << 18)
#define ICR_DEST_ALL      (2u << 18)   /* all including self */
#define ICR_DEST_OTHERS   (3u << 18)   /* all excluding self */

/* LVT, SDM 11.5.1. */
#define LVT_SEND_PENDING  (1u << 12)     /* delivery status (read-only) */
#define LVT_MASKED        (1u << 16)
#define LVT_TIMER_PERIODIC (1u << 17)
#define LVT_DM_SMI        (2u << 8)    /* accepted by TCG for the timer only */

#define XAPIC_BASE 0xFEE00000u

#define APIC_ID     0x20
#define APIC_VER    0x30
#define APIC_TPR    0x80
#define APIC_EOI    0xB0
#define APIC_IRR    0x200   /* 8 words, 0x10 apart (SDM 11.8.4) */
#define APIC_LDR    0xD0
#define APIC_DFR    0xE0
#define APIC_SVR    0xF0
#define APIC_ESR    0x280
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_LVT_ERROR 0x370
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_CUR  0x390
#define APIC_TIMER_DIV  0x3E0

/* x2APIC: each register at MSR 0x800 + offset / 16 (SDM 11.12.1.2). */
#define X2APIC_MSR(off) (0x800u + ((off) >> 4))
#endif
