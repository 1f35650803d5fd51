; The SMM entry stub, one copy per CPU at SMBASE + 0x8000, patched by the
; installer (smm/install.c, install_stub; the parameter block is struct
; smm_stub_params of smm/stub.h, its offsets STUB_* generated from it). On
; entry the CPU is in the SMM entry state: 16-bit, CS base = SMBASE,
; EIP = 0x8000, DS/ES/SS base 0 with a 4 GiB limit, CR0.PE/PG = 0 (SDM
; vol. 3C 34.5.1; QEMU: docs/PLATFORM.md Q1). It goes straight to 64-bit
; mode with SMRAM's own GDT, page tables and stack, calls the C handler and
; RSMs. Every register it touches was saved by the CPU in the save-state
; map, which RSM restores. On its way it records the entry state the SDM
; specifies (struct smm_entry_state, smm/smm_abi.h) for smm.entry_state.
%include "boot/layout.inc"
bits 16
org 0

ENTRY    equ SMM_ENTRY_OFFSET   ; the stub's offset from SMBASE (CS base)
%define SP(f) (SMM_STUB_PARAMS_OFF + STUB_ %+ f)   ; a parameter, from the stub's start

; One field of the parameter block at its generated offset (a field that
; would overlap the one before fails the assembly).
%macro FIELD 2+
    times SP(%1) - ($ - stub_start) db 0
    %2
%endmacro

stub_start:
    jmp short go
    times SMM_STUB_PARAMS_OFF - ($ - stub_start) db 0
params:                      ; struct smm_stub_params
    FIELD MAGIC, dd SMM_STUB_MAGIC
    FIELD CPU, dd 0          ; logical CPU number
    FIELD BASE, dd 0         ; linear address of this stub (SMBASE + 0x8000)
    FIELD CR3, dd 0          ; SMM page tables (in SMRAM)
    FIELD GDTR, dw 0, 0, 0   ; GDT limit, base (linear, in SMRAM)
    FIELD JMP32, dd entry32  ; far pointer; the installer adds the base
    FIELD JMP32_SEL, dw GDT_CODE32
    FIELD JMP64, dd entry64  ; far pointer; the installer adds the base
    FIELD JMP64_SEL, dw GDT_CODE64
    FIELD STACK, dq 0        ; top of this CPU's SMM stack (physical = virtual)
    FIELD HANDLER, dq 0      ; C handler, virtual address in the SMM image
    times SMM_STUB_PARAMS_OFF + STUB_SIZE - ($ - stub_start) db 0

; The entry snapshot (struct smm_entry_state): before anything changes
; them, the registers the SDM's entry table names go into the top
; SMM_ENTRY_SNAP_SIZE bytes of this CPU's SMM stack, addressed through DS
; (base 0 and a 4 GiB limit on entry: a 32-bit offset reaches SMRAM).
; Only EAX, ECX, EDX and EDI change here; the save state holds them.
go:
    lahf                     ; the arithmetic flags, before the first ALU op
    seto al
    mov edi, [cs:ENTRY + SP(STACK)]
    sub edi, SMM_ENTRY_SNAP_SIZE
    mov [edi + ES_FLAGS_AH], ah
    mov [edi + ES_FLAGS_OF], al
    mov [edi + ES_CS], cs
    mov [edi + ES_DS], ds
    mov [edi + ES_ES], es
    mov [edi + ES_SS], ss
    mov [edi + ES_FS], fs
    mov [edi + ES_GS], gs
    o32 sidt [edi + ES_IDTR]
    o32 sgdt [edi + ES_GDTR]
    mov eax, cr0
    mov [edi + ES_CR0], eax
    mov eax, cr3
    mov [edi + ES_CR3], eax
    mov eax, cr4
    mov [edi + ES_CR4], eax
    mov eax, dr6
    mov [edi + ES_DR6], eax
    mov eax, dr7
    mov [edi + ES_DR7], eax
    mov ecx, MSR_EFER
    rdmsr
    mov [edi + ES_EFER_LO], eax
    mov [edi + ES_EFER_HI], edx
    mov eax, [cs:ENTRY + SP(MAGIC)]
    mov [edi + ES_CS_MAGIC], eax

    mov ebx, [cs:ENTRY + SP(BASE)]
    o32 lgdt [cs:ENTRY + SP(GDTR)]
    mov eax, cr0
    and eax, ~(CR0_EM | CR0_TS | CR0_PG)
    or eax, CR0_PE | CR0_MP | CR0_NE
    mov cr0, eax
    jmp dword far [cs:ENTRY + SP(JMP32)]

bits 32
entry32:
    mov ax, GDT_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, [ebx + SP(CR3)]
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
    jmp far [ebx + SP(JMP64)]

bits 64
entry64:
    mov ebx, ebx             ; zero-extend: the upper half is undefined here
    mov rsp, [rbx + SP(STACK)]
    sub rsp, SMM_ENTRY_SNAP_SIZE             ; the snapshot, above the stack
    pushfq                   ; IF, DF, TF... as on entry: nothing changed them
    pop rax
    mov [rsp + ES_RFLAGS_LATE], eax
    mov dword [rsp + ES_MAGIC], SMM_ENTRY_SNAP_MAGIC
    mov rdx, rsp             ; smm_entry(cpu, smbase, snapshot)
    mov edi, [rbx + SP(CPU)]
    lea rsi, [rbx - ENTRY]   ; SMBASE
    xor ebp, ebp
    call [rbx + SP(HANDLER)]
    rsm
stub_end:
