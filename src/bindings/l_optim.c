/* hardmax.optim — optimizers (theory.md §A.5), the in-C training loop with recorders,
 * regularization paths, and metric helpers. Thin layer over hm_optim.c / hm_train.c /
 * hm_regpath.c; models are reached only through hmL_model_objective. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hm_lmodel.h"
#include "hm_optim.h"
#include "hm_regpath.h"
#include "hm_train.h"

#define HM_OPTIM_TNAME "hardmax.optimizer"

typedef struct hm_loptim {
  hm_optim o;
} hm_loptim;

static const char *const kind_names[] = {"gd", "ngd", "polyak", "momentum", "adam", "mirror"};

static hm_loptim *checkopt(lua_State *L, int idx, const char *fn) {
  hm_loptim *u = (hm_loptim *)luaL_testudata(L, idx, HM_OPTIM_TNAME);
  if (!u) hmL_argerror(L, fn, idx, "optimizer expected, got %s", luaL_typename(L, idx));
  return u;
}

static int opt_gc(lua_State *L) {
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

static hm_loptim *new_opt(lua_State *L, hm_optim_kind kind) {
  hm_loptim *u = (hm_loptim *)lua_newuserdatauv(L, sizeof(hm_loptim), 0);
  hm_optim_init(&u->o, kind);
  luaL_setmetatable(L, HM_OPTIM_TNAME);
  return u;
}

static void finish_opt(lua_State *L, hm_optim *o, const char *fn) {
  if (hm_optim_validate(o) == HM_OK) return;
  if (o->kind != HM_OPT_POLYAK && !(o->lr >= 0.0 && isfinite(o->lr)))
    hmL_error(L, fn, "option 'lr': finite number >= 0 expected, got %f", o->lr);
  if (!(o->eps >= 0.0 && isfinite(o->eps)) && o->neps == 0)
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

static int optim_gd(lua_State *L) {
  const char *fn = "optim.gd";
  static const char *const keys[] = {"lr", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  hmL_checkoptions(L, 1, fn, keys);
  hm_loptim *u = new_opt(L, HM_OPT_GD);
  u->o.lr = req_number(L, 1, "lr", fn);
  finish_opt(L, &u->o, fn);
  return 1;
}

static int optim_ngd(lua_State *L) {
  const char *fn = "optim.ngd";
  static const char *const keys[] = {"lr", "eps", "rescaled", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  hmL_checkoptions(L, 1, fn, keys);
  hm_loptim *u = new_opt(L, HM_OPT_NGD);
  u->o.lr = req_number(L, 1, "lr", fn);
  read_eps(L, 1, &u->o, 1, fn);
  u->o.rescaled = hmL_optboolean(L, 1, "rescaled", 0, fn);
  finish_opt(L, &u->o, fn);
  return 1;
}

static int optim_polyak(lua_State *L) {
  const char *fn = "optim.polyak";
  static const char *const keys[] = {"lstar", "c", "lr_max", NULL};
  if (!lua_isnoneornil(L, 1)) luaL_checktype(L, 1, LUA_TTABLE);
  hmL_checkoptions(L, 1, fn, keys);
  hm_loptim *u = new_opt(L, HM_OPT_POLYAK);
  u->o.lstar = hmL_optnumber(L, 1, "lstar", NAN, fn);
  u->o.c = hmL_optnumber(L, 1, "c", 1.0, fn);
  u->o.lr_max = hmL_optnumber(L, 1, "lr_max", INFINITY, fn);
  finish_opt(L, &u->o, fn);
  return 1;
}

static int optim_momentum(lua_State *L) {
  const char *fn = "optim.momentum";
  static const char *const keys[] = {"lr", "beta", "nesterov", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  hmL_checkoptions(L, 1, fn, keys);
  hm_loptim *u = new_opt(L, HM_OPT_MOMENTUM);
  u->o.lr = req_number(L, 1, "lr", fn);
  u->o.beta = hmL_optnumber(L, 1, "beta", 0.9, fn);
  u->o.nesterov = hmL_optboolean(L, 1, "nesterov", 0, fn);
  finish_opt(L, &u->o, fn);
  return 1;
}

static int optim_adam(lua_State *L) {
  const char *fn = "optim.adam";
  static const char *const keys[] = {"lr", "beta1", "beta2", "eps", NULL};
  if (!lua_isnoneornil(L, 1)) luaL_checktype(L, 1, LUA_TTABLE);
  hmL_checkoptions(L, 1, fn, keys);
  hm_loptim *u = new_opt(L, HM_OPT_ADAM);
  u->o.lr = hmL_optnumber(L, 1, "lr", 1e-3, fn);
  u->o.beta1 = hmL_optnumber(L, 1, "beta1", 0.9, fn);
  u->o.beta2 = hmL_optnumber(L, 1, "beta2", 0.999, fn);
  u->o.eps = hmL_optnumber(L, 1, "eps", 1e-8, fn);
  finish_opt(L, &u->o, fn);
  return 1;
}

static int optim_mirror(lua_State *L) {
  const char *fn = "optim.mirror";
  static const char *const keys[] = {"p", "lr", "normalized", "eps", "rescaled", NULL};
  luaL_checktype(L, 1, LUA_TTABLE);
  hmL_checkoptions(L, 1, fn, keys);
  hm_loptim *u = new_opt(L, HM_OPT_MIRROR);
  u->o.p = req_number(L, 1, "p", fn);
  if (!(u->o.p > 1.0 && isfinite(u->o.p)))
    hmL_error(L, fn, "option 'p': number > 1 expected (lp mirror descent needs p > 1), got %f", u->o.p);
  u->o.lr = req_number(L, 1, "lr", fn);
  u->o.normalized = hmL_optboolean(L, 1, "normalized", 0, fn);
  read_eps(L, 1, &u->o, u->o.normalized, fn);
  u->o.rescaled = hmL_optboolean(L, 1, "rescaled", 0, fn);
  if (u->o.rescaled && !u->o.normalized)
    hmL_error(L, fn, "option 'rescaled' only applies with normalized = true (a plain mirror "
                     "step needs the gradient's magnitude)");
  if (!u->o.normalized) {
    if (hmL_optfield(L, 1, "eps") != LUA_TNIL)
      hmL_error(L, fn, "option 'eps' only applies with normalized = true");
    lua_pop(L, 1);
  }
  finish_opt(L, &u->o, fn);
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
static void push_settings(lua_State *L, const hm_optim *o) {
  lua_newtable(L);
  lua_pushstring(L, kind_names[o->kind]);
  lua_setfield(L, -2, "kind");
  if (o->kind != HM_OPT_POLYAK) {
    lua_pushnumber(L, o->lr);
    lua_setfield(L, -2, "lr");
  }
  if (o->kind == HM_OPT_NGD || o->kind == HM_OPT_ADAM || (o->kind == HM_OPT_MIRROR && o->normalized)) {
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

static int opt_settings(lua_State *L) {
  hm_loptim *u = checkopt(L, 1, "opt:settings");
  push_settings(L, &u->o);
  return 1;
}

static int opt_index(lua_State *L) {
  hm_loptim *u = checkopt(L, 1, "optimizer.__index");
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
  push_settings(L, &u->o);
  lua_getfield(L, -1, k);
  return 1;
}

static int opt_newindex(lua_State *L) {
  return hmL_error(L, "optimizer.__newindex",
                   "settings are read-only (create a new optimizer to change '%s')",
                   luaL_checkstring(L, 2));
}

static int opt_tostring(lua_State *L) {
  hm_loptim *u = checkopt(L, 1, "optimizer.__tostring");
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

/* rescaled = true: switch the objective to the rescaled-direction mode (theory.md D.5) */
static void set_rescaled(lua_State *L, const hm_optim *o, hm_objective *obj, int on, const char *fn) {
  if (!o->rescaled) return;
  const double *ls = NULL;
  if (!hmL_model_objective_rescale(obj, on, &ls))
    hmL_error(L, fn, "rescaled = true needs a built-in loss (logistic, exponential, correlation); "
                     "the model has a custom Lua loss");
  obj->grad_log_scale = on ? ls : NULL;
}

