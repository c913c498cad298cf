#include "hm_interrupt.h"

volatile sig_atomic_t hm_interrupt_flag = 0;

void hm_interrupt_clear(void) { hm_interrupt_flag = 0; }
void hm_interrupt_raise(void) { hm_interrupt_flag = 1; }
