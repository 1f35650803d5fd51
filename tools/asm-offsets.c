/* The assembler's view of the C headers, generated at build time (the
 * asm-offsets technique): this file is compiled with the kernel's flags to
 * assembly only (-S), never linked; every SYM() leaves a "->NAME value"
 * marker in the .s file, and the Makefile turns the markers into
 * build/gen/asm-offsets.inc (%define NAME value), which the NASM sources
 * include through boot/layout.inc. A struct field, bit or selector the
 * assembly uses is thus written once, in C, and cannot drift. */
#include <stddef.h>
#include "arch/x86.h"
#include "smp/lowmem.h"
#include "smm/stub.h"
#include "smm/savestate.h"
#include "smm/smm_abi.h"
#include "drivers/lapic.h"

#define SYM(name, value) __asm__ volatile("\n.ascii \"->" #name " %0\"" :: "i"((unsigned long long)(value)))
#define LMP(name, field) SYM(LMP_##name, offsetof(struct lowmem_params, field))
#define STUB(name, field) SYM(STUB_##name, offsetof(struct smm_stub_params, field))
#define ES(name, field) SYM(ES_##name, offsetof(struct smm_entry_state, field))
#define SS(name, off) SYM(name, SMM_SAVE_OFFSET + (off))   /* from SMBASE: the handler's CS base */

