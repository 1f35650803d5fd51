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
%if %1 == 13
    lea rax, [probe_insn]    ; smm_rdmsr_probe's RDMSR: an MSR this CPU lacks
    cmp [rsp], rax
    je probe_fault
    lea rax, [probe_load]    ; smm_gp_probe's load (the self-test)
    cmp [rsp], rax
    je probe_fault
%endif
%if %1 == 6
    lea rax, [probe_ud]      ; smm_ud_probe's UD2
    cmp [rsp], rax
    je probe_fault
%endif
%if %1 == 14
    lea rax, [probe_pf]      ; smm_pf_probe's load from an unmapped page
    cmp [rsp], rax
    je probe_fault
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

; smm_wait=hlt (smm/image/halt.c). The only places where interrupts are
; on in SMM: 'sti; hlt' and 'sti; nop' below, with the task priority at
; class 0xE, so only SMM_WAKE_VECTOR (the wake IPI), SMM_TIMER_VECTOR (the
; halt's one-shot) and the spurious vector can come. Their stubs do not IRET (an IRET in SMM
; would unblock NMIs, SDM 34.8): they go back to the interrupted stack and
; on to the 'ret' after the window, interrupts off again (the gate cleared
; IF). Neither routine touches the stack, so that 'ret' returns to its caller.
; int smm_rdmsr_probe(uint32_t msr, uint64_t *v): 0 and *v, or 1 on a #GP.
; The #GP returns without IRET (which would unblock NMIs in SMM, SDM 34.8):
; fault_13 takes the probe's stack from the frame, as it was at the RDMSR
; (the probe has no frame of its own), and returns to the probe's caller.
global smm_rdmsr_probe
smm_rdmsr_probe:
    mov ecx, edi
probe_insn:
    rdmsr
    shl rdx, 32
    or rax, rdx
    mov [rsi], rax
    xor eax, eax
    ret
; int smm_gp_probe(const uint64_t *p): 0, or 1 on a #GP (the probe's
; self-test: TCG's RDMSR never faults, a non-canonical load always does).
global smm_gp_probe
smm_gp_probe:
probe_load:
    mov rax, [rdi]
    xor eax, eax
    ret
; int smm_ud_probe(void), int smm_pf_probe(const uint64_t *p): an invalid
; opcode and a page fault in SMM, each recovered the same way (SDM 34.6:
; exceptions in SMM go through the IDT the handler loaded).
global smm_ud_probe, smm_pf_probe
smm_ud_probe:
probe_ud:
    ud2
    xor eax, eax
    ret
smm_pf_probe:
probe_pf:
    mov rax, [rdi]
    xor eax, eax
    ret
probe_fault:                 ; from fault_6/13/14: [rsp] = RIP CS RFLAGS RSP SS
    mov rsp, [rsp + 24]
    mov eax, 1
    ret

; An NMI in SMM: only possible once an IRET in SMM unblocked NMIs (SDM
; 34.8; smm_iret_self). Counted for this CPU, then IRET back.
extern smm_nmi_seen
nmi_stub:
    push rax
    push rcx
    push rdx
    push rsi
    push rdi
    push r8
    push r9
    push r10
    push r11
    mov rax, rsp
    and rsp, -16
    push rax
    sub rsp, 8
    call smm_nmi_seen
    add rsp, 8
    pop rsp
    pop r11
    pop r10
    pop r9
    pop r8
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rax
    iretq

; void smm_iret_self(void): an IRET to the next instruction, which unblocks
; NMIs for the rest of this SMM visit (SDM 34.8).
global smm_iret_self
smm_iret_self:
    mov rax, rsp
    mov ecx, ss
    push rcx
    push rax
    pushfq
    mov ecx, cs
    push rcx
    lea rcx, [.back]
    push rcx
    iretq
.back:
    ret

extern smm_wake_eoi, smm_timer_eoi
global smm_halt_once, smm_irq_window
smm_halt_once:               ; void smm_halt_once(void): IF=0 before and after
    sti
    hlt
    cli
window_end:
    ret
smm_irq_window:              ; void smm_irq_window(void): take a pending wake
    sti
    nop
    cli
    ret

wake_stub:                   ; no error code: RIP CS RFLAGS RSP SS
    mov rsp, [rsp + 24]      ; the stack of the window, as it was
    sub rsp, 8               ; 16-byte alignment for the call (the window's RSP is 8 mod 16)
    call smm_wake_eoi
    add rsp, 8
    jmp window_end
timer_stub:                  ; the same for the halt's one-shot
    mov rsp, [rsp + 24]
    sub rsp, 8
    call smm_timer_eoi
    add rsp, 8
    jmp window_end
spurious_stub:               ; the APIC's spurious vector: no EOI
    mov rsp, [rsp + 24]
    jmp window_end

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
smm_idt: resb 256 * 16       ; exceptions, SMM_WAKE_VECTOR, SMM_TIMER_VECTOR, spurious (0xFF)
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
    lea rdi, [smm_idt + SMM_WAKE_VECTOR * 16]
    lea rax, [wake_stub]
    call set_gate
    lea rdi, [smm_idt + SMM_TIMER_VECTOR * 16]
    lea rax, [timer_stub]
    call set_gate
    lea rdi, [smm_idt + 2 * 16]      ; NMI
    lea rax, [nmi_stub]
    call set_gate
    lea rdi, [smm_idt + 0xFF * 16]
    lea rax, [spurious_stub]
    call set_gate
    mov dword [idt_ready], 1
.unlock:
    mov dword [idt_lock], 0
.load:
    sub rsp, 16
    mov word [rsp], 256 * 16 - 1
    lea rax, [smm_idt]
    mov [rsp + 2], rax
    lidt [rsp]
    add rsp, 16
    ret

; rdi = gate, rax = handler: a present 64-bit interrupt gate.
set_gate:
    mov word [rdi], ax
    mov word [rdi + 2], GDT_CODE64
    mov word [rdi + 4], 0x8E00
    shr rax, 16
    mov word [rdi + 6], ax
    shr rax, 16
    mov dword [rdi + 8], eax
    mov dword [rdi + 12], 0
    ret
