/* hardmax.optim — optimizer objects (theory.md §A.5): the constructors optim.gd / ngd /
 * polyak / momentum / adam / mirror, their read-only settings and state fields, opt:step and
 * opt:reset, and the checks an optimizer makes of an objective before it runs (shared with
 * optim.train). Thin layer over hm_optim.c. */
#include <math.h>
#include <string.h>

#include "hm_lad.h"
#include "hm_loptim.h"

static const char *const kind_names[] = {"gd", "ngd", "polyak", "momentum", "adam", "mirror"};

hm_loptim *hmL_checkopt(lua_State *L, int idx, const char *fn) {
  hm_loptim *u = (hm_loptim *)luaL_testudata(L, idx, HM_OPTIM_TNAME);
  if (!u) hmL_argerror(L, fn, idx, "optimizer expected, got %s", luaL_typename(L, idx));
  return u;
}

int hmL_opt_gc(lua_State *L) {
  hm_loptim *u = (hm_loptim *)luaL_testudata(L, 1, HM_OPTIM_TNAME);
  if (u) hm_optim_free(&u->o);
  return 0;
}

/* eps = number or {name = number, ...}; required when `required`. */
static void read_eps(lua_State *L, int idx, hm_optim *o, int required, const char *fn) {
  int t = hmL_optfield(L, idx, "eps");
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    if (required)
      hmL_error(L, fn, "option 'eps' is required (the normalization epsilon of theory.md "
                       "A.5, e.g. 2.22e-16; a number or a table {name = eps, ...})");
    return;
  }
  if (t == LUA_TNUMBER) {
    o->eps = lua_tonumber(L, -1);
  } else if (t == LUA_TTABLE) {
    o->eps = NAN; /* every trained parameter must be listed */
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      if (lua_type(L, -2) != LUA_TSTRING || !lua_isnumber(L, -1))
        hmL_error(L, fn, "option 'eps': table of parameter name = number expected");
      const char *name = lua_tostring(L, -2);
      if (strlen(name) >= HM_OPT_NAMELEN || o->neps >= HM_OPT_MAXEPS)
        hmL_error(L, fn, "option 'eps': too many or too long parameter names");
      strcpy(o->eps_name[o->neps], name);
      o->eps_val[o->neps] = lua_tonumber(L, -1);
      if (!(o->eps_val[o->neps] >= 0.0 && isfinite(o->eps_val[o->neps])))
        hmL_error(L, fn, "option 'eps': finite eps >= 0 expected for '%s', got %s", name,
                  lua_tostring(L, -1));
      o->neps++;
      lua_pop(L, 1);
    }
  } else {
    hmL_error(L, fn, "option 'eps': number or table expected, got %s", luaL_typename(L, -1));
  }
  lua_pop(L, 1);
}

/* A constructor's start: check its options table at 1 (optional = may be absent) against
 * keys, then push a new optimizer of the kind with default settings. */
static hm_optim *new_opt(lua_State *L, hm_optim_kind kind, const char *const *keys, int optional,
                         const char *fn) {
  if ((!optional || !lua_isnoneornil(L, 1)) && !lua_istable(L, 1))
    hmL_argerror(L, fn, 1, "options table expected, got %s", luaL_typename(L, 1));
  hmL_checkoptions(L, 1, fn, keys);
  hm_loptim *u = (hm_loptim *)lua_newuserdatauv(L, sizeof(hm_loptim), 0);
  hm_optim_init(&u->o, kind);
  luaL_setmetatable(L, HM_OPTIM_TNAME);
  return &u->o;
}

/* NGD, Adam and normalized mirror descent have an eps */
static int uses_eps(const hm_optim *o) {
  return o->kind == HM_OPT_NGD || o->kind == HM_OPT_ADAM || (o->kind == HM_OPT_MIRROR && o->normalized);
}

static void finish_opt(lua_State *L, hm_optim *o, const char *fn) {
  if (hm_optim_validate(o) == HM_OK) return;
  if (o->kind != HM_OPT_POLYAK && !(o->lr >= 0.0 && isfinite(o->lr)))
    hmL_error(L, fn, "option 'lr': finite number >= 0 expected, got %f", o->lr);
  if (uses_eps(o) && !(o->eps >= 0.0 && isfinite(o->eps)) && o->neps == 0)
    hmL_error(L, fn, "option 'eps': finite number >= 0 expected, got %f", o->eps);
  if (o->kind == HM_OPT_MOMENTUM) hmL_error(L, fn, "option 'beta': number in [0, 1) expected, got %f", o->beta);
  if (o->kind == HM_OPT_ADAM)
    hmL_error(L, fn, "options 'beta1', 'beta2': numbers in [0, 1) expected, got %f, %f", o->beta1, o->beta2);
  if (o->kind == HM_OPT_MIRROR) hmL_error(L, fn, "option 'p': number > 1 expected, got %f", o->p);
  if (o->kind == HM_OPT_POLYAK)
    hmL_error(L, fn, "options: c > 0, lr_max > 0 and a finite lstar expected (got c = %f, lr_max = %f, lstar = %f)",
              o->c, o->lr_max, o->lstar);
  hmL_error(L, fn, "invalid settings");
}

