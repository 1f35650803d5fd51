; The SMM image's IDT: every exception records itself (smm_fault) and
; stops the CPU. Built at run time because the gate format splits addresses.
%include "boot/layout.inc"
bits 64
default rel
section .text

extern smm_fault

%macro FAULT 1
fault_%1:
%if HAS_ERRCODE(%1)
    pop rsi                  ; error code
%else
    xor esi, esi
%endif
    mov edi, %1
    mov rdx, [rsp]           ; faulting RIP
    and rsp, -16
    call smm_fault
%endmacro

%assign v 0
%rep 32
FAULT v
%assign v v+1
%endrep

section .data
align 8
fault_table:
%assign v 0
%rep 32
    dq fault_ %+ v
%assign v v+1
%endrep

section .bss
alignb 16
smm_idt: resb 32 * 16
idt_ready: resd 1

section .bss.smm_mut nobits alloc write align=4
idt_lock: resd 1            ; changes in SMM: not hashed (smm/image/smm.h SMM_MUTABLE)

section .text
global smm_idt_load
smm_idt_load:
    cmp dword [idt_ready], 0
    jne .load
.spin:
    mov eax, 1
    xchg eax, [idt_lock]
    test eax, eax
    jz .build
    pause
    jmp .spin
.build:
    cmp dword [idt_ready], 0
    jne .unlock
    lea rdi, [smm_idt]
    lea rsi, [fault_table]
    mov ecx, 32
.gate:
    mov rax, [rsi]
    mov word [rdi], ax              ; offset 15:0
    mov word [rdi + 2], GDT_CODE64  ; selector
    mov word [rdi + 4], 0x8E00      ; present, interrupt gate
    shr rax, 16
    mov word [rdi + 6], ax          ; offset 31:16
    shr rax, 16
    mov dword [rdi + 8], eax        ; offset 63:32
    mov dword [rdi + 12], 0
    add rdi, 16
    add rsi, 8
    loop .gate
    mov dword [idt_ready], 1
.unlock:
    mov dword [idt_lock], 0
.load:
    sub rsp, 16
    mov word [rsp], 32 * 16 - 1
    lea rax, [smm_idt]
    mov [rsp + 2], rax
    lidt [rsp]
    add rsp, 16
    ret
