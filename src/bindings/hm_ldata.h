/* Internal API shared by l_data.c, l_loss.c and l_model.c (dataset and loss userdata). */
#ifndef HM_LDATA_H
#define HM_LDATA_H

#include "hm_data.h"
#include "hm_loss.h"
#include "hm_lmodel.h"

#define HM_LOSS_TNAME "hardmax.loss"

/* Dataset userdata: descriptor plus owned arrays stored in the same block (immutable). */
typedef struct hm_ldata {
  hm_dataset ds;
  double *v, *V;      /* metadata or NULL */
  size_t nv, Vr, Vc;
  int has_seed;
  lua_Integer seed;
} hm_ldata;

hm_ldata *hmL_checkdata(lua_State *L, int idx, const char *fn);
/* The generator of the options table at opts: rng= (a generator) or seed= (an integer,
 * seeding *local; *has_seed, *seed report it), both is an error; the default generator
 * otherwise (also when opts is none or nil). */
hm_rng *hmL_data_optrng(lua_State *L, int opts, const char *fn, hm_rng *local, int *has_seed,
                        lua_Integer *seed);

/* An array argument given as a mat or as a nested Lua table of numbers (converted to a new
 * mat that replaces the stack slot). `what` names the argument/option in errors. */
hm_mat *hmL_data_toarray(lua_State *L, int idx, const char *fn, const char *what);

/* Loss userdata; for custom losses the Lua functions are registry references and L is the
 * state to call them in (set before every evaluation). */
typedef struct hm_lloss {
  hm_loss loss;
  lua_State *L;
  int ref_f, ref_df;
  char err[256];
} hm_lloss;

hm_lloss *hmL_checkloss(lua_State *L, int idx, const char *fn);
/* A loss object or a loss name ("logistic", "exponential", "correlation") at idx; names
 * are replaced on the stack by the corresponding loss object. */
hm_lloss *hmL_toloss(lua_State *L, int idx, const char *fn);

#endif
