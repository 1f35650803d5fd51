; The low-memory blob, assembled for the address it runs at (0x8000):
;  - the AP trampoline (SIPI vector 0x08): real mode -> 32-bit -> 64-bit
;  - the relocation completion hooks (smm/reloc.asm points the saved RIP here)
;  - the mode-switching code of the SMM state-preservation tests: leave long
;    mode for 32-bit protected mode (paging off or on) or real mode, load
;    known patterns into every GPR, wait for an SMI, store what the GPRs hold
;    afterwards, and come back.
; The parameter block at LOWMEM_BASE + 0x100 is shared with C
; (smp/lowmem.h; keep both in step). SDM vol. 3A 9.9 (mode switching).

%include "boot/layout.inc"

org LOWMEM_BASE

; ---- parameter block offsets (smp/lowmem.h: struct lowmem_params) ----
P               equ LOWMEM_BASE + 0x100
P_CR3           equ P + 0x00        ; u32 kernel PML4
P_CR4           equ P + 0x04        ; u32 kernel CR4
P_AP_ENTRY      equ P + 0x08        ; u64 64-bit C entry
P_AP_STACK      equ P + 0x10        ; u64
P_AP_ARG        equ P + 0x18        ; u64 logical CPU number
P_AP_ALIVE      equ P + 0x20        ; u32 incremented in 32-bit mode
P_RELOC_RIP     equ P + 0x28        ; u64 where the relocated CPU resumes
P_RELOC_DONE    equ P + 0x30        ; u32 set after RSM by the hook
P_MODE          equ P + 0x34        ; u32 1 real, 2 prot32, 3 prot32+paging
P_SAVED_RSP     equ P + 0x38        ; u64
P_SAVED_IDTR    equ P + 0x40        ; 10 bytes
P_PD32          equ P + 0x4C        ; u32 4-MiB-page directory for mode 3
P_READY         equ P + 0x50        ; u32 set when the patterns are loaded
P_GO            equ P + 0x54        ; u32 set by the BSP once the SMI was seen
P_SPINS         equ P + 0x58        ; u32 bounded wait counter
P_TIMEDOUT      equ P + 0x5C        ; u32
P_PAT           equ P + 0x60        ; u32[8]: eax ebx ecx edx esi edi ebp esp
P_OUT           equ P + 0x80        ; u32[8]
P_SAVED_ESP     equ P + 0xA0        ; u32
P_WAIT_RIP      equ P + 0xA4        ; u32 address of the wait loop (for checks)
P_RELOC_NEW     equ P + 0xA8        ; u32 relocation mailbox (smm/reloc.asm)
P_RELOC_OLD     equ P + 0xAC
P_RELOC_REV     equ P + 0xB0
P_RELOC_APIC    equ P + 0xB4
P_RELOC_ACK     equ P + 0xB8
P_RELOC_HOOK32  equ P + 0xBC
P_RELOC_HOOK64  equ P + 0xC0
P_RELOC_HOOK16  equ P + 0xC4
P_RELOC_FROM    equ P + 0xC8        ; u32 16/32/64: the mode the relocation handler found
P_END           equ P + 0xCC

; What each completion hook writes to P_RELOC_DONE: the mode it resumes.
RELOC_DONE16    equ 16
RELOC_DONE32    equ 32
RELOC_DONE64    equ 64

REAL_STACK      equ LOWMEM_BASE + 0x1000   ; top of a 3.5 KiB real-mode stack
SPIN_LIMIT      equ 400000000

bits 16
ap_entry16:                         ; 0x8000: SIPI vector 0x08 lands here
    cli
    cld
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    o32 lgdt [gdtr]
    mov eax, cr0
    or eax, CR0_PE
    mov cr0, eax
    jmp dword GDT_CODE32:ap_entry32

    align 8
gdt:                                ; same selectors as boot/multiboot2.asm
    dq 0
    dq 0x00AF9A000000FFFF           ; 0x08 64-bit code
    dq 0x00CF92000000FFFF           ; 0x10 flat data
    dq 0x00CF9A000000FFFF           ; 0x18 32-bit code
    dq 0x00009A000000FFFF           ; 0x20 16-bit code
    dq 0x000092000000FFFF           ; 0x28 16-bit data
gdt_end:
gdtr:
    dw gdt_end - gdt - 1
    dd gdt

    times 0x100 - ($ - $$) db 0xCC  ; parameter block follows at +0x100
params:
    times (P_END - P) db 0

bits 32
ap_entry32:
    mov ax, GDT_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    lock inc dword [P_AP_ALIVE]
    mov eax, [P_CR4]
    or eax, CR4_PAE
    mov cr4, eax
    mov eax, [P_CR3]
    mov cr3, eax
    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_LME
    wrmsr
    mov eax, cr0
    or eax, CR0_PG | CR0_PE
    mov cr0, eax
    jmp GDT_CODE64:ap_entry64

bits 64
ap_entry64:
    mov ax, GDT_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov rsp, [abs P_AP_STACK]
    mov rdi, [abs P_AP_ARG]
    mov rax, [abs P_AP_ENTRY]
    xor ebp, ebp
    call rax
.dead:
    cli
    hlt
    jmp .dead

; ---- relocation completion hooks: run right after the relocation RSM ----
; Each says "done" only now, after RSM, when the shared default save state
; is free again, and resumes where the SMI came.
bits 32
global_reloc_hook32:                ; a CPU SeaBIOS left in flat 32-bit mode
    mov dword [P_RELOC_DONE], RELOC_DONE32
    jmp dword [P_RELOC_RIP]