static int opt_step(lua_State *L) {
  const char *fn = "opt:step";
  hm_loptim *u = checkopt(L, 1, fn);
  hm_objective *obj = hmL_model_objective(L, 2, 3, fn);
  check_eps_cover(L, &u->o, obj, fn);
  check_polyak(L, &u->o, obj, fn);
  double loss;
  int bad = -1;
  set_rescaled(L, &u->o, obj, 1, fn);
  hm_status s = hm_optim_step(&u->o, obj, &loss, &bad);
  set_rescaled(L, &u->o, obj, 0, fn);
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

static int opt_reset(lua_State *L) {
  hm_loptim *u = checkopt(L, 1, "opt:reset");
  hm_optim_reset(&u->o);
  lua_settop(L, 1);
  return 1;
}

/* ------------------------------------------------------------------ train */

static int find_param(const hm_objective *obj, const char *name) {
  for (int i = 0; i < obj->nparam; i++)
    if (strcmp(obj->param[i].name, name) == 0) return i;
  return -2;
}

typedef struct cb_state {
  lua_State *L;
  int fn_idx, model_idx, err_idx;
} cb_state;

static int train_callback(void *ud, long k) {
  cb_state *c = (cb_state *)ud;
  lua_State *L = c->L;
  lua_pushvalue(L, c->fn_idx);
  lua_pushinteger(L, (lua_Integer)k);
  lua_pushvalue(L, c->model_idx);
  if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
    lua_replace(L, c->err_idx);
    return -1;
  }
  int stop = lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1);
  lua_pop(L, 1);
  return stop ? 1 : 0;
}

/* target mat for recorder `name` of a tensor of `size` elements */
static const double *get_target(lua_State *L, int opts, const char *tname, size_t size,
                                const char *fn) {
  if (hmL_optfield(L, opts, "targets") != LUA_TTABLE)
    hmL_error(L, fn, "recording '%s' needs targets = {%s = ...}", tname, tname);
  if (lua_getfield(L, -1, tname) == LUA_TNIL)
    hmL_error(L, fn, "recording needs a target for '%s' in targets", tname);
  hm_mat *m = hmL_testmat(L, -1);
  if (!m) hmL_error(L, fn, "targets.%s: mat expected, got %s", tname, luaL_typename(L, -1));
  if (m->size != size)
    hmL_error(L, fn, "targets.%s: %I elements expected, got %I", tname, (lua_Integer)size, (lua_Integer)m->size);
  if (!hm_all_finite(m->data, m->size)) hmL_error(L, fn, "targets.%s: non-finite entries", tname);
  lua_pop(L, 2); /* the mat stays alive in the options table */
  return m->data;
}

