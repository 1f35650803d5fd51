/* Boot information, ACPI, the timebase, and the parsers' handling of
 * malformed input (fed corrupted copies of the real tables). */
#include "kernel/config.h"
#include "kernel/test.h"
#include "kernel/report.h"
#include "lib/mb2.h"
#include "lib/cmdline.h"
#include "lib/kstring.h"
#include "drivers/acpi.h"
#include "drivers/timer.h"
#include "smp/smp.h"
#include "smm/relocate.h"
#include "smm/smm.h"

extern char __kernel_start[], __kernel_end[];

static void test_multiboot2(void)
{
    report(boot_info.has_cmdline && cmdline_has(boot_info.cmdline, "console"),
           "cmdline from grub.cfg ('%s')", boot_info.cmdline);
    /* Every fixed range the harness writes is RAM in the firmware's map
     * (a UEFI map splits RAM into several adjacent entries). */
    const struct fixed_range *f;
    unsigned nf = fixed_ranges(&f) - (smm.audit ? 1 : 0);   /* audit: no relocation window */
    for (unsigned i = 0; i < nf; i++) {
        uint64_t bad = 0;
        if (!report(boot_info.mmap_count > 0 && mb2_ram_covers(&boot_info, f[i].lo, f[i].hi, &bad),
                    "the memory map (%u entries) has RAM for %s [0x%lx, 0x%lx)", boot_info.mmap_count,
                    f[i].what, f[i].lo, f[i].hi))
            report_info("0x%lx is not RAM", bad);
    }
    report(boot_info.has_rsdp && (boot_info.rsdp_version == 1 || boot_info.rsdp_version == 2),
           "ACPI RSDP tag (ACPI %s)", boot_info.rsdp_version == 2 ? "2.0+" : "1.0");
}
TEST("00", "boot.multiboot2", test_multiboot2);

/* The QEMU version run-qemu.sh passed (qemu=) picks the known deviations:
 * a deviation listed below version 1000 holds, one listed from 1000 does
 * not; without a version both hold (nothing is dropped on a guess). */
static void test_versions(void)
{
    static const char cfg[] = "below-1000 *+qemu<1000 a QEMU before 1000\n"
                              "from-1000  *+qemu>=1000 a QEMU from 1000 on\n";
    bool known = config.qemu.set && config.qemu.v[0];
    bool below = report_deviation_listed(cfg, "below-1000"), from = report_deviation_listed(cfg, "from-1000");
    report(known ? below && !from : below && from,
           "known deviations are chosen for QEMU %s: one listed for qemu<1000 %s, one for qemu>=1000 %s",
           known ? config.qemu.v : "(version unknown)", below ? "holds" : "does not hold",
           from ? "holds" : "does not hold");
}
TEST("00", "boot.versions", test_versions);

/* The kernel's exception table (arch/x86.h rdmsr_safe, read_u64_safe): a
 * #GP at a listed instruction resumes at its fixup. Under TCG RDMSR never
 * faults (an MSR the CPU lacks reads 0), so the table is checked with a
 * load from a non-canonical address, which always does. */
static void test_extable(void)
{
    static volatile uint64_t here = 0x1122334455667788ull;
    uint64_t v = 1;
    bool ok = read_u64_safe((const volatile uint64_t *)0x8000000000000000ull, &v);
    report(!ok && v == 0, "a GP fault at a listed instruction (a non-canonical load) resumes at its fixup");
    ok = read_u64_safe(&here, &v);
    report(ok && v == here, "the same load from a good address reads %lx", v);
}
TEST("00", "boot.extable", test_extable);

static void test_acpi(void)
{
    report(ncpus > 0 && acpi_madt.lapic_addr == 0xFEE00000u, "MADT: %u enabled CPUs, LAPIC at 0x%x",
           ncpus, acpi_madt.lapic_addr);
    if (config.cpus.set)
        report(ncpus == config.cpus.v, "MADT CPU count %u matches the configuration (%lu)", ncpus, config.cpus.v);
    report(acpi_have_fadt && acpi_fadt.pm_tmr_blk, "FADT: PM timer at port 0x%x",
           acpi_fadt.pm_tmr_blk);
}
TEST("00", "boot.acpi", test_acpi);

static uint8_t scratch[16384] __attribute__((aligned(8)));
static struct mb2_info tmp_info;
static struct acpi_madt_info tmp_madt;

static void sum_fix(uint8_t *t, uint32_t len)
{
    uint8_t s = 0;
    t[9] = 0;
    for (uint32_t i = 0; i < len; i++)
        s = (uint8_t)(s + t[i]);
    t[9] = (uint8_t)-s;
}

