; Multiboot2 header and the 32-bit entry: check for long mode, build an
; identity map of the first 4 GiB, enter 64-bit mode and call kmain().
; Multiboot2 spec 3.1 (header), 3.3 (machine state at entry);
; SDM vol. 3A 9.8.5 (initializing IA-32e mode).

%include "boot/layout.inc"

MB2_MAGIC       equ 0xE85250D6
MB2_ARCH_I386   equ 0

section .multiboot2 align=8
mb2_header:
    dd MB2_MAGIC
    dd MB2_ARCH_I386
    dd mb2_header_end - mb2_header
    dd -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
    ; information request: cmdline(1), mmap(6), ACPI old(14), ACPI new(15)
    align 8
.info_req:
    dw 1, 0
    dd .info_req_end - .info_req
    dd 1, 6, 14, 15
.info_req_end:
    align 8
    dw 0, 0                     ; end tag
    dd 8
mb2_header_end:

section .boot.text progbits alloc exec nowrite
bits 32
global _start
_start:
    cli
    cld
    mov esp, boot_stack_top
    mov [boot_magic], eax
    mov [boot_mbi], ebx

    ; CPUID 0x80000001 EDX bit 29 = LM (SDM vol. 2A, CPUID).
    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb .no_long_mode
    mov eax, 0x80000001
    cpuid
    test edx, 1 << 29
    jz .no_long_mode

    call build_page_tables

    mov eax, boot_pml4
    mov cr3, eax
    mov eax, cr4
    or eax, CR4_PAE
    mov cr4, eax
    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_LME
    wrmsr
    mov eax, cr0
    or eax, CR0_PG | CR0_PE
    mov cr0, eax
    lgdt [boot_gdtr]
    jmp GDT_CODE64:long_mode_entry

.no_long_mode:
    mov esi, msg_no_lm
.putc:
    lodsb
    test al, al
    jz .exit
    mov ah, al
    mov dx, 0x3FD               ; COM1 LSR: wait for THRE
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    mov al, ah
    mov dx, 0x3F8
    out dx, al
    jmp .putc
.exit:
    mov eax, 1                  ; isa-debug-exit: verdict "fail"
    out 0xF4, eax
.halt:
    hlt
    jmp .halt

; 4 page directories of 2 MiB pages, identity. The 3-4 GiB window (MMIO:
; local APIC, I/O APIC, TSEG black hole) is mapped uncached. This runs before
; any C, so it builds its own; the entries are those of arch/x86.h
; idmap_large_pde() (the names are generated from it), which builds SMRAM's
; map (smm/install.c) and the mode tests' 32-bit directory (smp/lowmem.c).
build_page_tables:
    mov edi, boot_pd
    xor ecx, ecx
.pde:
    mov eax, ecx
    shl eax, 21
    or eax, PTE_P | PTE_W | PTE_PS
    cmp ecx, IDMAP_UC_BASE >> 21
    jb .cached
    or eax, PTE_PCD | PTE_PWT
.cached:
    mov [edi + ecx * 8], eax
    mov dword [edi + ecx * 8 + 4], 0
    inc ecx
    cmp ecx, 4 * 512
    jb .pde
    mov edi, boot_pdpt
    mov eax, boot_pd + (PTE_P | PTE_W)
    mov [edi], eax
    add eax, 0x1000
    mov [edi + 8], eax
    add eax, 0x1000
    mov [edi + 16], eax
    add eax, 0x1000
    mov [edi + 24], eax
    mov eax, boot_pdpt + (PTE_P | PTE_W)
    mov [boot_pml4], eax
    ret

bits 64
long_mode_entry:
    mov ax, GDT_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor ax, ax
    mov fs, ax
    mov gs, ax
    mov rsp, boot_stack_top
    xor ebp, ebp
    mov edi, [boot_magic]
    mov esi, [boot_mbi]
    extern kmain
    call kmain
.dead:
    cli
    hlt
    jmp .dead

section .rodata
msg_no_lm: db "smmsync: FATAL: this CPU has no long mode (CPUID 80000001h EDX.LM=0)", 13, 10
           db "not ok 1 - boot.long_mode", 13, 10, "1..1", 13, 10, 0

; The GDT of the BSP and, once they run C, the APs (smp/smp.c loads it);
; selectors and descriptors: arch/x86.h, laid out by boot/layout.inc.
align 16
global boot_gdt, boot_gdtr
boot_gdt:
    GDT_TABLE
boot_gdtr:
    dw gdt_table_end - gdt_table_start - 1
    dq gdt_table_start

section .bss
alignb 4096
global boot_pml4, boot_pdpt, boot_pd
boot_pml4: resb 4096
boot_pdpt: resb 4096
boot_pd:   resb 4 * 4096
global boot_stack_top
boot_stack: resb 65536                 ; the tests run here: CPU-set texts of 255 CPUs are 1 KiB each
boot_stack_top:
global boot_magic, boot_mbi
boot_magic: resd 1
boot_mbi:   resd 1
