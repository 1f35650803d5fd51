#ifndef SMMSYNC_LAPIC_H
#define SMMSYNC_LAPIC_H
#include <stdint.h>
#include <stdbool.h>

#include "drivers/apic_regs.h"

void lapic_init(void);                 /* enable this CPU's APIC (x2APIC when present) */
uint32_t lapic_id(void);
bool lapic_x2apic(void);
/* Sends an IPI; 'dest' is an APIC ID, ignored with a shorthand. Returns
 * false if the xAPIC never reported the ICR idle (bounded wait). */
bool lapic_send_ipi(uint32_t dest, uint32_t icr_low);
void lapic_eoi(void);
uint32_t lapic_esr(void);
/* Timer: one-shot or periodic, 'lvt' is vector | mode bits. */
void lapic_timer_start(uint32_t lvt, uint32_t initial_count, unsigned divide_log2);
void lapic_timer_stop(void);
uint32_t lapic_timer_current(void);
uint32_t lapic_timer_per_ms(void);          /* at divide-by-16, measured once */
uint32_t lapic_read_reg(uint32_t off);
void lapic_write_reg(uint32_t off, uint32_t v);

#endif