static const char *status_string(lua_State *L, const hm_train_result *r, const hm_objective *obj,
                                 const hm_train_stop *sp) {
  switch (r->status) {
    case HM_TRAIN_OK: return lua_pushstring(L, "ok");
    case HM_TRAIN_DIVERGED_LOSS: return lua_pushfstring(L, "diverged at step %I: loss is inf/nan", (lua_Integer)r->step);
    case HM_TRAIN_DIVERGED_GRAD: return lua_pushfstring(L, "diverged at step %I: gradient is inf/nan", (lua_Integer)r->step);
    case HM_TRAIN_DIVERGED_PARAM:
      return lua_pushfstring(L, "diverged at step %I: parameter '%s' is inf/nan after the update",
                             (lua_Integer)r->step, obj->param[r->bad_param].name);
    case HM_TRAIN_UNDERFLOW:
      return lua_pushfstring(L, "gradient underflow at step %I: the gradient is exactly zero", (lua_Integer)r->step);
    case HM_TRAIN_INTERRUPTED: return lua_pushfstring(L, "interrupted at step %I", (lua_Integer)r->step);
    case HM_TRAIN_CALLBACK: return lua_pushfstring(L, "stopped by callback at step %I", (lua_Integer)r->step);
    case HM_TRAIN_STOPPED: {
      const char *what[] = {"loss <= %f", "grad_norm <= %f", "param_norm >= %f"};
      double v[] = {sp->loss_below, sp->grad_norm_below, sp->param_norm_above};
      lua_pushfstring(L, "stopped at step %I: ", (lua_Integer)r->step);
      lua_pushfstring(L, what[r->stop_reason], v[r->stop_reason]);
      lua_concat(L, 2);
      return lua_tostring(L, -1);
    }
    default: return lua_pushstring(L, "error");
  }
}

#define MAXREC 48

