#ifndef SMMSYNC_PIC_H
#define SMMSYNC_PIC_H
#define PIC_VECTOR_BASE 0x20    /* spurious IRQ7/IRQ15 arrive as 0x27/0x2F */
void pic_disable(void);
#endif
