/* Thin wrappers around x86 instructions. SDM vol. 2 names the instructions;
 * SDM vol. 4 the MSRs. Shared by the kernel and the SMM image. */
#ifndef SMMSYNC_X86_H
#define SMMSYNC_X86_H

#include <stdint.h>
#include <stdbool.h>

/* The GDT layout every table of ours shares: the kernel's (boot/multiboot2.asm),
 * the AP trampoline's (smp/lowmem.asm) and the SMM image's (the first four,
 * smm/image/config.c). Selectors and descriptors (SDM vol. 3A 3.4.5, figure
 * 3-8): base 0, limit 4 GiB (G=1) or 64 KiB (16-bit), present, DPL 0. The
 * NASM sources get these through build/gen/asm-offsets.inc (tools/asm-offsets.c). */
#define GDT_CODE64 0x08
#define GDT_DATA   0x10
#define GDT_CODE32 0x18
#define GDT_CODE16 0x20
#define GDT_DATA16 0x28
#define GDT_ENTRIES 6                  /* null + the five above */
#define GDT_DESC_CODE64 0x00AF9A000000FFFFull   /* L=1, execute/read */
#define GDT_DESC_DATA   0x00CF92000000FFFFull   /* D/B=1, read/write */
#define GDT_DESC_CODE32 0x00CF9A000000FFFFull   /* D=1, execute/read */
#define GDT_DESC_CODE16 0x00009A000000FFFFull   /* D=0, G=0 */
#define GDT_DESC_DATA16 0x000092000000FFFFull
/* Each CPU's own copy of that GDT (arch/percpu.c) adds its task-state
 * segment: a 16-byte system descriptor (SDM vol. 3A 8.2.3, figure 8-4),
 * type 9 = available 64-bit TSS; LTR marks it busy (type 11). */
#define GDT_TSS    (GDT_ENTRIES * 8)
#define GDT_DESC_TSS_TYPE 0x89          /* present, DPL 0, 64-bit TSS available */

/* Control register and EFER bits: SDM vol. 3A 2.5 (figure 2-7), 2.2.1. */
#define CR0_PE (1u << 0)
#define CR0_MP (1u << 1)
#define CR0_EM (1u << 2)
#define CR0_TS (1u << 3)
#define CR0_NE (1u << 5)
#define CR0_WP (1u << 16)
#define CR0_NW (1u << 29)
#define CR0_CD (1u << 30)
#define CR0_PG (1u << 31)
#define CR4_PSE (1u << 4)
#define CR4_PAE (1u << 5)

/* Paging-structure entry bits: SDM vol. 3A 4.3 (table 4-4, 32-bit paging)
 * and 4.5 (tables 4-15 to 4-20, 4-level paging): the same low bits. */
#define PTE_P   (1u << 0)
#define PTE_W   (1u << 1)
#define PTE_PWT (1u << 3)
#define PTE_PCD (1u << 4)
#define PTE_A   (1u << 5)
#define PTE_D   (1u << 6)
#define PTE_PS  (1u << 7)              /* in a PDE: a 4 MiB / 2 MiB page */

/* Every identity map of ours (the boot page tables, SMRAM's, the 32-bit
 * directory of the mode tests) maps 3-4 GiB (local APIC, I/O APIC, the TSEG
 * black hole) uncached. One large-page entry for 'addr' (the page's base). */
#define IDMAP_UC_BASE 0xC0000000ull
static inline uint64_t idmap_large_pde(uint64_t addr)
{
    return addr | PTE_P | PTE_W | PTE_PS | (addr >= IDMAP_UC_BASE ? PTE_PCD | PTE_PWT : 0);
}

/* The exceptions for which the CPU pushes an error code: SDM vol. 3A 6.13
 * and table 6-1 (#DF 8, #TS 10, #NP 11, #SS 12, #GP 13, #PF 14, #AC 17,
 * #CP 21, #VC 29, #SX 30). Both IDT stubs (kernel/isr.asm, smm/image/idt.asm)
 * test this mask (boot/layout.inc HAS_ERRCODE). */
