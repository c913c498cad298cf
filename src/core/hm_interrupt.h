/* Cooperative interruption: the host's SIGINT handler sets the flag, long C loops poll it
 * with hm_interrupted() and return HM_EINTR, and the binding raises "interrupted". */
#ifndef HM_INTERRUPT_H
#define HM_INTERRUPT_H

#include <signal.h>

extern volatile sig_atomic_t hm_interrupt_flag;

static inline int hm_interrupted(void) { return hm_interrupt_flag != 0; }
void hm_interrupt_clear(void);
void hm_interrupt_raise(void); /* async-signal-safe */

#endif