static double req_number(lua_State *L, int idx, const char *key, const char *fn) {
  if (hmL_optfield(L, idx, key) == LUA_TNIL) hmL_error(L, fn, "option '%s' is required", key);
  lua_pop(L, 1);
  return hmL_optnumber(L, idx, key, NAN, fn);
}

int hmL_optim_gd(lua_State *L) {
  const char *fn = "optim.gd";
  static const char *const keys[] = {"lr", NULL};
  hm_optim *o = new_opt(L, HM_OPT_GD, keys, 0, fn);
  o->lr = req_number(L, 1, "lr", fn);
  finish_opt(L, o, fn);
  return 1;
}

int hmL_optim_ngd(lua_State *L) {
  const char *fn = "optim.ngd";
  static const char *const keys[] = {"lr", "eps", "rescaled", NULL};
  hm_optim *o = new_opt(L, HM_OPT_NGD, keys, 0, fn);
  o->lr = req_number(L, 1, "lr", fn);
  read_eps(L, 1, o, 1, fn);
  o->rescaled = hmL_optboolean(L, 1, "rescaled", 0, fn);
  finish_opt(L, o, fn);
  return 1;
}

int hmL_optim_polyak(lua_State *L) {
  const char *fn = "optim.polyak";
  static const char *const keys[] = {"lstar", "c", "lr_max", NULL};
  hm_optim *o = new_opt(L, HM_OPT_POLYAK, keys, 1, fn);
  o->lstar = hmL_optnumber(L, 1, "lstar", NAN, fn);
  o->c = hmL_optnumber(L, 1, "c", 1.0, fn);
  o->lr_max = hmL_optnumber(L, 1, "lr_max", INFINITY, fn);
  finish_opt(L, o, fn);
  return 1;
}

int hmL_optim_momentum(lua_State *L) {
  const char *fn = "optim.momentum";
  static const char *const keys[] = {"lr", "beta", "nesterov", NULL};
  hm_optim *o = new_opt(L, HM_OPT_MOMENTUM, keys, 0, fn);
  o->lr = req_number(L, 1, "lr", fn);
  o->beta = hmL_optnumber(L, 1, "beta", 0.9, fn);
  o->nesterov = hmL_optboolean(L, 1, "nesterov", 0, fn);
  finish_opt(L, o, fn);
  return 1;
}

int hmL_optim_adam(lua_State *L) {
  const char *fn = "optim.adam";
  static const char *const keys[] = {"lr", "beta1", "beta2", "eps", NULL};
  hm_optim *o = new_opt(L, HM_OPT_ADAM, keys, 1, fn);
  o->lr = hmL_optnumber(L, 1, "lr", 1e-3, fn);
  o->beta1 = hmL_optnumber(L, 1, "beta1", 0.9, fn);
  o->beta2 = hmL_optnumber(L, 1, "beta2", 0.999, fn);
  o->eps = hmL_optnumber(L, 1, "eps", 1e-8, fn);
  finish_opt(L, o, fn);
  return 1;
}

int hmL_optim_mirror(lua_State *L) {
  const char *fn = "optim.mirror";
  static const char *const keys[] = {"p", "lr", "normalized", "eps", "rescaled", NULL};
  hm_optim *o = new_opt(L, HM_OPT_MIRROR, keys, 0, fn);
  o->p = req_number(L, 1, "p", fn);
  if (!(o->p > 1.0 && isfinite(o->p)))
    hmL_error(L, fn, "option 'p': number > 1 expected (lp mirror descent needs p > 1), got %f", o->p);
  o->lr = req_number(L, 1, "lr", fn);
  o->normalized = hmL_optboolean(L, 1, "normalized", 0, fn);
  read_eps(L, 1, o, o->normalized, fn);
  o->rescaled = hmL_optboolean(L, 1, "rescaled", 0, fn);
  if (o->rescaled && !o->normalized)
    hmL_error(L, fn, "option 'rescaled' only applies with normalized = true (a plain mirror "
                     "step needs the gradient's magnitude)");
  if (!o->normalized) {
    if (hmL_optfield(L, 1, "eps") != LUA_TNIL)
      hmL_error(L, fn, "option 'eps' only applies with normalized = true");
    lua_pop(L, 1);
  }
  finish_opt(L, o, fn);
  return 1;
}

