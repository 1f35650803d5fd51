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

MBOX        equ 0x8100
M_RIP       equ MBOX + 0x28
M_DONE      equ MBOX + 0x30
M_NEW       equ MBOX + 0xA8
M_OLD       equ MBOX + 0xAC
M_REV       equ MBOX + 0xB0
M_APIC      equ MBOX + 0xB4
M_ACK       equ MBOX + 0xB8
M_HOOK32    equ MBOX + 0xBC
M_HOOK64    equ MBOX + 0xC0
M_HOOK16    equ MBOX + 0xC4
M_FROM      equ MBOX + 0xC8

; save-state offsets from CS base (= SMBASE)
SS_REV      equ 0xFEFC
SS64_SMBASE equ 0xFF00
SS64_EFER   equ 0xFED0
SS64_CR0    equ 0xFF58
SS64_RIP    equ 0xFF78
SS64_CS_SEL equ 0xFE10
SS64_CS_BASE equ 0xFE18
SS32_SMBASE equ 0xFEF8
SS32_EIP    equ 0xFFF0
SS32_CR0    equ 0xFFFC
SS32_CS_SEL equ 0xFFAC
SS32_CS_BASE equ 0xFF98

    mov eax, [cs:SS_REV]
    mov [dword M_REV], eax
    mov ecx, 0x1B                   ; IA32_APIC_BASE: x2APIC mode?
    rdmsr
    test eax, 1 << 10
    jz .xapic
    mov ecx, 0x802
    rdmsr
    jmp .have_id
.xapic:
    mov eax, [dword 0xFEE00020]
    shr eax, 24
.have_id:
    mov [dword M_APIC], eax
    mov edx, [dword M_NEW]
    mov eax, [dword M_REV]
    cmp ax, 0x0064
    jne .ia32

    mov ecx, [cs:SS64_SMBASE]
    mov [dword M_OLD], ecx
    mov [cs:SS64_SMBASE], edx
    test dword [cs:SS64_EFER], 1 << 10        ; LMA: interrupted 64-bit code
    jnz .hook64
    test dword [cs:SS64_CR0], 1               ; PE: interrupted 32-bit code
    jz .real64
    mov dword [dword M_FROM], 32
    mov ecx, [cs:SS64_RIP]
    mov [dword M_RIP], ecx
    mov dword [dword M_RIP + 4], 0
    mov ecx, [dword M_HOOK32]
    mov [cs:SS64_RIP], ecx
    mov dword [cs:SS64_RIP + 4], 0
    jmp .ack
.hook64:
    mov dword [dword M_FROM], 64
    mov ecx, [cs:SS64_RIP]
    mov [dword M_RIP], ecx
    mov ecx, [cs:SS64_RIP + 4]
    mov [dword M_RIP + 4], ecx
    mov ecx, [dword M_HOOK64]
    mov [cs:SS64_RIP], ecx
    mov dword [cs:SS64_RIP + 4], 0
    jmp .ack

.ia32:
    mov ecx, [cs:SS32_SMBASE]
    mov [dword M_OLD], ecx
    mov [cs:SS32_SMBASE], edx
    test dword [cs:SS32_CR0], 1
    jz .real32
    mov dword [dword M_FROM], 32
    mov ecx, [cs:SS32_EIP]
    mov [dword M_RIP], ecx
    mov dword [dword M_RIP + 4], 0
    mov ecx, [dword M_HOOK32]
    mov [cs:SS32_EIP], ecx
    jmp .ack

; Real mode: resume at the 16-bit hook (CS = LOWMEM_BASE >> 4), which
; far-jumps back to the IP:CS kept in M_RIP. %1 RIP, %2 CS selector, %3 CS
; base field of the map; %4 = 1 for the 64-bit map, whose fields are wider
; (and whose selector word is followed by the attributes).
%macro REAL_TO_HOOK16 4
    mov dword [dword M_FROM], 16
    mov cx, [cs:%1]
    mov [dword M_RIP], cx
    mov cx, [cs:%2]
    mov [dword M_RIP + 2], cx
%if %4
    mov word [cs:%2], LOWMEM_BASE >> 4
    mov dword [cs:%3 + 4], 0
    mov dword [cs:%1 + 4], 0
%else
    mov dword [cs:%2], LOWMEM_BASE >> 4
%endif
    mov dword [cs:%3], LOWMEM_BASE
    mov ecx, [dword M_HOOK16]
    sub ecx, LOWMEM_BASE
    mov [cs:%1], ecx
%endmacro
.real64:
    REAL_TO_HOOK16 SS64_RIP, SS64_CS_SEL, SS64_CS_BASE, 1
    jmp .ack
.real32:
    REAL_TO_HOOK16 SS32_EIP, SS32_CS_SEL, SS32_CS_BASE, 0
.ack:
    mov dword [dword M_ACK], 1
    rsm