bits 64
global_reloc_hook64:                ; our own 64-bit code
    mov dword [abs P_RELOC_DONE], RELOC_DONE64
    jmp qword [abs P_RELOC_RIP]
bits 16
global_reloc_hook16:                ; a CPU halted in real mode: CS = LOWMEM_BASE >> 4
    mov dword [cs:P_RELOC_DONE - LOWMEM_BASE], RELOC_DONE16
    jmp far [cs:P_RELOC_RIP - LOWMEM_BASE]   ; IP:CS saved by smm/reloc.asm

; ---- park loop for a CPU the SMM handler took out of a bogus reset-state
; entry (TCG's SMI in wait-for-SIPI): real mode, interrupts off.
bits 16
park_real16:
    cli
    hlt
    jmp park_real16

; ---- mode test: called from 64-bit C as mode_test(void) with P_MODE set ----
bits 64
mode_test64:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    pushfq
    cli
    mov [abs P_SAVED_RSP], rsp
    sidt [abs P_SAVED_IDTR]
    push qword GDT_CODE32
    push qword compat32
    retfq

bits 32
compat32:
    mov ax, GDT_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, cr0                    ; paging off: leaves IA-32e mode
    and eax, ~CR0_PG
    mov cr0, eax
    mov ecx, MSR_EFER
    rdmsr
    and eax, ~EFER_LME
    wrmsr
    mov eax, cr4
    and eax, ~CR4_PAE
    mov cr4, eax
    cmp dword [P_MODE], 1
    je .to_real
    cmp dword [P_MODE], 3
    jne .test
    mov eax, [P_PD32]               ; 32-bit paging, 4 MiB pages
    mov cr3, eax
    mov eax, cr4
    or eax, CR4_PSE
    mov cr4, eax
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
.test:
    call pattern_test32
    jmp back_to_long

.to_real:
    jmp GDT_CODE16:.pm16
bits 16
.pm16:
    mov ax, GDT_DATA16
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, cr0
    and eax, ~CR0_PE
    mov cr0, eax
    jmp 0:.real
.real:
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, REAL_STACK
    call pattern_test16
    mov eax, cr0
    or eax, CR0_PE
    mov cr0, eax
    jmp dword GDT_CODE32:.pm32
bits 32
.pm32:
    mov ax, GDT_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    jmp back_to_long

; Loads every GPR (ESP last) with P_PAT, flags P_READY, spins on P_GO using
; memory operands only, then stores every GPR to P_OUT. The same text serves
; 32-bit protected mode and real mode (where it runs with 32-bit operands).
%macro PATTERN_TEST 1
pattern_test%1:
    mov [P_SAVED_ESP], esp
    mov dword [P_SPINS], 0
    mov eax, [P_PAT + 0]
    mov ebx, [P_PAT + 4]
    mov ecx, [P_PAT + 8]
    mov edx, [P_PAT + 12]
    mov esi, [P_PAT + 16]
    mov edi, [P_PAT + 20]
    mov ebp, [P_PAT + 24]
    mov esp, [P_PAT + 28]
    mov dword [P_READY], 1
.wait%1:
    inc dword [P_SPINS]
    cmp dword [P_SPINS], SPIN_LIMIT
    jae .timeout%1
    cmp dword [P_GO], 0
    je .wait%1
    jmp .store%1
.timeout%1:
    mov dword [P_TIMEDOUT], 1
.store%1:
    mov [P_OUT + 0], eax
    mov [P_OUT + 4], ebx
    mov [P_OUT + 8], ecx
    mov [P_OUT + 12], edx
    mov [P_OUT + 16], esi
    mov [P_OUT + 20], edi
    mov [P_OUT + 24], ebp
    mov [P_OUT + 28], esp
    mov esp, [P_SAVED_ESP]
    ret
%endmacro

bits 32
PATTERN_TEST 32
bits 16
PATTERN_TEST 16

bits 32
back_to_long:
    mov eax, cr0
    and eax, ~CR0_PG
    mov cr0, eax
    mov esp, [P_SAVED_RSP]
    mov eax, [P_CR4]
    or eax, CR4_PAE
    mov cr4, eax
    mov eax, [P_CR3]
    mov cr3, eax
    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_LME
    wrmsr
    mov eax, cr0
    or eax, CR0_PG | CR0_PE
    mov cr0, eax
    jmp GDT_CODE64:.long
bits 64
.long:
    mov ax, GDT_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov rsp, [abs P_SAVED_RSP]
    lidt [abs P_SAVED_IDTR]
    popfq
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret

; ---- a real-mode halt loop on a page of its own: a SIPI can start a CPU
; here (ap_real_mode=N parks an AP in real mode before relocation, the one
; state SeaBIOS does not leave them in).
    align 4096, db 0
bits 16
halt_page16:
    cli
    hlt
    jmp halt_page16

; ---- entry table at the end: C finds the routines through it ----
    align 8
entry_table:
    dq mode_test64
    dq global_reloc_hook32
    dq global_reloc_hook64
    dq park_real16
    dq pattern_test32.wait32
    dq pattern_test16.wait16
    dq global_reloc_hook16
    dq halt_page16
    dd entry_table - LOWMEM_BASE    ; last dword: offset of this table