static void push_eps(lua_State *L, const hm_optim *o) {
  if (o->neps == 0) {
    lua_pushnumber(L, o->eps);
    return;
  }
  lua_createtable(L, 0, o->neps);
  for (int k = 0; k < o->neps; k++) {
    lua_pushnumber(L, o->eps_val[k]);
    lua_setfield(L, -2, o->eps_name[k]);
  }
}

/* the settings as a plain table (also recorded in optim.train results) */
void hmL_optim_push_settings(lua_State *L, const hm_optim *o) {
  lua_newtable(L);
  lua_pushstring(L, kind_names[o->kind]);
  lua_setfield(L, -2, "kind");
  if (o->kind != HM_OPT_POLYAK) {
    lua_pushnumber(L, o->lr);
    lua_setfield(L, -2, "lr");
  }
  if (uses_eps(o)) {
    push_eps(L, o);
    lua_setfield(L, -2, "eps");
  }
  if (o->kind == HM_OPT_NGD || (o->kind == HM_OPT_MIRROR && o->normalized)) {
    lua_pushboolean(L, o->rescaled);
    lua_setfield(L, -2, "rescaled");
  }
  switch (o->kind) {
    case HM_OPT_MOMENTUM:
      lua_pushnumber(L, o->beta);
      lua_setfield(L, -2, "beta");
      lua_pushboolean(L, o->nesterov);
      lua_setfield(L, -2, "nesterov");
      break;
    case HM_OPT_ADAM:
      lua_pushnumber(L, o->beta1);
      lua_setfield(L, -2, "beta1");
      lua_pushnumber(L, o->beta2);
      lua_setfield(L, -2, "beta2");
      break;
    case HM_OPT_POLYAK:
      if (!isnan(o->lstar)) {
        lua_pushnumber(L, o->lstar);
        lua_setfield(L, -2, "lstar");
      }
      lua_pushnumber(L, o->c);
      lua_setfield(L, -2, "c");
      lua_pushnumber(L, o->lr_max);
      lua_setfield(L, -2, "lr_max");
      break;
    case HM_OPT_MIRROR:
      lua_pushnumber(L, o->p);
      lua_setfield(L, -2, "p");
      lua_pushnumber(L, o->p / (o->p - 1.0));
      lua_setfield(L, -2, "q");
      lua_pushboolean(L, o->normalized);
      lua_setfield(L, -2, "normalized");
      break;
    default:
      break;
  }
}

int hmL_opt_settings(lua_State *L) {
  hm_loptim *u = hmL_checkopt(L, 1, "opt:settings");
  hmL_optim_push_settings(L, &u->o);
  return 1;
}

int hmL_opt_index(lua_State *L) {
  hm_loptim *u = hmL_checkopt(L, 1, "optimizer.__index");
  const char *k = luaL_checkstring(L, 2);
  lua_getmetatable(L, 1);
  lua_getfield(L, -1, "__methods");
  lua_getfield(L, -1, k);
  if (!lua_isnil(L, -1)) return 1;
  lua_pop(L, 3);
  if (strcmp(k, "t") == 0 || strcmp(k, "steps") == 0) {
    lua_pushinteger(L, (lua_Integer)u->o.t);
    return 1;
  }
  if (strcmp(k, "last_lr") == 0) {
    lua_pushnumber(L, u->o.last_lr);
    return 1;
  }
  if (strcmp(k, "last_grad_norm") == 0) {
    lua_pushnumber(L, u->o.last_grad_norm);
    return 1;
  }
  hmL_optim_push_settings(L, &u->o);
  lua_getfield(L, -1, k);
  return 1;
}

int hmL_opt_newindex(lua_State *L) {
  return hmL_error(L, "optimizer.__newindex",
                   "settings are read-only (create a new optimizer to change '%s')",
                   luaL_checkstring(L, 2));
}

int hmL_opt_tostring(lua_State *L) {
  hm_loptim *u = hmL_checkopt(L, 1, "optimizer.__tostring");
  const hm_optim *o = &u->o;
  switch (o->kind) {
    case HM_OPT_NGD:
      lua_pushfstring(L, "optim.ngd{lr=%f, eps=%s%s}", o->lr, o->neps ? "{...}" : lua_pushfstring(L, "%f", o->eps),
                      o->rescaled ? ", rescaled=true" : "");
      break;
    case HM_OPT_MIRROR:
      lua_pushfstring(L, "optim.mirror{p=%f, lr=%f, normalized=%s%s}", o->p, o->lr, o->normalized ? "true" : "false",
                      o->rescaled ? ", rescaled=true" : "");
      break;
    case HM_OPT_POLYAK: lua_pushfstring(L, "optim.polyak{c=%f}", o->c); break;
    default: lua_pushfstring(L, "optim.%s{lr=%f}", kind_names[o->kind], o->lr); break;
  }
  return 1;
}

