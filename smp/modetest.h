/* The 64-bit state-preservation routine (smp/modetest.asm): it loads
 * ml_pat into all 16 GPRs, RSP included, says ml_ready, optionally halts
 * (IF=0), spins on ml_go, then stores every GPR into ml_out. While it
 * waits RSP holds a pattern, not a stack: only a vector with a stack of
 * its own (an IST gate, arch/percpu.h) may interrupt it. */
#ifndef SMMSYNC_MODETEST_H
#define SMMSYNC_MODETEST_H
#include <stdint.h>

extern uint64_t ml_pat[16], ml_out[16];
extern volatile uint32_t ml_ready, ml_go, ml_timedout;
extern char ml_after_hlt[], ml_wait_start[], ml_wait_end[];
void mode_test_long(int do_hlt);

#define ML_RSP 7                 /* ml_pat/ml_out index of RSP */

/* Loads a non-canonical RSP and executes UD2: the #UD cannot be pushed,
 * so the CPU raises a double fault (SDM vol. 3A 6.15, table 6-5). */
void double_fault_now(void);
#endif
