; The low-memory blob, assembled for the address it runs at (0x8000):
;  - the AP trampoline (SIPI vector 0x08): real mode -> 32-bit -> 64-bit
;  - the relocation completion hooks (smm/reloc.asm points the saved RIP here)
;  - the mode-switching code of the SMM state-preservation tests: leave long
;    mode for 32-bit protected mode (paging off or on) or real mode, load
;    known patterns into every GPR, wait for an SMI, store what the GPRs hold
;    afterwards, and come back.
; The parameter block at LOWMEM_PARAMS is struct lowmem_params (smp/lowmem.h):
; PARAM(FIELD) (boot/layout.inc) is each field's address, generated from the
; C struct. SDM vol. 3A 9.9 (mode switching).

%include "boot/layout.inc"

org LOWMEM_BASE

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
    and eax, ~(CR0_CD | CR0_NW)     ; INIT left the caches off (CR0 60000010h)
    or eax, CR0_PE
    mov cr0, eax
    jmp dword GDT_CODE32:ap_entry32

    align 8
    GDT_TABLE                       ; the kernel's GDT (boot/layout.inc), below 1 MiB
gdtr:
    dw gdt_table_end - gdt_table_start - 1
    dd gdt_table_start

    times LOWMEM_PARAMS_OFF - ($ - $$) db 0xCC   ; the parameter block follows
params:
    times LMP_SIZE db 0

bits 32
ap_entry32:
    mov ax, GDT_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    lock inc dword [PARAM(AP_ALIVE)]
    mov eax, [PARAM(CR4)]
    or eax, CR4_PAE
    mov cr4, eax
    mov eax, [PARAM(CR3)]
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
    mov rsp, [abs PARAM(AP_STACK)]
    mov rdi, [abs PARAM(AP_ARG)]
    mov rax, [abs PARAM(AP_ENTRY)]
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
    mov dword [PARAM(RELOC_DONE)], RELOC_DONE32
    jmp dword [PARAM(RELOC_RIP)]
bits 64
global_reloc_hook64:                ; our own 64-bit code
    mov dword [abs PARAM(RELOC_DONE)], RELOC_DONE64
    jmp qword [abs PARAM(RELOC_RIP)]
bits 16
global_reloc_hook16:                ; a CPU halted in real mode: CS = LOWMEM_BASE >> 4
    mov dword [cs:PARAM(RELOC_DONE) - LOWMEM_BASE], RELOC_DONE16
    jmp far [cs:PARAM(RELOC_RIP) - LOWMEM_BASE]   ; IP:CS saved by smm/reloc.asm

; ---- park loop for a CPU the SMM handler took out of a bogus reset-state
; entry (TCG's SMI in wait-for-SIPI): real mode, interrupts off.
bits 16
park_real16:
    cli
    hlt
    jmp park_real16

; ---- mode test: called from 64-bit C as mode_test(void) with PARAM(MODE) set ----
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
    mov [abs PARAM(SAVED_RSP)], rsp
    sidt [abs PARAM(SAVED_IDTR)]
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
    cmp dword [PARAM(MODE)], LM_MODE_REAL
    je .to_real
    cmp dword [PARAM(MODE)], LM_MODE_PROT32_PG
    jne .test
    mov eax, [PARAM(PD32)]               ; 32-bit paging, 4 MiB pages
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

; Loads every GPR (ESP last) with PARAM(PAT), flags PARAM(READY), spins on
; PARAM(GO) using memory operands only, then stores every GPR to PARAM(OUT).
; The same text serves
; 32-bit protected mode and real mode (where it runs with 32-bit operands).
%macro PATTERN_TEST 1
pattern_test%1:
    o32 sgdt [PARAM(CTX) + MC_GDTR]     ; the context it waits in (struct mode_ctx)
    o32 sidt [PARAM(CTX) + MC_IDTR]
%if %1 == 32                            ; SLDT and STR do not exist in real mode
    sldt [PARAM(CTX) + MC_LDTR]
    str [PARAM(CTX) + MC_TR]
%endif
    mov [PARAM(CTX) + MC_DS], ds
    mov [PARAM(CTX) + MC_ES], es
    mov [PARAM(CTX) + MC_SS], ss
    mov [PARAM(CTX) + MC_FS], fs
    mov [PARAM(CTX) + MC_GS], gs
    mov eax, cr4
    mov [PARAM(CTX) + MC_CR4], eax
    mov eax, dr7
    mov [PARAM(CTX) + MC_DR7], eax
    mov ecx, MSR_EFER
    rdmsr
    mov [PARAM(CTX) + MC_EFER], eax
    mov [PARAM(SAVED_ESP)], esp
    mov dword [PARAM(SPINS)], 0
    mov eax, [PARAM(PAT) + 0]
    mov ebx, [PARAM(PAT) + 4]
    mov ecx, [PARAM(PAT) + 8]
    mov edx, [PARAM(PAT) + 12]
    mov esi, [PARAM(PAT) + 16]
    mov edi, [PARAM(PAT) + 20]
    mov ebp, [PARAM(PAT) + 24]
    mov esp, [PARAM(PAT) + 28]
    mov dword [PARAM(READY)], 1
.wait%1:
    inc dword [PARAM(SPINS)]
    cmp dword [PARAM(SPINS)], SPIN_LIMIT
    jae .timeout%1
    cmp dword [PARAM(GO)], 0
    je .wait%1
    jmp .store%1
.timeout%1:
    mov dword [PARAM(TIMEDOUT)], 1
.store%1:
    mov [PARAM(OUT) + 0], eax
    mov [PARAM(OUT) + 4], ebx
    mov [PARAM(OUT) + 8], ecx
    mov [PARAM(OUT) + 12], edx
    mov [PARAM(OUT) + 16], esi
    mov [PARAM(OUT) + 20], edi
    mov [PARAM(OUT) + 24], ebp
    mov [PARAM(OUT) + 28], esp
    mov esp, [PARAM(SAVED_ESP)]
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
    mov esp, [PARAM(SAVED_RSP)]
    mov eax, [PARAM(CR4)]
    or eax, CR4_PAE
    mov cr4, eax
    mov eax, [PARAM(CR3)]
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
    mov rsp, [abs PARAM(SAVED_RSP)]
    lidt [abs PARAM(SAVED_IDTR)]
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
