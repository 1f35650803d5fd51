; Minimal setjmp/longjmp for the test runner's watchdog: save the callee-
; saved registers, the stack and the return address; jump back with a value.
bits 64
section .text
global ctx_save, ctx_jump
; int ctx_save(struct ctx *c)   (rdi)
ctx_save:
    mov [rdi + 0], rbx
    mov [rdi + 8], rbp
    mov [rdi + 16], r12
    mov [rdi + 24], r13
    mov [rdi + 32], r14
    mov [rdi + 40], r15
    lea rax, [rsp + 8]
    mov [rdi + 48], rax          ; rsp after return
    mov rax, [rsp]
    mov [rdi + 56], rax          ; return address
    xor eax, eax
    ret
; void ctx_jump(struct ctx *c, int v)   (rdi, esi) - does not return
ctx_jump:
    mov rbx, [rdi + 0]
    mov rbp, [rdi + 8]
    mov r12, [rdi + 16]
    mov r13, [rdi + 24]
    mov r14, [rdi + 32]
    mov r15, [rdi + 40]
    mov rsp, [rdi + 48]
    mov eax, esi
    jmp [rdi + 56]
