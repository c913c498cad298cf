/* Internals of the ad binding (hardmax.ad, docs/ad.md), shared by
 *   l_ad.c            the module, the node type and every op (thin layer over hm_ad.c)
 *   l_ad_objective.c  tracing a Lua function into a tape: ad.grad, ad.objective, the
 *                     objective type and its hm_objective (for optim.train, opt:step, regpath)
 * and the cross-module entry points used by hardmax.optim. */
#ifndef HM_LAD_H
#define HM_LAD_H

#include "hm_ad.h"
#include "hm_lua.h"
#include "hm_objective.h"

#define HM_ADTAPE_TNAME "hardmax.ad.tape"
#define HM_ADNODE_TNAME "hardmax.ad.node"
#define HM_ADOBJ_TNAME "hardmax.ad.objective"
#define HM_AD_CURRENT "hardmax.ad.current" /* registry: the tape being traced, or nil */

/* A tape userdata. open: nodes may still be added (the trace is running). */
typedef struct hm_ltape {
  hm_tape t;
  int open;
} hm_ltape;

/* A node userdata (user value 1: its tape userdata). */
typedef struct hm_lnode {
  hm_ltape *tp;
  int id;
} hm_lnode;

/* ---- l_ad.c ---------------------------------------------------------------------------- */
/* Push a new, open tape userdata (user value 1: a table pinning the variables' mats). */
hm_ltape *hmL_ad_newtape(lua_State *L);
/* Push the node `id` of the tape userdata at tape_idx. */
hm_lnode *hmL_ad_pushnode(lua_State *L, int tape_idx, int id);
/* The node at idx, or NULL. */
hm_lnode *hmL_ad_testnode(lua_State *L, int idx);

/* ---- l_ad_objective.c ------------------------------------------------------------------ */
int hmL_ad_grad(lua_State *L);
int hmL_ad_objective_new(lua_State *L);
void hmL_ad_objective_register(lua_State *L);

/* Cross-module (hardmax.optim): */
/* 1 if the value at idx is an ad objective. */
int hmL_ad_isobjective(lua_State *L, int idx);
/* The hm_objective of the ad objective at idx (raises if it is not one, or if a parameter
 * mat was closed). Valid while the objective stays on the stack. */
hm_objective *hmL_ad_objective(lua_State *L, int idx, const char *fn);
/* Trace the function at fidx over the parameter table at pidx into a new objective and
 * replace the function at fidx with it (optim.train(f, params, opt, opts)). */
void hmL_ad_objective_replace(lua_State *L, int fidx, int pidx, const char *fn);
/* 1 if obj comes from an ad objective. */
int hmL_ad_owns(const hm_objective *obj);

#endif
