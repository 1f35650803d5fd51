/* The command line, parsed once (kernel/config.h). */
#include "kernel/config.h"
#include "lib/cmdline.h"
#include "lib/kstring.h"
#include "lib/printf.h"
#include "arch/x86.h"

struct config config;
struct mb2_info boot_info;

static void num(const char *key, struct cfg_num *n)
{
    n->set = cmdline_get_u64(config.line, key, &n->v);
}

#define STR(key, field) (config.field.set = cmdline_get(config.line, key, config.field.v, sizeof(config.field.v)))

void config_init(const char *line)
{
    ksnprintf(config.line, sizeof(config.line), "%s", line);
    num("seed", &config.seed);
    if (!config.seed.set)
        config.seed.v = rdtsc();
    num("cpus", &config.cpus);
    num("start_cpus", &config.start_cpus);
    num("ap_real_mode", &config.ap_real_mode);
    num("smm_x2apic_flag", &config.smm_x2apic_flag);
    num("synch_stride", &config.synch_stride);
    num("waitall_us", &config.waitall_us);
    num("pullin_us", &config.pullin_us);
    num("pullin2_us", &config.pullin2_us);
    num("patent_failsafe_us", &config.patent_failsafe_us);
    num("init_udelay", &config.init_udelay);
    num("sipi_udelay", &config.sipi_udelay);
    num("ap_timeout_ms", &config.ap_timeout_ms);
    num("storm_smis", &config.storm_smis);
    num("bench_n", &config.bench_n);
    num("host_cpus", &config.host_cpus);
    STR("tests", tests);
    STR("bench", bench);
    STR("fault", fault);
    STR("topology", topology);
    STR("expect_smm", expect_smm);
    STR("smram", smram);
    STR("smm", smm);
    STR("accel", accel);
    STR("idle", idle);
    STR("smm_wait", smm_wait);
    STR("wait", wait);
    STR("qemu", qemu);
    STR("firmware", firmware);
}

unsigned config_host_scale(unsigned vcpus)
{
    if (!config.host_cpus.set || !config.host_cpus.v)
        return 1;
    uint64_t per = config.host_cpus.v * VCPUS_PER_HOST_CPU;
    uint64_t k = (vcpus + per - 1) / per;
    return k > 1 ? (unsigned)k : 1;
}

bool config_fault(const char *what, unsigned *cpu)
{
    const char *v = config.fault.v;
    size_t n = strlen(what);
    if (!config.fault.set || strncmp(v, what, n))
        return false;
    if (!cpu)
        return v[n] == 0;
    uint64_t c;
    return v[n] == ':' && parse_u64(v + n + 1, &c) && (*cpu = (unsigned)c, true);
}
