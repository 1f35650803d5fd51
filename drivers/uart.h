#ifndef SMMSYNC_UART_H
#define SMMSYNC_UART_H
void uart_init(void);
void uart_putc(char c);
#endif