/* NGD / normalized MD with a per-parameter eps table: every trained tensor needs an entry */
static void check_eps_cover(lua_State *L, const hm_optim *o, const hm_objective *obj, const char *fn) {
  int need = o->kind == HM_OPT_NGD || (o->kind == HM_OPT_MIRROR && o->normalized);
  if (!need || !isnan(o->eps)) return;
  for (int i = 0; i < obj->nparam; i++) {
    if (!obj->param[i].trainable) continue;
    int found = 0;
    for (int k = 0; k < o->neps; k++)
      if (strcmp(o->eps_name[k], obj->param[i].name) == 0) found = 1;
    if (!found)
      hmL_error(L, fn, "no eps given for trained parameter '%s' (eps table lists %d entries)",
                obj->param[i].name, o->neps);
  }
}

static void check_polyak(lua_State *L, const hm_optim *o, const hm_objective *obj, const char *fn) {
  if (o->kind == HM_OPT_POLYAK && isnan(o->lstar) && isnan(obj->loss_inf))
    hmL_error(L, fn, "the Polyak step needs L_*: give lstar = ... (the model does not know "
                     "its loss infimum)");
}

void hmL_optim_check_objective(lua_State *L, const hm_optim *o, const hm_objective *obj, const char *fn) {
  check_eps_cover(L, o, obj, fn);
  check_polyak(L, o, obj, fn);
}

void hmL_optim_normalize_args(lua_State *L, int rest, const char *fn) {
  if (lua_isfunction(L, 1)) { /* (f, params, ...) */
    hmL_ad_objective_replace(L, 1, 2, fn);
    lua_pushnil(L);
    lua_replace(L, 2);
  } else if (hmL_ad_isobjective(L, 1) && lua_gettop(L) <= rest + 1 && !lua_isnil(L, 2)) {
    lua_pushnil(L); /* (obj, ...): no dataset */
    lua_insert(L, 2);
  }
  lua_settop(L, rest + 2);
}

hm_objective *hmL_optim_objective(lua_State *L, int model_idx, int data_idx, const char *fn) {
  if (hmL_ad_isobjective(L, model_idx)) {
    if (!lua_isnil(L, data_idx))
      hmL_argerror(L, fn, data_idx, "an ad objective takes no dataset (its data are the trace's constants)");
    return hmL_ad_objective(L, model_idx, fn);
  }
  return hmL_model_objective(L, model_idx, data_idx, fn);
}

/* rescaled = true: switch the objective to the rescaled-direction mode (theory.md D.5) */
void hmL_optim_set_rescaled(lua_State *L, const hm_optim *o, hm_objective *obj, int on, const char *fn) {
  if (!o->rescaled) return;
  if (hmL_ad_owns(obj))
    hmL_error(L, fn, "rescaled = true is not available for ad objectives (exact gradients only)");
  const double *ls = NULL;
  if (!hmL_model_objective_rescale(obj, on, &ls))
    hmL_error(L, fn, "rescaled = true needs a built-in loss (logistic, exponential, correlation); "
                     "the model has a custom Lua loss");
  obj->grad_log_scale = on ? ls : NULL;
}

int hmL_opt_step(lua_State *L) {
  const char *fn = "opt:step";
  hm_loptim *u = hmL_checkopt(L, 1, fn);
  if (hmL_ad_isobjective(L, 2) && lua_gettop(L) == 2) lua_pushnil(L); /* opt:step(obj) */
  hmL_optim_check_idle(L, 2, 1, fn);
  hm_objective *obj = hmL_optim_objective(L, 2, 3, fn);
  hmL_optim_check_objective(L, &u->o, obj, fn);
  double loss;
  int bad = -1;
  hmL_optim_set_rescaled(L, &u->o, obj, 1, fn);
  hm_status s = hm_optim_step(&u->o, obj, &loss, &bad);
  hmL_optim_set_rescaled(L, &u->o, obj, 0, fn);
  if (s == HM_ENONFINITE) {
    if (!isfinite(loss)) return hmL_error(L, fn, "loss is inf/nan");
    if (bad >= 0)
      return hmL_error(L, fn, "parameter '%s' became inf/nan in the update", obj->param[bad].name);
    return hmL_error(L, fn, "gradient is inf/nan");
  }
  hmL_check(L, fn, s);
  lua_pushnumber(L, loss);
  return 1;
}

int hmL_opt_reset(lua_State *L) {
  hm_loptim *u = hmL_checkopt(L, 1, "opt:reset");
  hm_optim_reset(&u->o);
  lua_settop(L, 1);
  return 1;
}