/* Malformed input must give an error, never a fault. */
static void test_bad_input(void)
{
    char err[160];
    uint32_t *w = (uint32_t *)scratch;
    memset(scratch, 0, 64);
    w[0] = 40;                                   /* total_size */
    w[2] = 1; w[3] = 16; memcpy(&w[4], "abcdefg", 8);   /* cmdline tag */
    w[6] = 0; w[7] = 8;                          /* end tag */
    report(mb2_parse(scratch, 40, &tmp_info, err, sizeof(err)) == 0, "multiboot2: well-formed copy parses");
    w[3] = 200;
    int rc = mb2_parse(scratch, 40, &tmp_info, err, sizeof(err));
    report(rc != 0, "multiboot2: tag overrunning the info refused");
    report_info("%s", err);
    w[3] = 16; w[6] = 1;
    report(mb2_parse(scratch, 40, &tmp_info, err, sizeof(err)) != 0, "multiboot2: missing end tag refused");
    w[6] = 0; w[0] = 4;
    report(mb2_parse(scratch, 40, &tmp_info, err, sizeof(err)) != 0, "multiboot2: total_size below 16 refused");

    /* The boot-time copy: TSEG now hides SeaBIOS's tables at the top of RAM. */
    const void *madt = acpi_madt_raw;
    uint32_t len = acpi_madt_raw_len;
    memcpy(scratch, madt, len);
    report(acpi_parse_madt(scratch, len, &tmp_madt, err, sizeof(err)) == 0, "acpi: MADT copy parses");
    scratch[len - 1] ^= 0x5A;                    /* checksum now wrong */
    report(acpi_parse_madt(scratch, len, &tmp_madt, err, sizeof(err)) != 0, "acpi: bad checksum refused");
    report_info("%s", err);
    memcpy(scratch, madt, len);
    report(acpi_parse_madt(scratch, len - 4, &tmp_madt, err, sizeof(err)) != 0,
           "acpi: truncated MADT refused");
    memcpy(scratch, madt, len);
    if (len > 46) {
        scratch[45] = 0;                         /* first entry's length = 0 */
        sum_fix(scratch, len);
        report(acpi_parse_madt(scratch, len, &tmp_madt, err, sizeof(err)) != 0,
               "acpi: zero-length MADT entry refused");
        report_info("%s", err);
    }
}
TEST("00", "boot.bad_input", test_bad_input);

/* The TSC was calibrated against the PIT; check it against the ACPI PM
 * timer, and udelay() against the PM timer too. */
static uint64_t absdiff(uint64_t a, uint64_t b) { return a > b ? a - b : b - a; }

/* The boot calibrated the TSC on the PM timer; check it against the PIT
 * (the second clock), and udelay() against the PM timer. Each calibration
 * brackets its clock reads with TSC reads and retries a trial the host
 * disturbed (drivers/timer.c), so one PIT calibration is compared. The
 * udelay() measurement has no bracket: park the APs (quiet machine) and
 * keep the best of a few trials. A wrong calibration fails them all. */
static void test_tsc(void)
{
    if (!pmtimer_present()) {
        report_skip("no ACPI PM timer", "tsc against the PM timer");
        return;
    }
    uint64_t parked = 0;
    for (unsigned i = 1; i < ncpus; i++)
        if (cpu_usable(i) && cpu_park_hlt(i))
            parked |= 1ull << i;
    uint64_t boot = tsc_hz(), pit = tsc_hz_by_pit(50), best_us = 0;
    for (int t = 0; t < 6 && absdiff(best_us, 100000) >= 2000; t++) {
        uint32_t p0 = pmtimer_read();
        udelay(100000);
        uint32_t p1 = pmtimer_read();
        uint64_t ticks = (p1 - p0) & 0xFFFFFF, us = ticks * 1000000 / PM_TIMER_HZ;
        if (!best_us || absdiff(us, 100000) < absdiff(best_us, 100000))
            best_us = us;
    }
    for (unsigned i = 1; i < ncpus; i++)
        if (parked >> i & 1)
            cpu_wake_hlt(i);
    report_info("TSC %lu kHz by the PM timer (boot), %lu kHz by the PIT", boot / 1000, pit / 1000);
    report(pit && absdiff(pit, boot) * 100 < boot * 3, "PM-timer and PIT calibrations agree within 3%%");
    report(best_us >= 99000 && best_us <= 110000, "udelay(100000) took %lu us by the PM timer", best_us);
}
TEST("01", "timer.tsc", test_tsc);

/* The one bounded wait outside SMM (WAIT_UNTIL, drivers/timer.h): a
 * condition that never holds ends at the bound, false, neither early nor
 * much later; one that already holds ends at once, true. */
static volatile int never;

static void test_wait(void)
{
    uint64_t t0 = rdtsc();
    bool got = WAIT_UNTIL(never, 2000);
    uint64_t us = tsc_to_ns(rdtsc() - t0) / 1000;
    report(!got && us >= 2000 && us < 200000, "a wait for what never happens ends at its bound: false after %lu us "
           "(bound 2000 us)", us);
    /* "At once" against a 2 s bound: 50 ms leaves room for a host that
     * deschedules the vCPU (q35-1 saw 1.7 ms once under make test), and
     * still catches a wait that does not look before it pauses. */
    t0 = rdtsc();
    got = WAIT_UNTIL(!never, 2000000);
    us = tsc_to_ns(rdtsc() - t0) / 1000;
    report(got && us < 50000, "a wait for what already holds ends at once: true after %lu us (of a 2 s bound)", us);
}
TEST("01", "timer.wait", test_wait);
