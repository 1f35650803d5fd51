/* kmain: bring the machine up in the order the SMM work needs, then run
 * the selected tests and leave with the verdict.
 *   console -> multiboot2 -> ACPI -> CPUs (MADT) -> chipset -> SMRAM,
 *   SMBASE relocation and the SMM image (while the APs are still halted
 *   where SeaBIOS left them) -> AP bring-up -> tests. */
#include "kernel/console.h"
#include "kernel/report.h"
#include "kernel/test.h"
#include "kernel/config.h"
#include "smm/relocate.h"
#include "kernel/platform.h"
#include "main/testrun.h"
#include "lib/mb2.h"
#include "kernel/idt.h"
#include "arch/percpu.h"
#include "lib/printf.h"
#include "lib/kstring.h"
#include "arch/x86.h"
#include "drivers/acpi.h"
#include "drivers/lapic.h"
#include "drivers/timer.h"
#include "drivers/chipset.h"
#include "drivers/fwcfg.h"
#include "drivers/pci.h"
#include "drivers/pic.h"
#include "drivers/debugexit.h"
#include "smp/smp.h"
#include "smp/lowmem.h"
#include "smm/smm.h"


static __attribute__((noreturn)) void fatal(const char *name, const char *why)
{
    report(false, "%s", name);
    report_info("%s: %s", name, why);
    debug_exit((enum verdict)report_end());
}

/* What the configuration expects (run-qemu.sh passes it): expect_smm=
 * tseg|aseg|off|firmware (audit mode), cpus=N (CPUs in the MADT), start_cpus=N. Each is one result
 * that runs whatever tests= selects; SMM expected makes a test skipped for
 * lack of SMM a failure. Without expect_smm (a hand-made boot) nothing is
 * expected and such tests skip. */
static void check_expectations(void)
{
    if (!config.expect_smm.set)
        return;
    const char *want = config.expect_smm.v;
    report_prefix_push("boot.config");
    const char *have = smm.audit ? "firmware" : !smm.ready ? "off" : smm.region == SMRAM_TSEG ? "tseg" : "aseg";
    if (!strcmp(want, "off")) {
        report(!smm.ready && !smm.audit, "SMM off, as configured (SMM %s)", have);
    } else if (!strcmp(want, "firmware")) {
        platform.expected |= FEAT_FW_SMM;
        if (!report(smm.audit, "the firmware owns SMM, as configured: firmware audit mode (SMM %s)", have))
            report_info("smm: %s", smm.ready ? "the harness installed its own handler" : smm.why_not);
    } else {
        platform.expected |= FEAT_SMM;
        if (!report(smm.ready && !strcmp(want, have), "SMM on with SMRAM in %s, as configured (SMM %s)", want, have))
            report_info("smm: %s", smm.ready ? "another SMRAM region was chosen" : smm.why_not);
    }
    uint64_t cpus = config.cpus.set ? config.cpus.v : ncpus;
    uint64_t start = config.start_cpus.set ? config.start_cpus.v : ncpus;
    uint64_t want_online = start < cpus ? start : cpus;
    report(smp_online() == want_online, "%lu CPUs online, as configured (%u online, %u in the MADT)", want_online,
           smp_online(), ncpus);
    report_prefix_pop();
}

/* KVM's signature: at 0x40000000, or at 0x40000100 when Hyper-V
 * enlightenments take the first leaves; absent with kvm=off. Scans the
 * hypervisor leaves 0x40000000..0x4000FF00 in steps of 0x100; returns the
 * leaf, or 0. */
static uint32_t kvm_leaf;

static uint32_t find_kvm_leaf(void)
{
    uint32_t a, b, c, d;
    cpuid(1, 0, &a, &b, &c, &d);
    if (!(c & (1u << 31)))
        return 0;                            /* no hypervisor bit */
    for (uint32_t leaf = 0x40000000; leaf < 0x40010000; leaf += 0x100) {
        char sig[12];
        cpuid(leaf, 0, &a, &b, &c, &d);
        memcpy(sig, &b, 4);
        memcpy(sig + 4, &c, 4);
        memcpy(sig + 8, &d, 4);
        if (!memcmp(sig, "KVMKVMKVM\0\0\0", 12))
            return leaf;
    }
    return 0;
}

