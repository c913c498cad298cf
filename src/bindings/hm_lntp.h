/* Shared by the NTP bindings (l_ntp.c, l_ntp_model.c; not a public API): the dataset table
 * {E, tokens, labels[, selected, excluded]} read into malloc'd, checked, 0-based buffers. */
#ifndef HM_LNTP_H
#define HM_LNTP_H

#include "hm_lua.h"
#include "hm_ntp.h"
#include "hm_objective.h"

typedef struct ntp_buf {
  size_t n, T, K, d;
  double *E;
  size_t *tok, *lab;
  unsigned char *sel, *excl; /* NULL when the dataset has no selected / excluded field */
} ntp_buf;

void hmL_ntp_buf_free(ntp_buf *b);
/* Read and check the dataset at idx into b (freed first); raises named errors (argument argn). */
void hmL_ntp_read(lua_State *L, int idx, const char *fn, int argn, ntp_buf *b);

/* m:gradcheck(ds, {h=1e-6}) of either NTP model at stack 1 (already type-checked): the
 * largest relative error of its gradient against central differences (hm_objective_gradcheck). */
int hmL_ntp_gradcheck(lua_State *L, const char *fn);
/* The methods' objective of either NTP model (its own dataset slot, so that a method called in
 * a training callback leaves the run's dataset alone). */
hm_objective *hmL_ntp_method_objective(lua_State *L, int model_idx, int data_idx, const char *fn);

#endif
