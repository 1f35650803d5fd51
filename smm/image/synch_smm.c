/* The synchbyte backends from inside SMM (claims 3-9, 47-50). The same
 * rendezvous code runs on each; the backend only decides where a byte is.
 *  mem:   system memory below SMRAM, in the overlap of all SMM windows
 *  smram: inside SMRAM, in the overlap (non-SMM writes go through a service call)
 *  cmos:  CMOS NVRAM bytes in the controller hub (ports 0x70/0x71); the
 *         index/data pair is shared, so every access holds cmos_lock. The
 *         kernel never touches CMOS itself, so only SMM code takes the lock
 *         and a CPU in SMM cannot be interrupted while holding it. */
#include "smm/image/smm.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA  0x71

static struct spinlock cmos_lock SMM_MUTABLE;   /* zero: unlocked */
/* Held across a backend switch and across each CPU's entry read-and-write
 * and exit write, so no CPU reads its byte from a medium being emptied. */
static struct spinlock switch_lock SMM_MUTABLE;   /* zero: unlocked */

static volatile uint8_t *mem_byte(uint64_t area, unsigned cpu)
{
    return (volatile uint8_t *)(uintptr_t)(area + (uint64_t)cpu * smm_config.synch_stride);
}

static uint8_t cmos_get(unsigned cpu)
{
    spin_lock(&cmos_lock);
    outb(CMOS_INDEX, (uint8_t)(smm_config.cmos_index + cpu));
    uint8_t v = inb(CMOS_DATA);
    spin_unlock(&cmos_lock);
    return v;
}

static void cmos_put(unsigned cpu, uint8_t v)
{
    spin_lock(&cmos_lock);
    outb(CMOS_INDEX, (uint8_t)(smm_config.cmos_index + cpu));
    outb(CMOS_DATA, v);
    spin_unlock(&cmos_lock);
}

static uint8_t get_from(enum synch_backend b, unsigned cpu)
{
    switch (b) {
    case SYNCH_SMRAM: return *mem_byte(smm_config.synch_smram, cpu);
    case SYNCH_CMOS: return cmos_get(cpu);
    default: return *mem_byte(smm_config.synch_mem, cpu);
    }
}

static void put_to(enum synch_backend b, unsigned cpu, uint8_t v)
{
    switch (b) {
    case SYNCH_SMRAM: *mem_byte(smm_config.synch_smram, cpu) = v; break;
    case SYNCH_CMOS: cmos_put(cpu, v); break;
    default: *mem_byte(smm_config.synch_mem, cpu) = v; break;
    }
}

uint8_t synch_get(unsigned cpu)
{
    return get_from((enum synch_backend)smm_config.backend, cpu);
}

void synch_put(unsigned cpu, uint8_t v)
{
    spin_lock(&switch_lock);
    put_to((enum synch_backend)smm_config.backend, cpu, v);
    spin_unlock(&switch_lock);
}

uint8_t synch_enter(unsigned cpu)
{
    spin_lock(&switch_lock);
    enum synch_backend b = (enum synch_backend)smm_config.backend;
    uint8_t before = get_from(b, cpu);
    put_to(b, cpu, SYNCH_IN_SMM);
    spin_unlock(&switch_lock);
    return before;
}

/* Copies every byte to the new medium and clears the old one, so a stale
 * copy can never be read later. Run by the monarch while the others wait. */
void synch_migrate(enum synch_backend to)
{
    spin_lock(&switch_lock);
    enum synch_backend from = (enum synch_backend)smm_config.backend;
    if (from != to) {
        for (unsigned i = 0; i < smm_config.ncpus; i++) {
            put_to(to, i, get_from(from, i));
            put_to(from, i, SYNCH_INACTIVE);
        }
        __atomic_store_n(&smm_config.backend, to, __ATOMIC_SEQ_CST);
    }
    spin_unlock(&switch_lock);
}
