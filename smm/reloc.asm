; The one-time SMBASE relocation handler (SDM vol. 3C 34.11 "SMBASE
; relocation"). Copied to 0x38000 (the APs' default SMBASE 0x30000) and
; 0xA8000 (where SeaBIOS left the BSP). Position-independent: it reaches its
; own save state CS-relative (CS base = SMBASE) and the mailbox in the
; low-memory blob by absolute address (DS base 0, limit 4 GiB on entry).
; It writes the new SMBASE for the map the revision ID names, and points
; the saved RIP at a completion hook (smp/lowmem.asm) that sets 'done' only
; after RSM, in every mode the CPU may be in (real, 32-bit, 64-bit): the
; default save state is shared, and KVM reads it at RSM time, so the next
; CPU may be sent only once this one has left SMM.
%include "boot/layout.inc"
bits 16
org 0

; The mailbox is struct lowmem_params (smp/lowmem.h), reached by absolute
; address: PARAM(FIELD) (boot/layout.inc). The save-state offsets SS_REV,
; SS64_*, SS32_* (from SMBASE = CS base) are generated from smm/savestate.h.

    mov eax, [cs:SS_REV]
    mov [dword PARAM(RELOC_REV)], eax
    mov ecx, MSR_IA32_APIC_BASE     ; x2APIC mode?
    rdmsr
    test eax, APIC_BASE_X2APIC
    jz .xapic
    mov ecx, MSR_X2APIC_APICID
    rdmsr
    jmp .have_id
.xapic:
    mov eax, [dword XAPIC_ID_REG]
    shr eax, 24
.have_id:
    mov [dword PARAM(RELOC_APIC)], eax
    mov edx, [dword PARAM(RELOC_NEW)]
    mov eax, [dword PARAM(RELOC_REV)]
    cmp ax, SS_REV_AMD64_LOW
    jne .ia32

    mov ecx, [cs:SS64_SMBASE]
    mov [dword PARAM(RELOC_OLD)], ecx
    mov [cs:SS64_SMBASE], edx
    test dword [cs:SS64_EFER], EFER_LMA       ; interrupted 64-bit code
    jnz .hook64
    test dword [cs:SS64_CR0], CR0_PE          ; interrupted 32-bit code
    jz .real64
    mov dword [dword PARAM(RELOC_FROM)], RELOC_DONE32
    mov ecx, [cs:SS64_RIP]
    mov [dword PARAM(RELOC_RIP)], ecx
    mov dword [dword PARAM(RELOC_RIP) + 4], 0
    mov ecx, [dword PARAM(RELOC_HOOK32)]
    mov [cs:SS64_RIP], ecx
    mov dword [cs:SS64_RIP + 4], 0
    jmp .ack
.hook64:
    mov dword [dword PARAM(RELOC_FROM)], RELOC_DONE64
    mov ecx, [cs:SS64_RIP]
    mov [dword PARAM(RELOC_RIP)], ecx
    mov ecx, [cs:SS64_RIP + 4]
    mov [dword PARAM(RELOC_RIP) + 4], ecx
    mov ecx, [dword PARAM(RELOC_HOOK64)]
    mov [cs:SS64_RIP], ecx
    mov dword [cs:SS64_RIP + 4], 0
    jmp .ack

.ia32:
    mov ecx, [cs:SS32_SMBASE]
    mov [dword PARAM(RELOC_OLD)], ecx
    mov [cs:SS32_SMBASE], edx
    test dword [cs:SS32_CR0], CR0_PE
    jz .real32
    mov dword [dword PARAM(RELOC_FROM)], RELOC_DONE32
    mov ecx, [cs:SS32_EIP]
    mov [dword PARAM(RELOC_RIP)], ecx
    mov dword [dword PARAM(RELOC_RIP) + 4], 0
    mov ecx, [dword PARAM(RELOC_HOOK32)]
    mov [cs:SS32_EIP], ecx
    jmp .ack

; Real mode: resume at the 16-bit hook (CS = LOWMEM_BASE >> 4), which
; far-jumps back to the IP:CS kept in PARAM(RELOC_RIP). %1 RIP, %2 CS
; selector, %3 CS base field of the map; %4 = 1 for the 64-bit map, whose
; fields are wider (and whose selector word is followed by the attributes).
%macro REAL_TO_HOOK16 4
    mov dword [dword PARAM(RELOC_FROM)], RELOC_DONE16
    mov cx, [cs:%1]
    mov [dword PARAM(RELOC_RIP)], cx
    mov cx, [cs:%2]
    mov [dword PARAM(RELOC_RIP) + 2], cx
%if %4
    mov word [cs:%2], LOWMEM_BASE >> 4
    mov dword [cs:%3 + 4], 0
    mov dword [cs:%1 + 4], 0
%else
    mov dword [cs:%2], LOWMEM_BASE >> 4
%endif
    mov dword [cs:%3], LOWMEM_BASE
    mov ecx, [dword PARAM(RELOC_HOOK16)]
    sub ecx, LOWMEM_BASE
    mov [cs:%1], ecx
%endmacro
.real64:
    REAL_TO_HOOK16 SS64_RIP, SS64_CS_SEL, SS64_CS_BASE, 1
    jmp .ack
.real32:
    REAL_TO_HOOK16 SS32_EIP, SS32_CS_SEL, SS32_CS_BASE, 0
.ack:
    mov dword [dword PARAM(RELOC_ACK)], 1
    rsm
