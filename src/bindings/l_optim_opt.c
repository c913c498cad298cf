/* hardmax.optim — optimizer objects (theory.md §A.5): the constructors optim.gd / ngd /
 * polyak / momentum / adam / mirror / steepest / sign / coord / spectral / muon, their read-only settings and state fields, opt:step and
 * opt:reset, and the checks an optimizer makes of an objective before it runs (shared with
 * optim.train). Thin layer over hm_optim.c. */
#include <math.h>
#include <string.h>

#include "hm_lad.h"
#include "hm_loptim.h"
#include "hm_steepest.h"

static const char *const kind_names[] = {"gd",     "ngd",    "polyak",  "momentum",
                                         "adam",   "mirror", "steepest", "muon"};
/* hm_steep_norm -> the name settings report (Newton-Schulz is the spectral norm's option) */
static const char *const steep_names[] = {"fro", "inf", "l1", "spec", "spec"};

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

/* norm = "inf" | math.huge | "l1" | 1 | "fro" | 2 | "spec" */
static int read_steep_norm(lua_State *L, int idx, const char *fn) {
  int t = hmL_optfield(L, idx, "norm");
  int r = -1;
  if (t == LUA_TNUMBER) {
    double p = lua_tonumber(L, -1);
    r = p == 1.0 ? HM_STEEP_L1 : p == 2.0 ? HM_STEEP_FRO : isinf(p) && p > 0 ? HM_STEEP_LINF : -1;
  } else if (t == LUA_TSTRING) {
    const char *s = lua_tostring(L, -1);
    if (!strcmp(s, "inf") || !strcmp(s, "linf")) r = HM_STEEP_LINF;
    else if (!strcmp(s, "l1")) r = HM_STEEP_L1;
    else if (!strcmp(s, "fro") || !strcmp(s, "l2")) r = HM_STEEP_FRO;
    else if (!strcmp(s, "spec") || !strcmp(s, "spectral")) r = HM_STEEP_SPECTRAL;
  } else if (t == LUA_TNIL) {
    hmL_error(L, fn, "option 'norm' is required (\"inf\", \"l1\", \"fro\" or \"spec\")");
  }
  if (r < 0 && t == LUA_TNUMBER)
    hmL_error(L, fn, "option 'norm': \"inf\" (or math.huge), \"l1\" (or 1), \"fro\" (or 2) or "
                     "\"spec\" expected, got %f", lua_tonumber(L, -1));
  if (r < 0)
    hmL_error(L, fn, "option 'norm': \"inf\" (or math.huge), \"l1\" (or 1), \"fro\" (or 2) or "
                     "\"spec\" expected, got %s",
              t == LUA_TSTRING ? lua_tostring(L, -1) : luaL_typename(L, -1));
  lua_pop(L, 1);
  return r;
}

