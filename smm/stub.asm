; The SMM entry stub, one copy per CPU at SMBASE + 0x8000, patched by the
; installer (smm/install.c, struct smm_stub_params). On entry the CPU is in
; the SMM entry state: 16-bit, CS base = SMBASE, EIP = 0x8000, DS/ES/SS base
; 0 with a 4 GiB limit, CR0.PE/PG = 0 (SDM vol. 3C 34.5.1; QEMU:
; docs/PLATFORM.md Q1). It goes straight to 64-bit mode with SMRAM's own
; GDT, page tables and stack, calls the C handler and RSMs. Every register
; it touches was saved by the CPU in the save-state map, which RSM restores.
bits 16
org 0

CR0_PE   equ 1 << 0
CR0_MP   equ 1 << 1
CR0_EM   equ 1 << 2
CR0_TS   equ 1 << 3
CR0_NE   equ 1 << 5
CR0_WP   equ 1 << 16
CR0_PG   equ 1 << 31
CR4_PAE  equ 1 << 5
MSR_EFER equ 0xC0000080
EFER_LME equ 1 << 8
SEL_CODE64 equ 0x08
SEL_DATA   equ 0x10
SEL_CODE32 equ 0x18
ENTRY    equ 0x8000          ; the stub's offset from SMBASE (CS base)

stub_start:
    jmp short go
    align 8
params:                      ; struct smm_stub_params
p_magic:    dd 0x42555453    ; "STUB"
p_cpu:      dd 0             ; logical CPU number
p_base:     dd 0             ; linear address of this stub (SMBASE + 0x8000)
p_cr3:      dd 0             ; SMM page tables (in SMRAM)
p_gdtr:     dw 0             ; GDT limit
            dd 0             ; GDT base (linear, in SMRAM)
            dw 0
p_jmp32:    dd entry32       ; far pointer; the installer adds p_base
            dw SEL_CODE32
            dw 0
p_jmp64:    dd entry64       ; far pointer; the installer adds p_base
            dw SEL_CODE64
            dw 0
p_stack:    dq 0             ; top of this CPU's SMM stack (physical = virtual)
p_handler:  dq 0             ; C handler, virtual address in the SMM image
params_end:

go:
    mov ebx, [cs:ENTRY + p_base - stub_start]
    o32 lgdt [cs:ENTRY + p_gdtr - stub_start]
    mov eax, cr0
    and eax, ~(CR0_EM | CR0_TS | CR0_PG)
    or eax, CR0_PE | CR0_MP | CR0_NE
    mov cr0, eax
    jmp dword far [cs:ENTRY + p_jmp32 - stub_start]

bits 32
entry32:
    mov ax, SEL_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, [ebx + p_cr3 - stub_start]
    mov cr3, eax
    mov eax, CR4_PAE
    mov cr4, eax
    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_LME
    wrmsr
    mov eax, cr0
    or eax, CR0_PG | CR0_WP
    mov cr0, eax
    jmp far [ebx + p_jmp64 - stub_start]

bits 64
entry64:
    mov ebx, ebx             ; zero-extend: the upper half is undefined here
    mov rsp, [rbx + p_stack - stub_start]
    mov edi, [rbx + p_cpu - stub_start]
    lea rsi, [rbx - ENTRY]   ; SMBASE
    xor ebp, ebp
    call [rbx + p_handler - stub_start]
    rsm
stub_end:
