/* What this boot was given: the multiboot2 information and the kernel
 * command line (GRUB's, then fw_cfg opt/smmsync/cmdline), parsed once by
 * config_init() into typed fields. Every layer above kernel/ reads these;
 * nobody parses the line again. Argument meanings: README.md. */
#ifndef SMMSYNC_CONFIG_H
#define SMMSYNC_CONFIG_H
#include <stdint.h>
#include <stdbool.h>
#include "lib/kstring.h"
#include "lib/mb2.h"

/* set: the key was given with a valid number (lib/cmdline.h rules). */
struct cfg_num { bool set; uint64_t v; };
/* set: the key was given and its value fits (else v holds a truncated copy). */
#define CFG_STR(n) struct { bool set; char v[n]; }

struct config {
    char line[2048];                /* the whole command line, as given */
    struct cfg_num seed;            /* v: the seed in use (rdtsc when not given) */
    struct cfg_num cpus, start_cpus, ap_real_mode, smm_x2apic_flag, synch_stride;
    struct cfg_num waitall_us, pullin_us, pullin2_us, patent_failsafe_us;
    struct cfg_num init_udelay, sipi_udelay, ap_timeout_ms, storm_smis, bench_n;
    struct cfg_num host_cpus;       /* the host's CPUs (run-qemu.sh passes nproc) */
    CFG_STR(512) tests;
    CFG_STR(64) bench;
    CFG_STR(48) fault;
    CFG_STR(32) topology;
    CFG_STR(16) expect_smm, smram, smm;
    CFG_STR(8) accel;
    CFG_STR(8) idle;                /* idle=hlt (default) | spin: the APs' idle loop */
    CFG_STR(8) smm_wait;            /* smm_wait=hlt (default) | spin: how CPUs wait in SMM */
    CFG_STR(8) wait;                /* wait=hlt (default) | spin: the BSP's bounded waits in tests */
    CFG_STR(24) qemu;               /* qemu=7.2.22: the QEMU version (run-qemu.sh passes it) */
    CFG_STR(16) firmware;           /* firmware=seabios: what booted GRUB (run-qemu.sh) */
};

extern struct config config;
extern struct mb2_info boot_info;

/* Parses 'line' (copied into config.line) into config. */
void config_init(const char *line);
/* fault=WHAT (cpu == 0) or fault=WHAT:N (N stored in *cpu). */
bool config_fault(const char *what, unsigned *cpu);
/* How many times its nominal bound a wait for other vCPUs may take: the
 * host runs every vCPU beyond VCPUS_PER_HOST_CPU per host CPU only when
 * its scheduler gets to it (measured: q35-16 on 2 host CPUs needs no more,
 * q35-64 does). 1 when host_cpus= was not given. The rendezvous bounds, the
 * tests' waits for SMM entries and the test watchdog are multiplied by it. */
#define VCPUS_PER_HOST_CPU 8
unsigned config_host_scale(unsigned vcpus);
/* A string key equals 'v' (given and fits). */
#define config_is(field, s) (config.field.set && !strcmp(config.field.v, (s)))
#endif