/* The accelerator: what run-qemu.sh says (accel=tcg|kvm), else what the
 * hypervisor leaves say. boot.accel compares the two. */
static void detect_accel(void)
{
    const char *want = config.accel.v;
    uint32_t a, b, c, d;
    kvm_leaf = find_kvm_leaf();
    cpuid(1, 0, &a, &b, &c, &d);
    bool hv = c & (1u << 31);
    bool told = config.accel.set;
    if (told ? !strcmp(want, "kvm") : kvm_leaf != 0) {
        platform.kvm = true;
        platform.accel_name = "kvm";
    } else if (told ? !strcmp(want, "tcg") : hv) {
        platform.tcg = true;
        platform.accel_name = "tcg";
    } else {
        platform.accel_name = "hw";
    }
}

static void check_accel(void)
{
    if (!config.accel.set)
        return;
    const char *want = config.accel.v;
    /* KVM may hide its signature (kvm=off): then only "kvm" without a leaf is fine. */
    bool ok = !strcmp(want, "kvm") || (!strcmp(want, "tcg") && !kvm_leaf);
    report(ok, "boot.accel: the hypervisor leaves agree with accel=%s (KVM signature %s%x)", want,
           kvm_leaf ? "at 0x" : "absent", kvm_leaf ? kvm_leaf : 0);
}

/* Is anything decoding the legacy VGA window? (PCI class 03h, bus 0.) The
 * A-segment's SMRAM protection depends on it (docs/PLATFORM.md Q7). */
static bool vga_present(void)
{
    for (unsigned dev = 0; dev < 32; dev++) {
        uint32_t id = pci_read32(PCI_BDF(0, dev, 0), 0);
        if ((id & 0xFFFF) != 0xFFFF && pci_read8(PCI_BDF(0, dev, 0), 0x0B) == 0x03)
            return true;
    }
    return false;
}

static void read_cmdline(void)
{
    char line[sizeof(config.line)], extra[1024];
    ksnprintf(line, sizeof(line), "%s", boot_info.has_cmdline ? boot_info.cmdline : "");
    if (fwcfg_present() && fwcfg_read_file_str("opt/smmsync/cmdline", extra, sizeof(extra))) {
        size_t n = strlen(line);
        ksnprintf(line + n, sizeof(line) - n, "%s%s", n ? " " : "", extra);
    }
    config_init(line);
}

static void boot_multiboot2(uint32_t magic, uint32_t mbi)
{
    char err[200];
    if (magic != MB2_BOOTLOADER_MAGIC) {
        ksnprintf(err, sizeof(err), "not started by a multiboot2 loader (EAX=0x%x)", magic);
        fatal("boot.multiboot2", err);
    }
    /* Trust at most 64 KiB and never past 4 GiB; the parser checks the rest. */
    uint32_t total = mbi ? *(const volatile uint32_t *)(uintptr_t)mbi : 0;
    size_t avail = total < 65536 ? total : 65536;
    if (!mbi || (mbi & 7) || mb2_parse((const void *)(uintptr_t)mbi, avail, &boot_info, err, sizeof(err)))
        fatal("boot.multiboot2", mbi ? err : "null boot information pointer");
    if (!boot_info.has_mmap || !boot_info.has_rsdp)
        fatal("boot.multiboot2", !boot_info.has_mmap ? "no memory map tag" : "no ACPI RSDP tag");
    if (!fixed_ranges_ok(&boot_info, err, sizeof(err))) {
        for (unsigned i = 0; i < boot_info.mmap_count; i++)
            kprintf("# memory map: [0x%lx, 0x%lx) type %u\n", boot_info.mmap[i].addr,
                    boot_info.mmap[i].addr + boot_info.mmap[i].len, boot_info.mmap[i].type);
        fatal("boot.memory", err);
    }
}

