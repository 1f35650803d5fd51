/* Test-and-test-and-set spinlock; interrupts are the caller's business. */
#ifndef SMMSYNC_SPINLOCK_H
#define SMMSYNC_SPINLOCK_H

#include "arch/x86.h"

struct spinlock { volatile uint32_t locked; volatile int32_t owner; };

#define SPINLOCK_INIT { 0, -1 }

static inline bool spin_trylock(struct spinlock *l)
{
    return __atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE) == 0;
}
static inline void spin_lock(struct spinlock *l)
{
    while (!spin_trylock(l))
        while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
            cpu_relax();
}
static inline void spin_unlock(struct spinlock *l)
{
    l->owner = -1;
    __atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}
#endif
