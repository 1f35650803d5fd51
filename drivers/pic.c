/* The legacy 8259A pair. SeaBIOS leaves it in virtual-wire mode with the
 * PIT's IRQ0 running and the BIOS vector bases (0x08, 0x70), which collide
 * with CPU exceptions. We remap it to 0x20/0x28 and mask every line; with
 * its output low, QEMU also drops any interrupt request it had already
 * raised towards the BSP (an unmasked-then-masked LINT0 otherwise leaves a
 * stale request that faults at the first STI). 8259A datasheet, ICW1-4. */
#include "drivers/pic.h"
#include "arch/x86.h"

#define PIC1_CMD  0x20
#define PIC1_DATA 0x21
#define PIC2_CMD  0xA0
#define PIC2_DATA 0xA1
#define ICW1_INIT_ICW4 0x11
#define ICW4_8086      0x01

void pic_disable(void)
{
    outb(PIC1_DATA, 0xFF);
    outb(PIC2_DATA, 0xFF);
    outb(PIC1_CMD, ICW1_INIT_ICW4);
    outb(PIC2_CMD, ICW1_INIT_ICW4);
    outb(PIC1_DATA, PIC_VECTOR_BASE);          /* ICW2: vector base */
    outb(PIC2_DATA, PIC_VECTOR_BASE + 8);
    outb(PIC1_DATA, 0x04);                     /* ICW3: slave on IRQ2 */
    outb(PIC2_DATA, 0x02);
    outb(PIC1_DATA, ICW4_8086);
    outb(PIC2_DATA, ICW4_8086);
    outb(PIC1_DATA, 0xFF);                     /* OCW1: mask everything */
    outb(PIC2_DATA, 0xFF);
}
