; Interrupt entry stubs: one per vector, all funnel into isr_common, which
; saves a struct regs (kernel/idt.h) and calls isr_dispatch(regs).
%include "boot/layout.inc"
bits 64
section .text

%macro VEC 1
isr_%1:
%if HAS_ERRCODE(%1)
    push qword %1           ; the CPU pushed an error code
%else
    push qword 0            ; no error code: keep one frame layout
    push qword %1
%endif
    jmp isr_common
%endmacro

%assign v 0
%rep 256
    VEC v
%assign v v+1
%endrep

; frame on entry to isr_common: vector, error, rip, cs, rflags, rsp, ss
; (the error-code vectors push 'vector' after the CPU's error code, so the
; order is the same).
isr_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    cld
    mov rdi, rsp
    mov rbx, rsp
    and rsp, -16
    extern isr_dispatch
    call isr_dispatch
    mov rsp, rbx
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16             ; vector, error
    iretq

section .rodata
global isr_table
isr_table:
%assign v 0
%rep 256
    dq isr_ %+ v
%assign v v+1
%endrep
