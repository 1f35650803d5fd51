; 64-bit half of the SMM state-preservation tests: load distinct patterns
; into all 16 GPRs (RSP too), say so, optionally HLT (IF=0: only the SMI
; wakes it), spin on 'go' with memory operands only, then store every GPR.
; The other modes are in smp/lowmem.asm.
bits 64
default rel
SPIN_LIMIT equ 400000000

section .data
align 8
global ml_pat, ml_out, ml_ready, ml_go, ml_spins, ml_timedout
ml_pat:      times 16 dq 0     ; rax rbx rcx rdx rsi rdi rbp rsp r8 .. r15
ml_out:      times 16 dq 0
ml_ready:    dd 0
ml_go:       dd 0
ml_spins:    dd 0
ml_timedout: dd 0
ml_hlt:      dd 0
ml_saved_rsp: dq 0

section .text
global mode_test_long, ml_after_hlt, ml_wait_start, ml_wait_end
; void mode_test_long(int do_hlt)
mode_test_long:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    pushfq
    cli
    mov [ml_saved_rsp], rsp
    mov [ml_hlt], edi
    mov dword [ml_spins], 0
    mov dword [ml_timedout], 0
    mov rax, [ml_pat + 0]
    mov rbx, [ml_pat + 8]
    mov rcx, [ml_pat + 16]
    mov rdx, [ml_pat + 24]
    mov rsi, [ml_pat + 32]
    mov rdi, [ml_pat + 40]
    mov rbp, [ml_pat + 48]
    mov r8,  [ml_pat + 64]
    mov r9,  [ml_pat + 72]
    mov r10, [ml_pat + 80]
    mov r11, [ml_pat + 88]
    mov r12, [ml_pat + 96]
    mov r13, [ml_pat + 104]
    mov r14, [ml_pat + 112]
    mov r15, [ml_pat + 120]
    mov rsp, [ml_pat + 56]
    mov dword [ml_ready], 1
    cmp dword [ml_hlt], 0
    je ml_wait_start
    hlt
ml_after_hlt:
ml_wait_start:
    inc dword [ml_spins]
    cmp dword [ml_spins], SPIN_LIMIT
    jae ml_timeout
    cmp dword [ml_go], 0
    je ml_wait_start
ml_wait_end:
    jmp ml_store
ml_timeout:
    mov dword [ml_timedout], 1
ml_store:
    mov [ml_out + 0], rax
    mov [ml_out + 8], rbx
    mov [ml_out + 16], rcx
    mov [ml_out + 24], rdx
    mov [ml_out + 32], rsi
    mov [ml_out + 40], rdi
    mov [ml_out + 48], rbp
    mov [ml_out + 56], rsp
    mov [ml_out + 64], r8
    mov [ml_out + 72], r9
    mov [ml_out + 80], r10
    mov [ml_out + 88], r11
    mov [ml_out + 96], r12
    mov [ml_out + 104], r13
    mov [ml_out + 112], r14
    mov [ml_out + 120], r15
    mov rsp, [ml_saved_rsp]
    popfq
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret

; void double_fault_now(void): a #UD with a non-canonical RSP. Delivering
; the #UD faults (#SS), and that is a double fault (SDM vol. 3A 6.15), which
; only its IST stack lets the kernel report. Never returns.
global double_fault_now
double_fault_now:
    mov rsp, 0xDEAD00000000BEE0
    ud2

; SMI inside an STI / MOV SS shadow (SDM 34.2: "may be blocked for one
; instruction"). rdi = ICR address (xAPIC), esi = ICR value for a self-SMI.
; The SMI is pending once the ICR write retires; TCG takes it at the next
; translation-block boundary, which STI and MOV SS create.
global shadow_sti, shadow_sti_in, shadow_sti_after, shadow_movss, shadow_movss_in, shadow_movss_after
shadow_sti:
    pushfq
    cli
    mov [rdi], esi
    sti
shadow_sti_in:
    nop
shadow_sti_after:
    nop
    nop
    popfq
    ret
shadow_movss:
    pushfq
    cli
    mov ax, ss
    mov [rdi], esi
    mov ss, ax
shadow_movss_in:
    nop
shadow_movss_after:
    nop
    nop
    popfq
    ret

; The same through the x2APIC ICR (MSR 0x830): edi = ICR value. Under KVM
; every CPU model has x2APIC on, and the MMIO ICR is gone.
global shadow_sti_x2, shadow_sti_x2_in, shadow_sti_x2_after
global shadow_movss_x2, shadow_movss_x2_in, shadow_movss_x2_after
shadow_sti_x2:
    pushfq
    cli
    mov ecx, 0x830
    mov eax, edi
    xor edx, edx
    wrmsr
    sti
shadow_sti_x2_in:
    nop
shadow_sti_x2_after:
    nop
    nop
    popfq
    ret
shadow_movss_x2:
    pushfq
    cli
    mov ecx, 0x830
    mov eax, edi
    xor edx, edx
    mov r8w, ss
    wrmsr
    mov ss, r8w
shadow_movss_x2_in:
    nop
shadow_movss_x2_after:
    nop
    nop
    popfq
    ret

; Register canary for the SMI storm: rdi = iterations, rsi = 6 patterns.
; Loads rbx, rbp, r12-r15 from the patterns, spins, and counts how often any
; of them differs (an SMI that did not restore a register shows up here).
; Returns the number of mismatching iterations.
global reg_canary
reg_canary:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    mov rbx, [rsi]
    mov rbp, [rsi + 8]
    mov r12, [rsi + 16]
    mov r13, [rsi + 24]
    mov r14, [rsi + 32]
    mov r15, [rsi + 40]
    xor eax, eax
.loop:
    cmp rbx, [rsi]
    jne .bad
    cmp rbp, [rsi + 8]
    jne .bad
    cmp r12, [rsi + 16]
    jne .bad
    cmp r13, [rsi + 24]
    jne .bad
    cmp r14, [rsi + 32]
    jne .bad
    cmp r15, [rsi + 40]
    jne .bad
.next:
    dec rdi
    jnz .loop
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret
.bad:
    inc rax
    jmp .next
