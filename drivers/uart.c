/* 16550 UART on COM1, polled. Register names as in the NS16550A datasheet. */
#include "drivers/uart.h"
#include "arch/x86.h"

#define COM1      0x3F8
#define UART_THR  0     /* transmit holding (DLAB=0) */
#define UART_DLL  0     /* divisor latch low (DLAB=1) */
#define UART_IER  1
#define UART_DLM  1
#define UART_FCR  2
#define UART_LCR  3
#define   LCR_8N1   0x03
#define   LCR_DLAB  0x80
#define UART_MCR  4
#define   MCR_DTR_RTS_OUT2 0x0B
#define UART_LSR  5
#define   LSR_THRE  0x20

/* A stuck transmitter must not hang the harness: give up after a bound. */
#define UART_SPIN_LIMIT 1000000

void uart_init(void)
{
    outb(COM1 + UART_IER, 0);
    outb(COM1 + UART_LCR, LCR_DLAB);
    outb(COM1 + UART_DLL, 1);          /* 115200 baud */
    outb(COM1 + UART_DLM, 0);
    outb(COM1 + UART_LCR, LCR_8N1);
    outb(COM1 + UART_FCR, 0x07);       /* enable and clear FIFOs */
    outb(COM1 + UART_MCR, MCR_DTR_RTS_OUT2);
}

void uart_putc(char c)
{
    for (unsigned i = 0; i < UART_SPIN_LIMIT; i++)
        if (inb(COM1 + UART_LSR) & LSR_THRE)
            break;
    outb(COM1 + UART_THR, (uint8_t)c);
}