void asm_offsets(void);
void asm_offsets(void)
{
    /* GDT: selectors and descriptors (arch/x86.h). */
    SYM(GDT_CODE64, GDT_CODE64);
    SYM(GDT_DATA, GDT_DATA);
    SYM(GDT_CODE32, GDT_CODE32);
    SYM(GDT_CODE16, GDT_CODE16);
    SYM(GDT_DATA16, GDT_DATA16);
    SYM(SMM_WAKE_VECTOR, SMM_WAKE_VECTOR);   /* smm/image/idt.asm's wake gate */
    SYM(SMM_TIMER_VECTOR, SMM_TIMER_VECTOR); /* and its timer gate */
    SYM(GDT_DESC_CODE64, GDT_DESC_CODE64);
    SYM(GDT_DESC_DATA, GDT_DESC_DATA);
    SYM(GDT_DESC_CODE32, GDT_DESC_CODE32);
    SYM(GDT_DESC_CODE16, GDT_DESC_CODE16);
    SYM(GDT_DESC_DATA16, GDT_DESC_DATA16);

    /* Control registers, EFER, paging entries, exceptions (arch/x86.h). */
    SYM(CR0_PE, CR0_PE);
    SYM(CR0_MP, CR0_MP);
    SYM(CR0_EM, CR0_EM);
    SYM(CR0_TS, CR0_TS);
    SYM(CR0_NE, CR0_NE);
    SYM(CR0_WP, CR0_WP);
    SYM(CR0_NW, CR0_NW);
    SYM(CR0_CD, CR0_CD);
    SYM(CR0_PG, CR0_PG);
    SYM(CR4_PSE, CR4_PSE);
    SYM(CR4_PAE, CR4_PAE);
    SYM(MSR_EFER, MSR_EFER);
    SYM(EFER_LME, EFER_LME);
    SYM(EFER_LMA, EFER_LMA);
    SYM(MSR_IA32_APIC_BASE, MSR_IA32_APIC_BASE);
    SYM(APIC_BASE_X2APIC, APIC_BASE_X2APIC);
    SYM(MSR_X2APIC_APICID, MSR_X2APIC_APICID);
    SYM(XAPIC_ID_REG, XAPIC_BASE + APIC_ID);
    SYM(PTE_P, PTE_P);
    SYM(PTE_W, PTE_W);
    SYM(PTE_PWT, PTE_PWT);
    SYM(PTE_PCD, PTE_PCD);
    SYM(PTE_PS, PTE_PS);
    SYM(IDMAP_UC_BASE, IDMAP_UC_BASE);
    SYM(EXC_ERRCODE_MASK, EXC_ERRCODE_MASK);

    /* The low-memory blob and its parameter block (smp/lowmem.h). */
    SYM(LOWMEM_BASE, LOWMEM_BASE);
    SYM(LOWMEM_PARAMS_OFF, LOWMEM_PARAMS_OFF);
    SYM(LOWMEM_PARAMS, LOWMEM_BASE + LOWMEM_PARAMS_OFF);
    SYM(LMP_SIZE, sizeof(struct lowmem_params));
    LMP(CR3, cr3);
    LMP(CR4, cr4);
    LMP(AP_ENTRY, ap_entry);
    LMP(AP_STACK, ap_stack);
    LMP(AP_ARG, ap_arg);
    LMP(AP_ALIVE, ap_alive);
    LMP(RELOC_RIP, reloc_rip);
    LMP(RELOC_DONE, reloc_done);
    LMP(MODE, mode);
    LMP(SAVED_RSP, saved_rsp);
    LMP(SAVED_IDTR, saved_idtr);
    LMP(PD32, pd32);
    LMP(READY, ready);
    LMP(GO, go);
    LMP(SPINS, spins);
    LMP(TIMEDOUT, timedout);
    LMP(PAT, pat);
    LMP(OUT, out);
    LMP(SAVED_ESP, saved_esp);
    LMP(RELOC_NEW, reloc_new);
    LMP(RELOC_OLD, reloc_old);
    LMP(RELOC_REV, reloc_rev);
    LMP(RELOC_APIC, reloc_apic);
    LMP(RELOC_ACK, reloc_ack);
    LMP(RELOC_HOOK32, reloc_hook32);
    LMP(RELOC_HOOK64, reloc_hook64);
    LMP(RELOC_HOOK16, reloc_hook16);
    LMP(RELOC_FROM, reloc_from);
    LMP(CTX, ctx);
    SYM(MC_GDTR, offsetof(struct mode_ctx, gdtr));
    SYM(MC_IDTR, offsetof(struct mode_ctx, idtr));
    SYM(MC_LDTR, offsetof(struct mode_ctx, ldtr));
    SYM(MC_TR, offsetof(struct mode_ctx, tr));
    SYM(MC_DS, offsetof(struct mode_ctx, ds));
    SYM(MC_ES, offsetof(struct mode_ctx, es));
    SYM(MC_SS, offsetof(struct mode_ctx, ss));
    SYM(MC_FS, offsetof(struct mode_ctx, fs));
    SYM(MC_GS, offsetof(struct mode_ctx, gs));
    SYM(MC_CR4, offsetof(struct mode_ctx, cr4));
    SYM(MC_DR7, offsetof(struct mode_ctx, dr7));
    SYM(MC_EFER, offsetof(struct mode_ctx, efer));
    SYM(RELOC_DONE16, RELOC_DONE16);
    SYM(RELOC_DONE32, RELOC_DONE32);
    SYM(RELOC_DONE64, RELOC_DONE64);
    SYM(LM_MODE_REAL, LM_MODE_REAL);
    SYM(LM_MODE_PROT32_PG, LM_MODE_PROT32_PG);

    /* The SMM entry stub's parameter block (smm/stub.h). */
    SYM(SMM_ENTRY_OFFSET, SMM_ENTRY_OFFSET);
    SYM(SMM_STUB_PARAMS_OFF, SMM_STUB_PARAMS_OFF);
    SYM(SMM_STUB_MAGIC, SMM_STUB_MAGIC);
    SYM(STUB_SIZE, sizeof(struct smm_stub_params));
    STUB(MAGIC, magic);
    STUB(CPU, cpu);
    STUB(BASE, base);
    STUB(CR3, cr3);
    STUB(GDTR, gdt_limit);
    STUB(JMP32, jmp32_off);
    STUB(JMP32_SEL, jmp32_sel);
    STUB(JMP64, jmp64_off);
    STUB(JMP64_SEL, jmp64_sel);
    STUB(STACK, stack);
    STUB(HANDLER, handler);

    /* The entry snapshot the stub writes (struct smm_entry_state, smm/smm_abi.h). */
    SYM(SMM_ENTRY_SNAP_SIZE, SMM_ENTRY_SNAP_SIZE);
    SYM(SMM_ENTRY_SNAP_MAGIC, SMM_ENTRY_SNAP_MAGIC);
    ES(CS, cs);
    ES(DS, ds);
    ES(ES, es);
    ES(SS, ss);
    ES(FS, fs);
    ES(GS, gs);
    ES(IDTR, idt_limit);
    ES(GDTR, gdt_limit);
    ES(CR0, cr0);
    ES(CR3, cr3);
    ES(CR4, cr4);
    ES(DR6, dr6);
    ES(DR7, dr7);
    ES(EFER_LO, efer_lo);
    ES(EFER_HI, efer_hi);
    ES(CS_MAGIC, cs_magic);
    ES(FLAGS_AH, flags_ah);
    ES(FLAGS_OF, flags_of);
    ES(RFLAGS_LATE, rflags_late);
    ES(MAGIC, magic);

    /* The save-state fields of the relocation handler (smm/savestate.h). */
    SS(SS_REV, SS_OFF_REVISION);
    SS(SS64_SMBASE, SS64_OFF_SMBASE);
    SS(SS64_EFER, SS64_OFF_EFER);
    SS(SS64_CR0, SS64_OFF_CR0);
    SS(SS64_RIP, SS64_OFF_RIP);
    SS(SS64_CS_SEL, SS64_OFF_CS_SEL);
    SS(SS64_CS_BASE, SS64_OFF_CS_BASE);
    SS(SS32_SMBASE, SS32_OFF_SMBASE);
    SS(SS32_EIP, SS32_OFF_EIP);
    SS(SS32_CR0, SS32_OFF_CR0);
    SS(SS32_CS_SEL, SS32_OFF_CS_SEL);
    SS(SS32_CS_BASE, SS32_OFF_CS_BASE);
    SYM(SS_REV_AMD64_LOW, SS_REV_AMD64_LOW);
}