#define EXC_ERRCODE_MASK ((1u << 8) | (1u << 10) | (1u << 11) | (1u << 12) | (1u << 13) | \
                          (1u << 14) | (1u << 17) | (1u << 21) | (1u << 29) | (1u << 30))

#define MSR_IA32_APIC_BASE 0x1B
#define   APIC_BASE_BSP    (1u << 8)
#define   APIC_BASE_X2APIC (1u << 10)
#define   APIC_BASE_ENABLE (1u << 11)
#define MSR_X2APIC_APICID  0x802       /* x2APIC ID register (SDM vol. 3A, "x2APIC Register Address Space") */
#define MSR_SMI_COUNT      0x34        /* SDM vol. 4 ch. 2, table "MSRs in Processors Based on Intel
                                          Microarchitecture Code Name Nehalem" (and its successors':
                                          table 35-13 in the 2015 vol. 3C), "MSR_SMI_COUNT" */
#define MSR_EFER           0xC0000080
#define   EFER_LME         (1u << 8)
#define   EFER_LMA         (1u << 10)

#define RFLAGS_IF (1u << 9)

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

/* An RDMSR that survives the #GP of an MSR the CPU does not have: the
 * kernel's #GP handler (kernel/idt.c) resumes at the fixup that the
 * exception table (section .ex_table: faulting address, fixup address)
 * lists for it. Returns false, *v = 0, on a fault. */
struct ex_entry { uint64_t insn, fixup; };
static inline bool rdmsr_safe(uint32_t msr, uint64_t *v)
{
    uint32_t lo = 0, hi = 0, fault = 0;
    __asm__ volatile("1: rdmsr\n"
                     "2:\n"
                     ".pushsection .ex_table, \"a\"\n .quad 1b, 3f\n.popsection\n"
                     ".pushsection .text.fixup, \"ax\"\n"
                     "3: movl $1, %2\n xorl %0, %0\n xorl %1, %1\n jmp 2b\n.popsection\n"
                     : "+a"(lo), "+d"(hi), "+r"(fault) : "c"(msr) : "memory");
    *v = (uint64_t)hi << 32 | lo;
    return !fault;
}

/* A load that survives a #GP the same way (the exception table's own test,
 * boot.extable: TCG's RDMSR never faults, a non-canonical load always does). */
static inline bool read_u64_safe(const volatile uint64_t *p, uint64_t *v)
{
    uint64_t val = 0;
    uint32_t fault = 0;
    __asm__ volatile("1: movq (%2), %0\n"
                     "2:\n"
                     ".pushsection .ex_table, \"a\"\n .quad 1b, 3f\n.popsection\n"
                     ".pushsection .text.fixup, \"ax\"\n"
                     "3: movl $1, %1\n xorl %k0, %k0\n jmp 2b\n.popsection\n"
                     : "+r"(val), "+r"(fault) : "r"(p) : "memory");
    *v = val;
    return !fault;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void hlt(void) { __asm__ volatile("hlt" ::: "memory"); }
static inline uint64_t read_rflags(void) { uint64_t f; __asm__ volatile("pushfq; popq %0" : "=r"(f)); return f; }
static inline uint64_t read_cr0(void) { uint64_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr2(void) { uint64_t v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr3(void) { uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
/* CR8: the task priority (SDM vol. 3A 10.8.6.1), 64-bit mode only. */
static inline uint64_t read_cr8(void) { uint64_t v; __asm__ volatile("mov %%cr8, %0" : "=r"(v)); return v; }
static inline void write_cr8(uint64_t v) { __asm__ volatile("mov %0, %%cr8" :: "r"(v) : "memory"); }
static inline uint64_t read_cr4(void) { uint64_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline bool irqs_enabled(void) { return read_rflags() & RFLAGS_IF; }

static inline void mmio_write32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint32_t mmio_read32(uintptr_t a) { return *(volatile uint32_t *)a; }

#define READ_ONCE(x)     (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

#endif