/* ns_steps: absent or 0 = exact SVD; k in [1, 100] = k Newton-Schulz iterations (spectral only) */
static void read_ns_steps(lua_State *L, int idx, hm_optim *o, const char *fn) {
  if (hmL_optfield(L, idx, "ns_steps") == LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  lua_pop(L, 1);
  double k = hmL_optnumber(L, idx, "ns_steps", 0, fn);
  if (!(k >= 0 && k <= 100 && k == floor(k)))
    hmL_error(L, fn, "option 'ns_steps': integer in [0, 100] expected, got %f", k);
  if (k > 0 && o->snorm != HM_STEEP_SPECTRAL)
    hmL_error(L, fn, "option 'ns_steps' applies to the spectral norm only (norm = \"spec\")");
  if (k > 0) {
    o->snorm = HM_STEEP_NEWTON_SCHULZ;
    o->ns_steps = (int)k;
  }
}

/* shared by optim.steepest and its named forms; norm < 0: read option 'norm' */
static int steepest_ctor(lua_State *L, int norm, const char *fn) {
  static const char *const keys_any[] = {"norm", "lr", "normalized", "rescaled", "ns_steps", NULL};
  static const char *const keys_spec[] = {"lr", "normalized", "rescaled", "ns_steps", NULL};
  static const char *const keys_fixed[] = {"lr", "normalized", "rescaled", NULL};
  const char *const *keys = norm < 0 ? keys_any : norm == HM_STEEP_SPECTRAL ? keys_spec : keys_fixed;
  hm_optim *o = new_opt(L, HM_OPT_STEEPEST, keys, 0, fn);
  o->snorm = norm < 0 ? read_steep_norm(L, 1, fn) : norm;
  o->lr = req_number(L, 1, "lr", fn);
  o->normalized = hmL_optboolean(L, 1, "normalized", 1, fn);
  read_ns_steps(L, 1, o, fn);
  o->rescaled = hmL_optboolean(L, 1, "rescaled", 0, fn);
  if (o->rescaled && !o->normalized)
    hmL_error(L, fn, "option 'rescaled' only applies with normalized = true (the unnormalized "
                     "step needs the gradient's magnitude)");
  finish_opt(L, o, fn);
  return 1;
}

int hmL_optim_steepest(lua_State *L) { return steepest_ctor(L, -1, "optim.steepest"); }
int hmL_optim_sign(lua_State *L) { return steepest_ctor(L, HM_STEEP_LINF, "optim.sign"); }
int hmL_optim_coord(lua_State *L) { return steepest_ctor(L, HM_STEEP_L1, "optim.coord"); }
int hmL_optim_spectral(lua_State *L) { return steepest_ctor(L, HM_STEEP_SPECTRAL, "optim.spectral"); }

int hmL_optim_muon(lua_State *L) {
  const char *fn = "optim.muon";
  static const char *const keys[] = {"lr", "beta", "nesterov", "ns_steps", NULL};
  hm_optim *o = new_opt(L, HM_OPT_MUON, keys, 0, fn);
  o->lr = req_number(L, 1, "lr", fn);
  o->beta = hmL_optnumber(L, 1, "beta", 0.95, fn);
  o->nesterov = hmL_optboolean(L, 1, "nesterov", 1, fn);
  double k = hmL_optnumber(L, 1, "ns_steps", 5, fn);
  if (!(k >= 1 && k <= 100 && k == floor(k)))
    hmL_error(L, fn, "option 'ns_steps': integer in [1, 100] expected, got %f", k);
  o->ns_steps = (int)k;
  if (!(o->beta >= 0.0 && o->beta < 1.0))
    hmL_error(L, fn, "option 'beta': number in [0, 1) expected, got %f", o->beta);
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
  if (o->kind == HM_OPT_NGD || (o->kind == HM_OPT_MIRROR && o->normalized) ||
      o->kind == HM_OPT_STEEPEST) {
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
    case HM_OPT_STEEPEST:
      lua_pushstring(L, steep_names[o->snorm]);
      lua_setfield(L, -2, "norm");
      lua_pushboolean(L, o->normalized);
      lua_setfield(L, -2, "normalized");
      lua_pushinteger(L, o->snorm == HM_STEEP_NEWTON_SCHULZ ? o->ns_steps : 0);
      lua_setfield(L, -2, "ns_steps");
      break;
    case HM_OPT_MUON:
      lua_pushnumber(L, o->beta);
      lua_setfield(L, -2, "beta");
      lua_pushboolean(L, o->nesterov);
      lua_setfield(L, -2, "nesterov");
      lua_pushinteger(L, o->ns_steps);
      lua_setfield(L, -2, "ns_steps");
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
    case HM_OPT_STEEPEST:
      lua_pushfstring(L, "optim.steepest{norm=\"%s\", lr=%f%s%s%s}", steep_names[o->snorm], o->lr,
                      o->normalized ? "" : ", normalized=false",
                      o->snorm == HM_STEEP_NEWTON_SCHULZ ? lua_pushfstring(L, ", ns_steps=%d", o->ns_steps) : "",
                      o->rescaled ? ", rescaled=true" : "");
      break;
    case HM_OPT_MUON:
      lua_pushfstring(L, "optim.muon{lr=%f, beta=%f, ns_steps=%d}", o->lr, o->beta, o->ns_steps);
      break;
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
