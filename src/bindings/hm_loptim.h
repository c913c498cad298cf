/* Internals shared by the files of the optim binding (hardmax.optim):
 *   l_optim.c          the module: function table and optimizer metatable (the one place
 *                      where names are registered)
 *   l_optim_opt.c      optimizer objects: constructors, settings/fields, opt:step, opt:reset
 *   l_optim_train.c    optim.train: options, recorders, callback, result table
 *   l_optim_regpath.c  optim.regpath
 *   l_optim_metrics.c  optim.corr, bregman, lp_norm, lp_normalize, project
 *   l_optim_claim.c    runs in progress: optim.train's claim on its model and optimizer
 * Models are reached only through hm_lmodel.h (hmL_model_objective). */
#ifndef HM_LOPTIM_H
#define HM_LOPTIM_H

#include <string.h>

#include "hm_lmodel.h"
#include "hm_optim.h"

#define HM_OPTIM_TNAME "hardmax.optimizer"

typedef struct hm_loptim {
  hm_optim o;
} hm_loptim;

/* ---- l_optim_opt.c: helpers for optim.train ---------------------------------------------- */

/* The optimizer at stack index idx, or raise "fn: bad argument #idx (optimizer expected, ...)". */
hm_loptim *hmL_checkopt(lua_State *L, int idx, const char *fn);
/* Push the settings of o as a plain table (opt:settings(), the `optimizer` field of results). */
void hmL_optim_push_settings(lua_State *L, const hm_optim *o);
/* Raise unless o can run on obj: a per-parameter eps table must list every trained tensor,
 * a Polyak step needs L_* (its own lstar or the model's loss infimum). */
void hmL_optim_check_objective(lua_State *L, const hm_optim *o, const hm_objective *obj, const char *fn);
/* rescaled = true: switch obj to (on = 1) or from (on = 0) the rescaled-direction mode
 * (theory.md D.5); nothing for other optimizers. Raises for custom Lua losses. */
void hmL_optim_set_rescaled(lua_State *L, const hm_optim *o, hm_objective *obj, int on, const char *fn);

/* ---- l_optim_claim.c: runs in progress --------------------------------------------------- */

/* Raise "fn: the model is already being trained by an enclosing optim.train ..." (or the
 * same for the optimizer) if the value at model_idx (opt_idx; 0 = none) is claimed by a run
 * in progress. Call it before hmL_model_objective, which re-initializes the model's objective. */
void hmL_optim_check_idle(lua_State *L, int model_idx, int opt_idx, const char *fn);
/* Check as above, then claim both values until the calling C function returns or raises:
 * pushes a to-be-closed lease, which must stay on the stack. */
void hmL_optim_claim(lua_State *L, int model_idx, int opt_idx, const char *fn);

/* ---- l_optim_opt.c: the objective of a call ---------------------------------------------- */

/* Calls take (model, dataset, ...) or an ad objective in the model's place (docs/ad.md):
 * (obj, ...) without a dataset, or (f, params, ...) which is traced into an objective here.
 * Normalizes the stack to (objective, nil, ...) with `rest` the number of arguments after
 * the dataset slot, so callers index the same slots in every form. */
void hmL_optim_normalize_args(lua_State *L, int rest, const char *fn);
/* The objective at model_idx: an ad objective's, or the model's on the dataset at data_idx. */
hm_objective *hmL_optim_objective(lua_State *L, int model_idx, int data_idx, const char *fn);

/* Index of the parameter called name in obj, or -2 if there is none (-1 means the effective
 * W in recorder and target lookups). */
static inline int hmL_objective_param(const hm_objective *obj, const char *name) {
  for (int i = 0; i < obj->nparam; i++)
    if (strcmp(obj->param[i].name, name) == 0) return i;
  return -2;
}

/* ---- Lua entry points, registered by l_optim.c ------------------------------------------- */

/* l_optim_opt.c: constructors, metamethods, methods */
int hmL_optim_gd(lua_State *L);
int hmL_optim_ngd(lua_State *L);
int hmL_optim_polyak(lua_State *L);
int hmL_optim_momentum(lua_State *L);
int hmL_optim_adam(lua_State *L);
int hmL_optim_mirror(lua_State *L);
int hmL_optim_steepest(lua_State *L);
int hmL_optim_sign(lua_State *L);
int hmL_optim_coord(lua_State *L);
int hmL_optim_spectral(lua_State *L);
int hmL_optim_muon(lua_State *L);
int hmL_opt_gc(lua_State *L);
int hmL_opt_index(lua_State *L);
int hmL_opt_newindex(lua_State *L);
int hmL_opt_tostring(lua_State *L);
int hmL_opt_step(lua_State *L);
int hmL_opt_reset(lua_State *L);
int hmL_opt_settings(lua_State *L);
/* l_optim_train.c */
int hmL_optim_train(lua_State *L);
/* l_optim_regpath.c */
int hmL_optim_regpath(lua_State *L);
/* l_optim_metrics.c */
int hmL_optim_corr(lua_State *L);
int hmL_optim_bregman(lua_State *L);
int hmL_optim_lp_normalize(lua_State *L);
int hmL_optim_lp_norm(lua_State *L);
int hmL_optim_project(lua_State *L);

#endif