/* The QEMU version and the firmware run-qemu.sh named (qemu=, firmware=):
 * the TAP header shows them and the known deviations are chosen for them. */
static void platform_versions(void)
{
    if (config.qemu.set && config.qemu.v[0])
        ksnprintf(platform.qemu_tag, sizeof(platform.qemu_tag), "qemu=%s", config.qemu.v);
    kprintf("# platform: QEMU %s, firmware %s (the known deviations are chosen for these)\n",
            platform.qemu_tag[0] ? config.qemu.v : "version unknown (no qemu= given)",
            config.firmware.set && config.firmware.v[0] ? config.firmware.v : "unknown");
}

/* The harness's SMM, or the audit of the firmware's (tests/fw_audit.c). */
static void setup_smm(void)
{
    if (smm_setup()) {
        smm_print_layout();
        synch_self_set(SYNCH_ACTIVE);
    } else if (smm.audit) {
        kprintf("# smm: FIRMWARE AUDIT MODE: %s; the harness's own SMM tests skip, the fw.* tests audit "
                "the firmware's SMM\n", smm.why_not);
    } else {
        kprintf("# smm: not available: %s\n", smm.why_not);
    }
}

void kmain(uint32_t magic, uint32_t mbi)
{
    percpu_init_this(0, 0);
    pic_disable();
    console_init();
    idt_init();
    idt_load();
    kputs("\nsmmsync: bare-metal SMM multiprocessor test harness\n");
    report_begin();
    boot_multiboot2(magic, mbi);     /* first: GRUB's info may live anywhere */
    read_cmdline();
    kprintf("# cmdline: %s\n", config.line);
    kprintf("# seed=%lu (reproduce with seed=%lu)\n", config.seed.v, config.seed.v);

    lapic_init();
    percpu_init_this(0, lapic_id());
    char err[200];
    if (acpi_init(&boot_info, err, sizeof(err)))
        fatal("boot.acpi", err);
    if (acpi_have_fadt && acpi_fadt.pm_tmr_blk)
        pmtimer_set_port((uint16_t)acpi_fadt.pm_tmr_blk, acpi_fadt.tmr_val_ext);
    if (!timer_init())
        fatal("boot.timer", "neither the PM timer nor PIT channel 2 could calibrate the TSC");
    kprintf("# tsc: %lu kHz (%s)\n", tsc_hz() / 1000, pmtimer_present() ? "ACPI PM timer" : "PIT");
    if (!smp_init(err, sizeof(err)))
        fatal("boot.smp", err);

    detect_accel();
    chipset_detect();
    platform.q35 = chipset.kind == CHIPSET_Q35;
    platform.pc = chipset.kind == CHIPSET_I440FX;
    platform.machine_name = chipset.name;
    platform.vga = vga_present();
    kprintf("# machine: %s (host bridge %04x:%04x), accelerator: %s, %s, %u CPUs in the MADT\n",
            platform.machine_name, chipset.vid, chipset.did, platform.accel_name,
            platform.vga ? "VGA present" : "no VGA", ncpus);
    platform_versions();

    lowmem_install();
    setup_smm();
    smp_boot_aps();
    smp_print_topology();

    platform.features = (platform.q35 ? FEAT_Q35 : 0) | (platform.pc ? FEAT_PC : 0) |
                        (platform.tcg ? FEAT_TCG : 0) | (platform.kvm ? FEAT_KVM : 0) |
                        (smm.ready ? FEAT_SMM : 0) | (smm.audit ? FEAT_FW_SMM : 0) |
                        (smm.ready && smm.region == SMRAM_TSEG ? FEAT_TSEG : 0);
    platform.smm = smm.ready;
    platform.smm_why_not = smm.why_not;
    check_accel();
    check_expectations();
    this_percpu()->where = "test runner";
    run_tests();
    debug_exit((enum verdict)report_end());
}