static int optim_train(lua_State *L) {
  const char *fn = "optim.train";
  static const char *const keys[] = {"iters", "every", "record", "callback", "stop", "targets",
                                     "indices", "bregman_p", NULL};
  lua_settop(L, 4);
  hm_objective *obj = hmL_model_objective(L, 1, 2, fn);
  hm_loptim *u = checkopt(L, 3, fn);
  hmL_checkoptions(L, 4, fn, keys);
  if (lua_isnil(L, 4)) hmL_error(L, fn, "options table with iters = ... expected");
  lua_Integer iters = hmL_optinteger(L, 4, "iters", -1, fn);
  if (iters < 0) hmL_error(L, fn, "option 'iters': integer >= 0 required");
  lua_Integer every = hmL_optinteger(L, 4, "every", 1, fn);
  if (every < 1) hmL_error(L, fn, "option 'every': integer >= 1 expected, got %I", every);
  check_eps_cover(L, &u->o, obj, fn);
  check_polyak(L, &u->o, obj, fn);
  double bp = hmL_optnumber(L, 4, "bregman_p", u->o.kind == HM_OPT_MIRROR ? u->o.p : 2.0, fn);
  hm_train_cfg cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.iters = (long)iters;
  cfg.every = (long)every;
  /* stop criteria */
  cfg.stop.loss_below = NAN;
  cfg.stop.grad_norm_below = NAN;
  cfg.stop.param_norm_above = 0.0;
  int t = hmL_optfield(L, 4, "stop");
  if (t == LUA_TTABLE) {
    static const char *const skeys[] = {"loss", "grad_norm", "param_norm", NULL};
    hmL_checkoptions(L, -1, "optim.train: option 'stop'", skeys);
    cfg.stop.loss_below = hmL_optnumber(L, lua_gettop(L), "loss", NAN, fn);
    cfg.stop.grad_norm_below = hmL_optnumber(L, lua_gettop(L), "grad_norm", NAN, fn);
    cfg.stop.param_norm_above = hmL_optnumber(L, lua_gettop(L), "param_norm", 0.0, fn);
  } else if (t != LUA_TNIL) {
    hmL_error(L, fn, "option 'stop': table {loss=, grad_norm=, param_norm=} expected, got %s", luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  /* recorders */
  hm_recorder rec[MAXREC];
  const char *names[MAXREC];
  int nrec = 0;
  size_t *idx = NULL;
  t = hmL_optfield(L, 4, "record");
  if (t != LUA_TNIL && t != LUA_TTABLE)
    hmL_error(L, fn, "option 'record': list of names expected, got %s", luaL_typename(L, -1));
  int rec_idx = lua_gettop(L);
  lua_Integer nr = t == LUA_TTABLE ? (lua_Integer)lua_rawlen(L, rec_idx) : 0;
  if (nr > MAXREC) hmL_error(L, fn, "option 'record': at most %d names", MAXREC);
  int want_w = 0, want_s = 0;
  for (lua_Integer r = 1; r <= nr; r++) {
    lua_rawgeti(L, rec_idx, r);
    if (lua_type(L, -1) != LUA_TSTRING)
      hmL_error(L, fn, "option 'record': entry %I: string expected, got %s", r, luaL_typename(L, -1));
    const char *nm = lua_tostring(L, -1);
    lua_pop(L, 1); /* anchored in the record table */
    hm_recorder *c = &rec[nrec];
    memset(c, 0, sizeof *c);
    c->param = -1;
    const char *sub = NULL;
    if (strcmp(nm, "loss") == 0) c->kind = HM_REC_LOSS;
    else if (strcmp(nm, "grad_norm") == 0) c->kind = HM_REC_GRAD_NORM;
    else if (strncmp(nm, "grad_norm_", 10) == 0) { c->kind = HM_REC_GRAD_NORM; sub = nm + 10; }
    else if (strcmp(nm, "param_norm") == 0) c->kind = HM_REC_PARAM_NORM;
    else if (strncmp(nm, "param_norm_", 11) == 0) { c->kind = HM_REC_PARAM_NORM; sub = nm + 11; }
    else if (strcmp(nm, "softmax_max") == 0) c->kind = HM_REC_SOFTMAX_MAX;
    else if (strcmp(nm, "softmax_at") == 0) c->kind = HM_REC_SOFTMAX_AT;
    else if (strcmp(nm, "min_logit_gap") == 0) c->kind = HM_REC_MIN_LOGIT_GAP;
    else if (strcmp(nm, "lr") == 0) c->kind = HM_REC_LR;
    else if (strcmp(nm, "grad_underflow") == 0) c->kind = HM_REC_GRAD_UNDERFLOW;
    else if (strcmp(nm, "corr") == 0) { c->kind = HM_REC_CORR; sub = "W"; }
    else if (strncmp(nm, "corr_", 5) == 0) { c->kind = HM_REC_CORR; sub = nm + 5; }
    else if (strncmp(nm, "cos_", 4) == 0) { c->kind = HM_REC_CORR; sub = nm + 4; }
    else if (strcmp(nm, "bregman") == 0) { c->kind = HM_REC_BREGMAN; sub = "W"; }
    else if (strncmp(nm, "bregman_", 8) == 0) { c->kind = HM_REC_BREGMAN; sub = nm + 8; }
    else { c->kind = HM_REC_VALUE; sub = nm; }
    if (sub) {
      if (c->kind == HM_REC_VALUE || c->kind == HM_REC_CORR || c->kind == HM_REC_BREGMAN) {
        /* "W" is the effective attention matrix (K Q^T for (K,Q) models) */
        int pi = strcmp(sub, "W") == 0 ? -1 : find_param(obj, sub);
        if (pi == -2)
          hmL_error(L, fn, "option 'record': unknown name '%s' (recordable: loss, grad_norm[_X], "
                           "param_norm[_X], W, <param>, softmax_max, softmax_at, corr[_X], cos_X, "
                           "bregman[_X], min_logit_gap, lr, grad_underflow)", nm);
        if (pi == -1 && (!obj->effective_w || obj->w_size == 0))
          hmL_error(L, fn, "option 'record': '%s' needs a model with an effective W", nm);
        c->param = pi;
      } else {
        int pi = find_param(obj, sub);
        if (pi < 0) hmL_error(L, fn, "option 'record': '%s': the model has no parameter '%s'", nm, sub);
        c->param = pi;
      }
    }
    size_t size = c->param < 0 ? obj->w_size : obj->param[c->param].size;
    if (c->kind == HM_REC_CORR || c->kind == HM_REC_BREGMAN) c->target = get_target(L, 4, sub, size, fn);
    if (c->kind == HM_REC_BREGMAN) {
      c->p = bp;
      if (!(bp > 1.0 && isfinite(bp))) hmL_error(L, fn, "option 'bregman_p': number > 1 expected, got %f", bp);
    }
    if (c->param < 0 && (c->kind == HM_REC_VALUE || c->kind == HM_REC_CORR || c->kind == HM_REC_BREGMAN)) want_w = 1;
    if (c->kind == HM_REC_SOFTMAX_MAX || c->kind == HM_REC_SOFTMAX_AT) {
      if (!obj->probs) hmL_error(L, fn, "option 'record': '%s' needs attention probabilities", nm);
      want_s = 1;
    }
    if (c->kind == HM_REC_SOFTMAX_AT) {
      if (obj->probs_size != obj->n * obj->T)
        hmL_error(L, fn, "option 'record': 'softmax_at' needs a single-output model (n x T probabilities)");
      if (hmL_optfield(L, 4, "indices") != LUA_TTABLE)
        hmL_error(L, fn, "recording 'softmax_at' needs indices = {alpha_1, ..., alpha_n} (1-based)");
      if ((size_t)lua_rawlen(L, -1) != obj->n)
        hmL_error(L, fn, "option 'indices': %I entries expected (one per sample), got %I", (lua_Integer)obj->n,
                  (lua_Integer)lua_rawlen(L, -1));
      if (!idx) {
        idx = (size_t *)lua_newuserdatauv(L, (obj->n ? obj->n : 1) * sizeof(size_t), 0);
        lua_insert(L, -2); /* keep the buffer below the indices table */
        for (size_t i = 0; i < obj->n; i++) {
          lua_rawgeti(L, -1, (lua_Integer)i + 1);
          int isint;
          lua_Integer v = lua_tointegerx(L, -1, &isint);
          if (!isint || v < 1 || (size_t)v > obj->T)
            hmL_error(L, fn, "option 'indices': entry %I: integer in [1, %I] expected", (lua_Integer)i + 1, (lua_Integer)obj->T);
          idx[i] = (size_t)(v - 1);
          lua_pop(L, 1);
        }
      }
      lua_pop(L, 1); /* indices table; the size_t buffer stays on the stack */
      c->idx = idx;
    }
    names[nrec++] = nm;
  }
  hmL_check(L, fn, hm_train_prepare(obj, rec, nrec));
  long maxrows = hm_train_rows(cfg.iters, cfg.every);
  size_t total = 0;
  for (int r = 0; r < nrec; r++) total += rec[r].width;
  if (nrec > 0) total += 1; /* step indices (only when something is recorded) */
  size_t need = total * (size_t)maxrows + (want_w ? obj->w_size : 0) + (want_s ? obj->probs_size : 0);
  if (maxrows > 0 && total > 0 && need / (size_t)maxrows < total) hmL_error(L, fn, "recording too large");
  hm_mat *scratch = hmL_newvec(L, need, fn);
  size_t off = 0;
  for (int r = 0; r < nrec; r++) {
    rec[r].out = scratch->data + off;
    off += rec[r].width * (size_t)maxrows;
  }
  if (nrec > 0) {
    cfg.steps = scratch->data + off;
    off += (size_t)maxrows;
  }
  if (want_w) { cfg.wbuf = scratch->data + off; off += obj->w_size; }
  if (want_s) cfg.sbuf = scratch->data + off;
  cfg.nrec = nrec;
  cfg.rec = rec;
  /* callback */
  cb_state cbs;
  lua_pushnil(L); /* error slot */
  int err_idx = lua_gettop(L);
  if (hmL_optfield(L, 4, "callback") != LUA_TNIL) {
    if (!lua_isfunction(L, -1)) hmL_error(L, fn, "option 'callback': function expected, got %s", luaL_typename(L, -1));
    cbs.L = L;
    cbs.fn_idx = lua_gettop(L);
    cbs.model_idx = 1;
    cbs.err_idx = err_idx;
    cfg.callback = train_callback;
    cfg.cb_ud = &cbs;
  }
  hm_train_result res;
  set_rescaled(L, &u->o, obj, 1, fn);
  hm_status st = hm_train_run(&u->o, obj, &cfg, &res);
  set_rescaled(L, &u->o, obj, 0, fn);
  hmL_check(L, fn, st);
  if (res.status == HM_TRAIN_CALLBACK_ERROR) {
    lua_pushvalue(L, err_idx);
    return lua_error(L);
  }
  if (res.status == HM_TRAIN_ERROR) hmL_error(L, fn, "at step %I: %s", (lua_Integer)res.step, hm_status_message(res.err));
  /* result table */
  lua_newtable(L);
  int out = lua_gettop(L);
  long rows = res.rows;
  for (int r = 0; r < nrec; r++) {
    hm_recorder *c = &rec[r];
    hm_mat *m;
    if (c->kind == HM_REC_VALUE) {
      size_t pr = c->param < 0 ? (size_t)sqrt((double)obj->w_size) : obj->param[c->param].rows;
      size_t pc = c->param < 0 ? pr : obj->param[c->param].cols;
      if (c->param >= 0 && pc == 1) m = hmL_newmat2(L, (size_t)rows, pr, fn);
      else m = hmL_newmat3(L, (size_t)rows, pr, pc, fn);
    } else {
      m = hmL_newvec(L, (size_t)rows, fn);
    }
    if (m->size) memcpy(m->data, c->out, m->size * sizeof(double));
    lua_setfield(L, out, names[r]);
  }
  hm_mat *steps = hmL_newvec(L, cfg.steps ? (size_t)rows : 0, fn);
  if (cfg.steps && rows) memcpy(steps->data, cfg.steps, (size_t)rows * sizeof(double));
  lua_setfield(L, out, "steps");
  lua_pushinteger(L, (lua_Integer)res.iters);
  lua_setfield(L, out, "iters");
  status_string(L, &res, obj, &cfg.stop);
  lua_setfield(L, out, "status");
  lua_pushnumber(L, res.final_loss);
  lua_setfield(L, out, "final_loss");
  push_settings(L, &u->o);
  lua_setfield(L, out, "optimizer");
  return 1;
}

/* ------------------------------------------------------------------ regpath */

static int optim_regpath(lua_State *L) {
  const char *fn = "optim.regpath";
  static const char *const keys[] = {"radii", "norm", "params", "iters", "tol", "check", "linf",
                                     "restarts", "seed", NULL};
  lua_settop(L, 3);
  hm_objective *obj = hmL_model_objective(L, 1, 2, fn);
  if (lua_isnil(L, 3)) hmL_error(L, fn, "options table with radii = {...} expected");
  hmL_checkoptions(L, 3, fn, keys);
  /* selected parameters */
  int sel[16], nsel = 0;
  if (hmL_optfield(L, 3, "params") == LUA_TTABLE) {
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    if (n < 1 || n > 16) hmL_error(L, fn, "option 'params': 1 to 16 names expected");
    for (lua_Integer k = 1; k <= n; k++) {
      lua_rawgeti(L, -1, k);
      const char *nm = lua_tostring(L, -1);
      int pi = nm ? find_param(obj, nm) : -2;
      if (pi < 0) hmL_error(L, fn, "option 'params': the model has no parameter '%s'", nm ? nm : "?");
      for (int j = 0; j < nsel; j++)
        if (sel[j] == pi) hmL_error(L, fn, "option 'params': '%s' listed twice", nm);
      sel[nsel++] = pi;
      lua_pop(L, 1);
    }
  } else if (!lua_isnil(L, -1)) {
    hmL_error(L, fn, "option 'params': list of parameter names expected");
  } else {
    for (int i = 0; i < obj->nparam && nsel < 16; i++)
      if (obj->param[i].trainable) sel[nsel++] = i;
    if (nsel == 0) hmL_error(L, fn, "the model has no trainable parameter");
  }
  lua_pop(L, 1);
  /* norm */
  hm_ball_kind ball = HM_BALL_L2;
  int t = hmL_optfield(L, 3, "norm");
  if (t == LUA_TSTRING) {
    const char *s = lua_tostring(L, -1);
    if (strcmp(s, "fro") == 0) ball = HM_BALL_L2;
    else if (strcmp(s, "nuc") == 0) ball = HM_BALL_NUC;
    else if (strcmp(s, "inf") == 0) ball = HM_BALL_LINF;
    else hmL_error(L, fn, "option 'norm': 'fro', 'nuc', 1, 2 or math.huge expected, got '%s'", s);
  } else if (t == LUA_TNUMBER) {
    double p = lua_tonumber(L, -1);
    if (p == 2.0) ball = HM_BALL_L2;
    else if (p == 1.0) ball = HM_BALL_L1;
    else if (isinf(p) && p > 0) ball = HM_BALL_LINF;
    else hmL_error(L, fn, "option 'norm': entrywise p-ball for p = %f is not supported (use 1, 2, math.huge, 'fro' or 'nuc')", p);
  } else if (t != LUA_TNIL) {
    hmL_error(L, fn, "option 'norm': string or number expected, got %s", luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  if (ball == HM_BALL_NUC && (nsel != 1 || obj->param[sel[0]].cols < 2))
    hmL_error(L, fn, "norm = 'nuc' needs exactly one matrix parameter (e.g. params = {'W'}); "
                     "for (K,Q) use norm = 'fro', whose ball |K|^2 + |Q|^2 <= 2R is a nuclear ball in W");
  int kq = ball == HM_BALL_L2 && nsel == 2 &&
           ((strcmp(obj->param[sel[0]].name, "K") == 0 && strcmp(obj->param[sel[1]].name, "Q") == 0) ||
            (strcmp(obj->param[sel[0]].name, "Q") == 0 && strcmp(obj->param[sel[1]].name, "K") == 0));
  /* radii */
  if (hmL_optfield(L, 3, "radii") != LUA_TTABLE) hmL_error(L, fn, "option 'radii': list expected");
  int ridx = lua_gettop(L);
  size_t nr = (size_t)lua_rawlen(L, ridx);
  if (nr == 0) hmL_error(L, fn, "option 'radii': at least one radius expected");
  lua_rawgeti(L, ridx, 1);
  int separate = lua_istable(L, -1);
  lua_pop(L, 1);
  int nb = separate ? nsel : 1;
  hm_mat *rad = hmL_newvec(L, nr * (size_t)nb, fn);
  hm_mat *radR = hmL_newmat2(L, nr, (size_t)nb, fn); /* user radii, returned */
  for (size_t r = 0; r < nr; r++) {
    lua_rawgeti(L, ridx, (lua_Integer)r + 1);
    if (separate) {
      if (!lua_istable(L, -1)) hmL_error(L, fn, "option 'radii': entry %I: table expected (all entries alike)", (lua_Integer)r + 1);
      for (int b = 0; b < nsel; b++) {
        const char *nm = obj->param[sel[b]].name;
        const char *alias = strcmp(nm, "v") == 0 ? "r" : strcmp(nm, "p") == 0 ? "R" : NULL;
        int tt = lua_getfield(L, -1, nm);
        if (tt == LUA_TNIL && alias) {
          lua_pop(L, 1);
          tt = lua_getfield(L, -1, alias);
        }
        if (tt != LUA_TNUMBER) hmL_error(L, fn, "option 'radii': entry %I: number expected for '%s'", (lua_Integer)r + 1, nm);
        double v = lua_tonumber(L, -1);
        if (!(v > 0.0 && isfinite(v))) hmL_error(L, fn, "option 'radii': entry %I: radius > 0 expected for '%s', got %f", (lua_Integer)r + 1, nm, v);
        rad->data[r * (size_t)nb + (size_t)b] = v;
        radR->data[r * (size_t)nb + (size_t)b] = v;
        lua_pop(L, 1);
      }
    } else {
      if (!lua_isnumber(L, -1)) hmL_error(L, fn, "option 'radii': entry %I: number expected, got %s", (lua_Integer)r + 1, luaL_typename(L, -1));
      double v = lua_tonumber(L, -1);
      if (!(v > 0.0 && isfinite(v))) hmL_error(L, fn, "option 'radii': entry %I: radius > 0 expected, got %f", (lua_Integer)r + 1, v);
      radR->data[r] = v;
      rad->data[r] = kq ? sqrt(2.0 * v) : v;
    }
    lua_pop(L, 1);
  }
  lua_Integer iters = hmL_optinteger(L, 3, "iters", 2000, fn);
  if (iters < 0) hmL_error(L, fn, "option 'iters': integer >= 0 expected");
  lua_Integer check = hmL_optinteger(L, 3, "check", 10, fn);
  if (check < 1) hmL_error(L, fn, "option 'check': integer >= 1 expected");
  double tol = hmL_optnumber(L, 3, "tol", 1e-8, fn);
  if (!(tol >= 0.0)) hmL_error(L, fn, "option 'tol': number >= 0 expected");
  size_t N = 0;
  for (int b = 0; b < nsel; b++) N += obj->param[sel[b]].size;
  int want_w = obj->effective_w && obj->w_size > 0;
  hm_mat *sol = hmL_newvec(L, nr * N, fn);
  hm_mat *wsol = want_w ? hmL_newvec(L, nr * obj->w_size, fn) : NULL;
  hm_mat *lossv = hmL_newvec(L, nr, fn);
  hm_mat *normv = hmL_newmat2(L, nr, (size_t)nb, fn);
  hm_mat *gapv = hmL_newvec(L, nr, fn);
  hm_mat *pgv = hmL_newvec(L, nr, fn);
  hm_mat *kktv = hmL_newvec(L, nr, fn);
  long *its = (long *)lua_newuserdatauv(L, nr * sizeof(long), 0);
  int *conv = (int *)lua_newuserdatauv(L, nr * sizeof(int), 0);
  hm_regpath_cfg cfg = {ball, nsel, sel, separate, nr, rad->data, (long)iters, (long)check, tol,
                        sol->data, wsol ? wsol->data : NULL, lossv->data, normv->data,
                        gapv->data, pgv->data, its, conv, kktv->data, 0, 0, NULL};
  lua_Integer restarts = hmL_optinteger(L, 3, "restarts", 0, fn);
  if (restarts < 0 || restarts > 1000000) hmL_error(L, fn, "option 'restarts': integer in [0, 1e6] expected");
  lua_Integer seed = hmL_optinteger(L, 3, "seed", 0, fn);
  int *used = (int *)lua_newuserdatauv(L, nr * sizeof(int), 0);
  cfg.restarts = (int)restarts;
  cfg.seed = (unsigned long long)seed;
  cfg.start_used = used;
  double linf = hmL_optnumber(L, 3, "linf", obj->loss_inf, fn);
  if (isinf(linf)) hmL_error(L, fn, "option 'linf': finite number expected");
  double saved_inf = obj->loss_inf;
  obj->loss_inf = linf;
  hm_status st = hm_regpath_run(obj, &cfg);
  obj->loss_inf = saved_inf;
  if (st == HM_ENONFINITE) hmL_error(L, fn, "the loss or its gradient is not finite at a start point");
  hmL_check(L, fn, st);
  if (kq) /* report R = (|K|^2 + |Q|^2)/2 */
    for (size_t r = 0; r < nr; r++) normv->data[r] = 0.5 * normv->data[r] * normv->data[r];
  lua_newtable(L);
  int out = lua_gettop(L);
  size_t off = 0;
  for (int b = 0; b < nsel; b++) {
    const hm_param *q = &obj->param[sel[b]];
    hm_mat *m = q->cols == 1 ? hmL_newmat2(L, nr, q->rows, fn) : hmL_newmat3(L, nr, q->rows, q->cols, fn);
    for (size_t r = 0; r < nr; r++)
      memcpy(m->data + r * q->size, sol->data + r * N + off, q->size * sizeof(double));
    off += q->size;
    lua_setfield(L, out, q->name);
  }
  if (wsol) {
    size_t d = (size_t)sqrt((double)obj->w_size);
    hm_mat *m = hmL_newmat3(L, nr, d, d, fn);
    memcpy(m->data, wsol->data, wsol->size * sizeof(double));
    lua_setfield(L, out, "W");
  }
  if (nb == 1) {
    hm_mat *v = hmL_newvec(L, nr, fn);
    memcpy(v->data, radR->data, nr * sizeof(double));
    lua_setfield(L, out, "radii");
    v = hmL_newvec(L, nr, fn);
    memcpy(v->data, normv->data, nr * sizeof(double));
    lua_setfield(L, out, "norm");
  } else {
    hmL_pushcopy(L, radR, fn);
    lua_setfield(L, out, "radii");
    hmL_pushcopy(L, normv, fn);
    lua_setfield(L, out, "norm");
  }
  hmL_pushcopy(L, lossv, fn);
  lua_setfield(L, out, "loss");
  hmL_pushcopy(L, gapv, fn);
  lua_setfield(L, out, "gap");
  hmL_pushcopy(L, pgv, fn);
  lua_setfield(L, out, "pgnorm");
  hmL_pushcopy(L, kktv, fn);
  lua_setfield(L, out, "kkt");
  hm_mat *stv = hmL_newvec(L, nr, fn);
  for (size_t r = 0; r < nr; r++) stv->data[r] = (double)used[r];
  lua_setfield(L, out, "start");
  hm_mat *itv = hmL_newvec(L, nr, fn);
  lua_createtable(L, (int)nr, 0);
  for (size_t r = 0; r < nr; r++) {
    itv->data[r] = (double)its[r];
    lua_pushboolean(L, conv[r]);
    lua_rawseti(L, -2, (lua_Integer)r + 1);
  }
  lua_setfield(L, out, "converged");
  lua_setfield(L, out, "iters");
  lua_pushstring(L, ball == HM_BALL_L2 ? (kq ? "fro (K,Q): |K|^2+|Q|^2 <= 2R" : "fro") :
                    ball == HM_BALL_NUC ? "nuc" : ball == HM_BALL_L1 ? "l1" : "linf");
  lua_setfield(L, out, "ball");
  return 1;
}

/* ------------------------------------------------------------------ metrics */

static int optim_corr(lua_State *L) {
  const char *fn = "optim.corr";
  hm_mat *a = hmL_checkmat(L, 1, fn), *b = hmL_checkmat(L, 2, fn);
  if (a->size != b->size) {
    char b1[80], b2[80];
    hmL_error(L, fn, "shapes %s and %s have different sizes", hmL_shapestr(a, b1), hmL_shapestr(b, b2));
  }
  lua_pushnumber(L, hm_corr(a->data, b->data, a->size));
  return 1;
}

static double check_p(lua_State *L, int arg, const char *fn, double lo) {
  double p = hmL_checkfinite(L, arg, fn);
  if (!(p > lo)) hmL_argerror(L, fn, arg, "p > %d expected, got %f", (int)lo, p);
  return p;
}

static int optim_bregman(lua_State *L) {
  const char *fn = "optim.bregman";
  hm_mat *a = hmL_checkmat(L, 1, fn), *b = hmL_checkmat(L, 2, fn);
  double p = check_p(L, 3, fn, 1.0);
  if (a->size != b->size) {
    char b1[80], b2[80];
    hmL_error(L, fn, "shapes %s and %s have different sizes", hmL_shapestr(a, b1), hmL_shapestr(b, b2));
  }
  if (!hm_all_finite(a->data, a->size) || !hm_all_finite(b->data, b->size))
    hmL_error(L, fn, "non-finite entries");
  double v = hm_bregman_dir(a->data, b->data, a->size, p);
  if (isnan(v)) hmL_error(L, fn, "an argument is zero (its direction is undefined)");
  lua_pushnumber(L, v);
  return 1;
}

static int optim_lp_normalize(lua_State *L) {
  const char *fn = "optim.lp_normalize";
  hm_mat *a = hmL_checkmat(L, 1, fn);
  double p = lua_isnoneornil(L, 2) ? 2.0 : hmL_checkfinite(L, 2, fn);
  if (!(p > 0.0)) hmL_argerror(L, fn, 2, "p > 0 expected, got %f", p);
  hm_mat *y = hmL_newmat(L, a->rank, a->dim, fn);
  hm_status s = hm_lp_normalize(a->data, y->data, a->size, p);
  if (s == HM_EARG) hmL_error(L, fn, "cannot normalize a zero array");
  if (s == HM_ENONFINITE) hmL_error(L, fn, "non-finite entries");
  return 1;
}

static int optim_lp_norm(lua_State *L) {
  const char *fn = "optim.lp_norm";
  hm_mat *a = hmL_checkmat(L, 1, fn);
  double p = 2.0;
  if (!lua_isnoneornil(L, 2)) {
    if (!lua_isnumber(L, 2)) hmL_argerror(L, fn, 2, "number expected, got %s", luaL_typename(L, 2));
    p = lua_tonumber(L, 2);
    if (!(p > 0.0)) hmL_argerror(L, fn, 2, "p > 0 expected, got %f", p);
  }
  lua_pushnumber(L, hm_normp(a->data, a->size, p));
  return 1;
}

static int optim_project(lua_State *L) {
  const char *fn = "optim.project";
  hm_mat *a = hmL_checkmat(L, 1, fn);
  double rho = hmL_checkfinite(L, 2, fn);
  if (!(rho >= 0.0)) hmL_argerror(L, fn, 2, "radius >= 0 expected, got %f", rho);
  hm_ball_kind ball = HM_BALL_L2;
  if (lua_type(L, 3) == LUA_TSTRING) {
    const char *s = lua_tostring(L, 3);
    if (strcmp(s, "nuc") == 0) ball = HM_BALL_NUC;
    else if (strcmp(s, "fro") == 0) ball = HM_BALL_L2;
    else if (strcmp(s, "inf") == 0) ball = HM_BALL_LINF;
    else hmL_argerror(L, fn, 3, "'fro', 'nuc', 1, 2 or math.huge expected, got '%s'", s);
  } else if (lua_isnumber(L, 3)) {
    double p = lua_tonumber(L, 3);
    if (p == 1.0) ball = HM_BALL_L1;
    else if (p == 2.0) ball = HM_BALL_L2;
    else if (isinf(p) && p > 0) ball = HM_BALL_LINF;
    else hmL_argerror(L, fn, 3, "'fro', 'nuc', 1, 2 or math.huge expected, got %f", p);
  } else if (!lua_isnoneornil(L, 3)) {
    hmL_argerror(L, fn, 3, "norm name or number expected, got %s", luaL_typename(L, 3));
  }
  if (ball == HM_BALL_NUC && a->rank != 2) hmL_argerror(L, fn, 1, "matrix expected for the nuclear ball");
  if (!hm_all_finite(a->data, a->size)) hmL_argerror(L, fn, 1, "non-finite entries");
  hm_mat *y = hmL_pushcopy(L, a, fn);
  hmL_check(L, fn, hm_proj_ball(ball, y->data, y->size, rho, a->rank == 2 ? a->dim[0] : a->size,
                                a->rank == 2 ? a->dim[1] : 1));
  return 1;
}

static const luaL_Reg meta[] = {{"__gc", opt_gc}, {"__index", opt_index}, {"__newindex", opt_newindex},
                                {"__tostring", opt_tostring}, {NULL, NULL}};
static const luaL_Reg methods[] = {{"step", opt_step}, {"reset", opt_reset}, {"settings", opt_settings},
                                   {NULL, NULL}};
static const luaL_Reg funcs[] = {{"gd", optim_gd}, {"ngd", optim_ngd}, {"polyak", optim_polyak},
                                 {"momentum", optim_momentum}, {"adam", optim_adam},
                                 {"mirror", optim_mirror}, {"train", optim_train},
                                 {"regpath", optim_regpath}, {"corr", optim_corr},
                                 {"bregman", optim_bregman}, {"lp_normalize", optim_lp_normalize},
                                 {"lp_norm", optim_lp_norm}, {"project", optim_project},
                                 {NULL, NULL}};

int luaopen_hardmax_optim(lua_State *L) {
  luaL_newmetatable(L, HM_OPTIM_TNAME);
  luaL_setfuncs(L, meta, 0);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__methods");
  lua_pushstring(L, HM_OPTIM_TNAME);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  return 1;
}
