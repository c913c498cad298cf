/* Cross-module binding API of hardmax.model / hardmax.data (implemented in l_model.c and
 * l_data.c), used by hardmax.optim and hardmax.svm. */
#ifndef HM_LMODEL_H
#define HM_LMODEL_H

#include "hm_lua.h"
#include "hm_objective.h"

#define HM_DATA_TNAME "hardmax.dataset"
#define HM_MODEL_TNAME "hardmax.model"

/* The objective of model (stack index model_idx) on dataset (data_idx). The returned
 * struct points into memory owned by the model userdata (valid while the model and the
 * dataset stay on the stack); parameter x arrays alias the model's parameter mats, so
 * optimizer updates are visible through m.W etc. Each model has ONE such struct: a second
 * call re-initializes it (callers running a loop must refuse nested calls on the same model,
 * see l_optim_claim.c). A custom Lua loss is called in L at every evaluation. */
hm_objective *hmL_model_objective(lua_State *L, int model_idx, int data_idx, const char *fn);

/* Optional rescaled-direction mode of an objective from hmL_model_objective (theory.md D.5):
 * with on = 1, eval writes grad_k = exp(-log_scale[k]) dL/dx_k for every parameter k (same
 * order as o->param), each tensor with its own scale, so per-tensor normalized methods keep
 * exact directions when the gradient itself underflows (logit gaps beyond ~745). *log_scale
 * points to the per-parameter scales of the last eval (0 in exact mode). Returns 0 (and
 * changes nothing) for custom Lua losses, 1 otherwise. on = 0 restores exact gradients. */
int hmL_model_objective_rescale(hm_objective *o, int on, const double **log_scale);

/* The NTP model (l_ntp.c) behind the same objective interface: whether the value at idx is
 * one, its objective on the NTP dataset table at data_idx, and whether o came from it. */
int hmL_ntp_is_model(lua_State *L, int idx);
hm_objective *hmL_ntp_objective(lua_State *L, int model_idx, int data_idx, const char *fn);
int hmL_ntp_is_objective(const hm_objective *o);

#endif
