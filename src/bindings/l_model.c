/* hardmax.model — one-layer attention models (theory.md A.2) with analytic batched
 * gradients, and the model <-> optimizer objective (hm_objective.h). */
#include <math.h>
#include <string.h>

#include "hm_ldata.h"
#include "hm_lsvm.h"
#include "hm_model.h"

typedef struct hm_lmodel {
  hm_model m;
  hm_lloss *lloss; /* pinned by user value 1 */
  hm_objective obj;
  hm_param params[HM_MP_COUNT];
  const hm_dataset *obj_ds;
  lua_State *obj_L;                 /* the thread running the objective's caller */
  int obj_mode;                     /* 0 exact, 1 rescaled (hm_model_eval mode) */
  double obj_scale[HM_MP_COUNT];    /* per objective parameter, see hmL_model_objective_rescale */
  int obj_slot[HM_MP_COUNT];        /* model slot of each objective parameter */
  int closed;
} hm_lmodel;

static hm_lmodel *checkmodel(lua_State *L, int idx, const char *fn) {
  hm_lmodel *u = (hm_lmodel *)luaL_testudata(L, idx, HM_MODEL_TNAME);
  if (!u) hmL_argerror(L, fn, idx, "model expected, got %s", luaL_typename(L, idx));
  if (!u->m.weff) hmL_argerror(L, fn, idx, "model was freed");
  if (u->m.in_eval)
    hmL_error(L, fn, "the model is being evaluated (this is its custom loss running); a custom "
              "loss must not use its own model: make a copy beforehand (m:clone()) and use that");
  return u;
}

static int model_gc(lua_State *L) {
  hm_lmodel *u = (hm_lmodel *)luaL_testudata(L, 1, HM_MODEL_TNAME);
  if (u) hm_model_free(&u->m);
  return 0;
}

static hm_lmodel *new_lmodel(lua_State *L) {
  hm_lmodel *u = (hm_lmodel *)lua_newuserdatauv(L, sizeof(hm_lmodel), 1);
  memset(u, 0, sizeof *u);
  luaL_setmetatable(L, HM_MODEL_TNAME);
  return u;
}

static int slot_of(const char *name) {
  for (int k = 0; k < HM_MP_COUNT; k++)
    if (strcmp(name, hm_model_param_names[k]) == 0) return k;
  return -1;
}

/* Raise a Lua error for a failed eval. */
static void eval_error(lua_State *L, hm_lmodel *u, hm_status s, const char *fn) {
  if (u->lloss && u->lloss->loss.kind == HM_LOSS_CUSTOM && u->lloss->err[0])
    hmL_error(L, fn, "custom loss: %s", u->lloss->err);
  if (s == HM_ENONFINITE) {
    for (int k = 0; k < HM_MP_COUNT; k++)
      if (u->m.x[k] && !hm_all_finite(u->m.x[k], u->m.rows[k] * u->m.cols[k]))
        hmL_error(L, fn, "parameter %s contains NaN or Inf", hm_model_param_names[k]);
    hmL_error(L, fn, "loss or gradient is not finite (%s loss overflow?)",
              hm_loss_name(u->m.loss.kind));
  }
  hmL_check(L, fn, s);
}

static hm_ldata *checkpair(lua_State *L, hm_lmodel *u, int didx, const char *fn) {
  hm_ldata *d = hmL_checkdata(L, didx, fn);
  char msg[160];
  if (hm_model_check_data(&u->m, &d->ds, msg) != HM_OK) hmL_error(L, fn, "%s", msg);
  if (u->lloss) u->lloss->L = L;
  return d;
}

static double run_eval(lua_State *L, hm_lmodel *u, const hm_dataset *ds, int want_grad,
                       const char *fn) {
  double loss;
  hm_status s = hm_model_eval(&u->m, ds, want_grad, 0, &loss);
  if (s) eval_error(L, u, s, fn);
  return loss;
}

/* ---- constructor ------------------------------------------------------------------------ */

static const char *const attn_opts[] = {"param", "d", "m", "query", "head", "v", "V", "lambda",
                                        "W", "K", "Q", "p", "train", "loss", "ridge", "mask",
                                        "output", "position_reduction", NULL};

static int opt_choice(lua_State *L, int idx, const char *key, const char *const *choices,
                      int def, const char *fn) {
  const char *s = hmL_optstring(L, idx, key, NULL, fn);
  if (!s) return def;
  for (int k = 0; choices[k]; k++)
    if (strcmp(s, choices[k]) == 0) return k;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int k = 0; choices[k]; k++) {
    if (k) luaL_addstring(&b, ", ");
    luaL_addstring(&b, choices[k]);
  }
  luaL_pushresult(&b);
  hmL_error(L, fn, "option '%s': expected one of %s, got '%s'", key, lua_tostring(L, -1), s);
  return def;
}

/* Fetch an array option (mat or nested table) onto the stack; NULL if absent. */
static hm_mat *opt_array(lua_State *L, int idx, const char *key, const char *fn) {
  if (lua_getfield(L, idx, key) == LUA_TNIL) {
    lua_pop(L, 1);
    return NULL;
  }
  hm_mat *a = hmL_data_toarray(L, -1, fn, key);
  if (!hm_all_finite(a->data, a->size)) hmL_error(L, fn, "option '%s' contains NaN or Inf", key);
  return a; /* left on the stack */
}

/* p and v are vectors; W, K, Q, V matrices (also when K, Q have m = 1 columns). */
static int is_vec(int k) { return k == HM_MP_P || k == HM_MP_V; }

static void copy_param(lua_State *L, hm_model *m, int k, const hm_mat *a, const char *fn,
                       const char *what) {
  char b[80];
  size_t r = m->rows[k], c = m->cols[k];
  int ok = is_vec(k) ? (a->rank == 1 && a->dim[0] == r)
                     : (a->rank == 2 && a->dim[0] == r && a->dim[1] == c);
  if (!ok) {
    if (is_vec(k)) hmL_error(L, fn, "%s must be a vector of length %d, got shape %s", what, (int)r, hmL_shapestr(a, b));
    hmL_error(L, fn, "%s must be %dx%d, got shape %s", what, (int)r, (int)c, hmL_shapestr(a, b));
  }
  if (!hm_all_finite(a->data, a->size)) hmL_error(L, fn, "%s contains NaN or Inf", what);
  memcpy(m->x[k], a->data, r * c * sizeof(double));
}

static int model_attention(lua_State *L) {
  const char *fn = "model.attention";
  if (!lua_istable(L, 1)) hmL_argerror(L, fn, 1, "options table expected, got %s", luaL_typename(L, 1));
  hmL_checkoptions(L, 1, fn, attn_opts);
  lua_settop(L, 1);
  static const char *const params[] = {"W", "KQ", "p", NULL};
  static const char *const heads[] = {"linear", "relu", "lambda", NULL};
  static const char *const outputs[] = {"single", "sequence", NULL};
  static const char *const masks[] = {"full", "causal", NULL};
  static const char *const reds[] = {"sum", "mean", NULL};
  hm_model_config c;
  memset(&c, 0, sizeof c);
  c.param = opt_choice(L, 1, "param", params, HM_ATT_W, fn);
  c.head = opt_choice(L, 1, "head", heads, HM_HEAD_LINEAR, fn);
  c.sequence = opt_choice(L, 1, "output", outputs, 0, fn);
  int has_mask = hmL_optfield(L, 1, "mask") != LUA_TNIL;
  lua_pop(L, 1);
  c.causal = opt_choice(L, 1, "mask", masks, 0, fn);
  int has_red = hmL_optfield(L, 1, "position_reduction") != LUA_TNIL;
  lua_pop(L, 1);
  c.pos_mean = opt_choice(L, 1, "position_reduction", reds, 0, fn);
  if (!c.sequence && has_mask) hmL_error(L, fn, "option 'mask' needs output=\"sequence\"");
  if (!c.sequence && has_red) hmL_error(L, fn, "option 'position_reduction' needs output=\"sequence\"");
  /* query */
  int qt = hmL_optfield(L, 1, "query");
  if (c.param == HM_ATT_P) {
    c.query = HM_QUERY_PROMPT;
    if (qt != LUA_TNIL && !(qt == LUA_TSTRING && strcmp(lua_tostring(L, -1), "prompt") == 0))
      hmL_error(L, fn, "option 'query': param=\"p\" is prompt attention (query must be \"prompt\" or absent)");
  } else if (qt == LUA_TNIL) {
    c.query = HM_QUERY_CROSS;
  } else if (qt == LUA_TSTRING) {
    const char *q = lua_tostring(L, -1);
    if (strcmp(q, "cross") == 0) c.query = HM_QUERY_CROSS;
    else if (strcmp(q, "prompt") == 0) c.query = HM_QUERY_PROMPT;
    else if (strcmp(q, "self") == 0) c.query = HM_QUERY_SELF, c.qidx = 0;
    else hmL_error(L, fn, "option 'query': expected \"cross\", \"prompt\", \"self\" or a token index, got '%s'", q);
  } else if (qt == LUA_TNUMBER) {
    int isnum;
    lua_Integer q = lua_tointegerx(L, -1, &isnum);
    if (!isnum || q < 1) hmL_error(L, fn, "option 'query': token index >= 1 expected, got %s", lua_tostring(L, -1));
    c.query = HM_QUERY_SELF;
    c.qidx = (size_t)(q - 1);
  } else {
    hmL_error(L, fn, "option 'query': string or token index expected, got %s", luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  if (c.sequence && qt != LUA_TNIL && !(c.query == HM_QUERY_SELF && c.qidx == 0 && qt == LUA_TSTRING))
    hmL_error(L, fn, "option 'query': sequence outputs use every token as a query (omit 'query')");
  if (c.sequence && c.param == HM_ATT_P) hmL_error(L, fn, "sequence outputs need param=\"W\" or \"KQ\"");
  if (c.sequence) c.query = HM_QUERY_SELF;
  /* dimensions */
  lua_Integer dd = hmL_optinteger(L, 1, "d", 0, fn);
  size_t d = dd > 0 ? (size_t)dd : 0;
  if (hmL_optfield(L, 1, "d") != LUA_TNIL && dd < 1) hmL_error(L, fn, "option 'd': integer >= 1 expected");
  lua_pop(L, 1);
  /* arrays (left on the stack from index 2 on) */
  hm_mat *W = opt_array(L, 1, "W", fn), *K = opt_array(L, 1, "K", fn), *Q = opt_array(L, 1, "Q", fn);
  hm_mat *p = opt_array(L, 1, "p", fn), *v = opt_array(L, 1, "v", fn), *V = opt_array(L, 1, "V", fn);
  if (!d) {
    if (W) d = W->dim[0];
    else if (K) d = K->dim[0];
    else if (Q) d = Q->dim[0];
    else if (p) d = p->dim[0];
    else if (V) d = V->dim[0];
    else if (v && c.head != HM_HEAD_RELU) d = v->dim[0];
    else hmL_error(L, fn, "option 'd' is required (cannot infer the token dimension)");
  }
  c.d = d;
  if (c.param == HM_ATT_KQ) {
    lua_Integer mm = hmL_optinteger(L, 1, "m", 0, fn);
    if (mm == 0) mm = K && K->rank == 2 ? (lua_Integer)K->dim[1] : Q && Q->rank == 2 ? (lua_Integer)Q->dim[1] : (lua_Integer)d;
    if (mm < 1 || (size_t)mm > d) hmL_error(L, fn, "option 'm': 1 <= m <= d=%d expected, got %d", (int)d, (int)mm);
    c.m = (size_t)mm;
  } else if (hmL_optfield(L, 1, "m") != LUA_TNIL) {
    hmL_error(L, fn, "option 'm' needs param=\"KQ\"");
  } else {
    lua_pop(L, 1);
  }
  if (c.param != HM_ATT_KQ && (K || Q)) hmL_error(L, fn, "options 'K'/'Q' need param=\"KQ\"");
  if (c.param == HM_ATT_KQ && W) hmL_error(L, fn, "option 'W' cannot be given with param=\"KQ\" (give K and Q)");
  if (c.query != HM_QUERY_PROMPT && p) hmL_error(L, fn, "option 'p' needs query=\"prompt\" or param=\"p\"");
  if (c.head == HM_HEAD_RELU) {
    if (!V) hmL_error(L, fn, "head=\"relu\" needs option 'V' (d x d')");
    if (V->rank != 2) hmL_error(L, fn, "V must be a d x d' matrix");
    c.dv = V->dim[1];
  } else if (V) {
    hmL_error(L, fn, "option 'V' needs head=\"relu\"");
  }
  if (c.head == HM_HEAD_LAMBDA) {
    if (hmL_optfield(L, 1, "lambda") == LUA_TNIL) hmL_error(L, fn, "head=\"lambda\" needs option 'lambda'");
    lua_pop(L, 1);
    c.lambda = hmL_optnumber(L, 1, "lambda", 0, fn);
    if (!isfinite(c.lambda)) hmL_error(L, fn, "option 'lambda': finite number expected");
  } else if (hmL_optfield(L, 1, "lambda") != LUA_TNIL) {
    hmL_error(L, fn, "option 'lambda' needs head=\"lambda\"");
  } else {
    lua_pop(L, 1);
  }
  c.ridge = hmL_optnumber(L, 1, "ridge", 0.0, fn);
  if (c.ridge != 0.0 && c.param != HM_ATT_KQ) hmL_error(L, fn, "option 'ridge' needs param=\"KQ\"");
  if (!(c.ridge >= 0.0) || !isfinite(c.ridge)) hmL_error(L, fn, "option 'ridge': finite number >= 0 expected");
  /* the model */
  int top = lua_gettop(L);
  hm_lmodel *u = new_lmodel(L);
  hm_status s = hm_model_init(&u->m, &c);
  if (s) hmL_check(L, fn, s);
  hm_model *m = &u->m;
  if (W) copy_param(L, m, HM_MP_W, W, fn, "W");
  if (K) copy_param(L, m, HM_MP_K, K, fn, "K");
  if (Q) copy_param(L, m, HM_MP_Q, Q, fn, "Q");
  if (p) copy_param(L, m, HM_MP_P, p, fn, "p");
  if (V) copy_param(L, m, HM_MP_VM, V, fn, "V");
  if (v) copy_param(L, m, HM_MP_V, v, fn, "v");
  else if (c.head == HM_HEAD_RELU)
    for (size_t j = 0; j < c.dv; j++) m->x[HM_MP_V][j] = 1.0;
  if (c.query == HM_QUERY_PROMPT && c.param != HM_ATT_P && !p)
    hmL_error(L, fn, "query=\"prompt\" needs the fixed prompt vector 'p'");
  /* trainable set */
  if (lua_getfield(L, 1, "train") == LUA_TNIL) {
    if (c.param == HM_ATT_W) m->trainable[HM_MP_W] = 1;
    else if (c.param == HM_ATT_KQ) m->trainable[HM_MP_K] = m->trainable[HM_MP_Q] = 1;
    else m->trainable[HM_MP_P] = 1;
  } else {
    if (!lua_istable(L, -1)) hmL_error(L, fn, "option 'train': array of parameter names expected");
    lua_Integer nt = (lua_Integer)lua_rawlen(L, -1);
    for (lua_Integer j = 1; j <= nt; j++) {
      lua_rawgeti(L, -1, j);
      const char *nm = lua_tostring(L, -1);
      int k = nm && lua_type(L, -1) == LUA_TSTRING ? slot_of(nm) : -1;
      if (k < 0 || !m->x[k])
        hmL_error(L, fn, "option 'train': '%s' is not a parameter of this model", nm ? nm : luaL_typename(L, -1));
      m->trainable[k] = 1;
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  if (!v && c.head != HM_HEAD_RELU && !m->trainable[HM_MP_V])
    hmL_error(L, fn, "option 'v' (head vector) is required unless 'v' is trained");
  /* loss */
  if (lua_getfield(L, 1, "loss") == LUA_TNIL) {
    lua_pop(L, 1);
    lua_pushliteral(L, "logistic");
  }
  u->lloss = hmL_toloss(L, -1, fn);
  lua_setiuservalue(L, top + 1, 1);
  m->loss = u->lloss->loss;
  lua_settop(L, top + 1);
  return 1;
}

/* ---- parameter access ------------------------------------------------------------------- */

static void push_param_view(lua_State *L, int midx, hm_model *m, int k) {
  size_t dim[2] = {m->rows[k], m->cols[k]};
  hmL_pushview(L, midx, is_vec(k) ? 1 : 2, dim, m->x[k]);
}

static int model_index(lua_State *L) {
  hm_lmodel *u = checkmodel(L, 1, "model.__index");
  hm_model *m = &u->m;
  if (lua_type(L, 2) == LUA_TSTRING) {
    const char *k = lua_tostring(L, 2);
    int s = slot_of(k);
    if (s >= 0) {
      if (!m->x[s]) return lua_pushnil(L), 1;
      push_param_view(L, 1, m, s);
      return 1;
    }
    if (strcmp(k, "d") == 0) return lua_pushinteger(L, (lua_Integer)m->c.d), 1;
    if (strcmp(k, "m") == 0) {
      if (m->c.param == HM_ATT_KQ) lua_pushinteger(L, (lua_Integer)m->c.m);
      else lua_pushnil(L);
      return 1;
    }
    if (strcmp(k, "train") == 0) {
      lua_newtable(L);
      int j = 0;
      for (int q = 0; q < HM_MP_COUNT; q++)
        if (m->x[q] && m->trainable[q]) {
          lua_pushstring(L, hm_model_param_names[q]);
          lua_rawseti(L, -2, ++j);
        }
      return 1;
    }
    if (strcmp(k, "params") == 0) {
      lua_newtable(L);
      int j = 0;
      for (int q = 0; q < HM_MP_COUNT; q++)
        if (m->x[q]) {
          lua_pushstring(L, hm_model_param_names[q]);
          lua_rawseti(L, -2, ++j);
        }
      return 1;
    }
    if (strcmp(k, "loss_fn") == 0) {
      lua_getiuservalue(L, 1, 1);
      return 1;
    }
  }
  luaL_getmetatable(L, HM_MODEL_TNAME);
  lua_getfield(L, -1, "__methods");
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  return 1;
}

static int model_newindex(lua_State *L) {
  const char *fn = "model.__newindex";
  hm_lmodel *u = checkmodel(L, 1, fn);
  hm_model *m = &u->m;
  const char *k = lua_tostring(L, 2);
  int s = k && lua_type(L, 2) == LUA_TSTRING ? slot_of(k) : -1;
  if (s >= 0 && m->x[s]) {
    hm_mat *a = hmL_data_toarray(L, 3, fn, k);
    copy_param(L, m, s, a, fn, k);
    return 0;
  }
  if (k && strcmp(k, "train") == 0) {
    if (!lua_istable(L, 3)) hmL_error(L, fn, "train: array of parameter names expected");
    int tr[HM_MP_COUNT] = {0};
    lua_Integer nt = (lua_Integer)lua_rawlen(L, 3);
    for (lua_Integer j = 1; j <= nt; j++) {
      lua_rawgeti(L, 3, j);
      const char *nm = lua_tostring(L, -1);
      int q = nm && lua_type(L, -1) == LUA_TSTRING ? slot_of(nm) : -1;
      if (q < 0 || !m->x[q]) hmL_error(L, fn, "train: '%s' is not a parameter of this model", nm ? nm : "?");
      tr[q] = 1;
      lua_pop(L, 1);
    }
    memcpy(m->trainable, tr, sizeof tr);
    return 0;
  }
  luaL_Buffer b;
  luaL_tolstring(L, 2, NULL);
  luaL_buffinit(L, &b);
  for (int q = 0, first = 1; q < HM_MP_COUNT; q++)
    if (m->x[q]) {
      if (!first) luaL_addstring(&b, ", ");
      luaL_addstring(&b, hm_model_param_names[q]);
      first = 0;
    }
  luaL_addstring(&b, ", train");
  luaL_pushresult(&b);
  return hmL_error(L, fn, "cannot set field '%s' (settable: %s)", lua_tostring(L, -2),
                   lua_tostring(L, -1));
}

/* ---- methods ----------------------------------------------------------------------------- */

static int model_loss(lua_State *L) {
  hm_lmodel *u = checkmodel(L, 1, "model.loss");
  hm_ldata *d = checkpair(L, u, 2, "model.loss");
  lua_pushnumber(L, run_eval(L, u, &d->ds, 0, "model.loss"));
  return 1;
}

static int model_forward(lua_State *L) {
  const char *fn = "model.forward";
  hm_lmodel *u = checkmodel(L, 1, fn);
  hm_ldata *d = checkpair(L, u, 2, fn);
  run_eval(L, u, &d->ds, 0, fn);
  hm_mat *f = u->m.c.sequence ? hmL_newmat2(L, d->ds.n, d->ds.T, fn) : hmL_newvec(L, d->ds.n, fn);
  memcpy(f->data, u->m.f, f->size * sizeof(double));
  return 1;
}

static int model_probs(lua_State *L) {
  const char *fn = "model.probs";
  hm_lmodel *u = checkmodel(L, 1, fn);
  hm_ldata *d = checkpair(L, u, 2, fn);
  run_eval(L, u, &d->ds, 0, fn);
  size_t n = d->ds.n, T = d->ds.T;
  hm_mat *S = u->m.c.sequence ? hmL_newmat3(L, n, T, T, fn) : hmL_newmat2(L, n, T, fn);
  memcpy(S->data, u->m.S, S->size * sizeof(double));
  return 1;
}

static const char *const grad_opts[] = {"rescaled", NULL};

static int model_grad(lua_State *L) {
  const char *fn = "model.grad";
  hm_lmodel *u = checkmodel(L, 1, fn);
  hm_ldata *d = checkpair(L, u, 2, fn);
  hmL_checkoptions(L, 3, fn, grad_opts);
  int rescaled = hmL_optboolean(L, 3, "rescaled", 0, fn);
  if (rescaled && u->m.loss.kind == HM_LOSS_CUSTOM)
    hmL_error(L, fn, "option 'rescaled' needs a built-in loss (logistic, exponential, correlation)");
  double loss;
  hm_status st = hm_model_eval(&u->m, &d->ds, 1, rescaled, &loss);
  if (st) eval_error(L, u, st, fn);
  hm_model *m = &u->m;
  lua_newtable(L);
  for (int k = 0; k < HM_MP_COUNT; k++) {
    if (!m->x[k] || !m->trainable[k]) continue;
    hm_mat *g = is_vec(k) ? hmL_newvec(L, m->rows[k], fn) : hmL_newmat2(L, m->rows[k], m->cols[k], fn);
    memcpy(g->data, m->g[k], g->size * sizeof(double));
    lua_setfield(L, -2, hm_model_param_names[k]);
  }
  lua_pushnumber(L, loss);
  if (!rescaled) return 2;
  lua_newtable(L);
  for (int k = 0; k < HM_MP_COUNT; k++) {
    if (!m->x[k] || !m->trainable[k]) continue;
    lua_pushnumber(L, m->log_scale[k]);
    lua_setfield(L, -2, hm_model_param_names[k]);
  }
  return 3;
}

static int model_W(lua_State *L) {
  hm_lmodel *u = checkmodel(L, 1, "model.effective_w");
  size_t d = u->m.c.d;
  hm_mat *W = hmL_newmat2(L, d, d, "model.effective_w");
  hm_model_effective_w(&u->m, W->data);
  return 1;
}

static int model_selected(lua_State *L) {
  const char *fn = "model.selected";
  hm_lmodel *u = checkmodel(L, 1, fn);
  hm_ldata *d = checkpair(L, u, 2, fn);
  run_eval(L, u, &d->ds, 0, fn);
  size_t n = d->ds.n, T = d->ds.T;
  const double *A = u->m.A;
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    size_t rows = u->m.c.sequence ? T : 1;
    if (u->m.c.sequence) lua_createtable(L, (int)T, 0);
    for (size_t k = 0; k < rows; k++) {
      const double *a = A + (i * rows + k) * T;
      size_t L2 = (u->m.c.sequence && u->m.c.causal) ? k + 1 : T, best = 0;
      for (size_t t = 1; t < L2; t++)
        if (a[t] > a[best]) best = t;
      lua_pushinteger(L, (lua_Integer)best + 1);
      if (u->m.c.sequence) lua_rawseti(L, -2, (lua_Integer)k + 1);
    }
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

static const char *const gc_opts[] = {"h", NULL};

static int model_gradcheck(lua_State *L) {
  const char *fn = "model.gradcheck";
  hm_lmodel *u = checkmodel(L, 1, fn);
  hm_ldata *d = checkpair(L, u, 2, fn);
  hmL_checkoptions(L, 3, fn, gc_opts);
  double h = hmL_optnumber(L, 3, "h", 1e-6, fn);
  if (!(h > 0) || !isfinite(h)) hmL_error(L, fn, "option 'h': positive step expected");
  double rel[HM_MP_COUNT];
  hm_status s = hm_model_gradcheck(&u->m, &d->ds, h, rel);
  if (s) eval_error(L, u, s, fn);
  lua_newtable(L);
  for (int k = 0; k < HM_MP_COUNT; k++)
    if (u->m.x[k] && u->m.trainable[k]) {
      lua_pushnumber(L, rel[k]);
      lua_setfield(L, -2, hm_model_param_names[k]);
    }
  return 1;
}

static int model_clone(lua_State *L) {
  hm_lmodel *u = checkmodel(L, 1, "model.clone");
  hm_lmodel *w = new_lmodel(L);
  hm_status s = hm_model_copy(&w->m, &u->m);
  if (s) hmL_check(L, "model.clone", s);
  w->lloss = u->lloss;
  lua_getiuservalue(L, 1, 1);
  lua_setiuservalue(L, -2, 1);
  return 1;
}

static const char *const init_opts[] = {"scheme", "std", "rng", "params", NULL};

static int model_init(lua_State *L) {
  const char *fn = "model.init";
  hm_lmodel *u = checkmodel(L, 1, fn);
  hmL_checkoptions(L, 2, fn, init_opts);
  static const char *const schemes[] = {"zeros", "uniform", "normal", NULL};
  int scheme = lua_isnoneornil(L, 2) ? 1 : opt_choice(L, 2, "scheme", schemes, 1, fn);
  double std = lua_isnoneornil(L, 2) ? 1.0 : hmL_optnumber(L, 2, "std", 1.0, fn);
  if (!(std >= 0) || !isfinite(std)) hmL_error(L, fn, "option 'std': finite number >= 0 expected");
  if (!lua_isnoneornil(L, 2) && hmL_optfield(L, 2, "rng") != LUA_TNIL) {
    if (!luaL_testudata(L, -1, HM_RNG_TNAME)) hmL_error(L, fn, "option 'rng': rng expected, got %s", luaL_typename(L, -1));
  }
  hm_rng *g = hmL_optrng(L, lua_gettop(L), fn);
  hm_model *m = &u->m;
  int which[HM_MP_COUNT];
  for (int k = 0; k < HM_MP_COUNT; k++) which[k] = m->x[k] && m->trainable[k];
  if (!lua_isnoneornil(L, 2) && hmL_optfield(L, 2, "params") != LUA_TNIL) {
    if (!lua_istable(L, -1)) hmL_error(L, fn, "option 'params': array of parameter names expected");
    memset(which, 0, sizeof which);
    lua_Integer nt = (lua_Integer)lua_rawlen(L, -1);
    for (lua_Integer j = 1; j <= nt; j++) {
      lua_rawgeti(L, -1, j);
      const char *nm = lua_tostring(L, -1);
      int q = nm && lua_type(L, -1) == LUA_TSTRING ? slot_of(nm) : -1;
      if (q < 0 || !m->x[q]) hmL_error(L, fn, "option 'params': '%s' is not a parameter of this model", nm ? nm : "?");
      which[q] = 1;
      lua_pop(L, 1);
    }
  }
  double bound = 1.0 / sqrt((double)m->c.d);
  for (int k = 0; k < HM_MP_COUNT; k++) {
    if (!which[k]) continue;
    size_t sz = m->rows[k] * m->cols[k];
    double *x = m->x[k];
    for (size_t j = 0; j < sz; j++) {
      if (scheme == 0) x[j] = 0.0;
      else if (scheme == 1) x[j] = (2.0 * hm_rng_uniform(g) - 1.0) * bound;
      else x[j] = std * hm_rng_normal(g);
    }
  }
  lua_settop(L, 1);
  return 1;
}

static int model_diagnostics(lua_State *L) {
  const char *fn = "model.diagnostics";
  hm_lmodel *u = checkmodel(L, 1, fn);
  hm_ldata *d = checkpair(L, u, 2, fn);
  double loss = run_eval(L, u, &d->ds, 1, fn);
  lua_createtable(L, 0, 3);
  lua_pushnumber(L, u->m.min_logit_gap);
  lua_setfield(L, -2, "min_logit_gap");
  lua_pushinteger(L, u->m.grad_underflow);
  lua_setfield(L, -2, "grad_underflow");
  lua_pushnumber(L, loss);
  lua_setfield(L, -2, "loss");
  return 1;
}

static int model_tostring(lua_State *L) {
  hm_lmodel *u = checkmodel(L, 1, "model.__tostring");
  const hm_model_config *c = &u->m.c;
  static const char *const pn[] = {"W", "KQ", "p"}, *const hn[] = {"linear", "relu", "lambda"};
  static const char *const qn[] = {"cross", "self", "prompt"};
  lua_pushfstring(L, "model(param=%s, d=%d, head=%s, query=%s%s, loss=%s)", pn[c->param], (int)c->d,
                  hn[c->head], c->sequence ? "all" : qn[c->query],
                  c->sequence ? (c->causal ? ", sequence causal" : ", sequence full") : "",
                  hm_loss_name(u->m.loss.kind));
  return 1;
}

/* Head values psi(x_it) (unsigned) for the model's head (used by data.scores/optimal). */
int hmL_model_scores(lua_State *L, int model_idx, const hm_dataset *ds, double *gamma);
int hmL_model_scores(lua_State *L, int model_idx, const hm_dataset *ds, double *gamma) {
  hm_lmodel *u = checkmodel(L, model_idx, "data.scores");
  if (u->m.c.d != ds->d)
    hmL_error(L, "data.scores", "model has d=%d but the dataset has d=%d", (int)u->m.c.d, (int)ds->d);
  for (size_t i = 0; i < ds->n; i++)
    for (size_t t = 0; t < ds->T; t++)
      gamma[i * ds->T + t] = hm_model_head(&u->m, ds->X + (i * ds->T + t) * ds->d);
  return 0;
}

/* ---- the objective for optimizers ------------------------------------------------------- */

/* A custom Lua loss runs in the thread of the objective's caller: a callback of that caller
 * may meanwhile have evaluated a model sharing the loss object from another coroutine. */
static void bind_loss(hm_lmodel *u) {
  if (u->lloss) u->lloss->L = u->obj_L;
}

static hm_status obj_eval(void *ctx, int want_grad, double *loss) {
  hm_lmodel *u = (hm_lmodel *)ctx;
  bind_loss(u);
  for (int k = 0; k < u->obj.nparam; k++) u->m.trainable[u->obj_slot[k]] = u->params[k].trainable;
  u->m.data_token = 1; /* the objective's dataset is fixed until the next hmL_model_objective */
  hm_status s = hm_model_eval(&u->m, u->obj_ds, want_grad, u->obj_mode, loss);
  for (int k = 0; k < u->obj.nparam; k++) u->obj_scale[k] = u->m.log_scale[u->obj_slot[k]];
  u->obj.min_logit_gap = u->m.min_logit_gap;
  u->obj.grad_underflow = u->m.grad_underflow;
  u->obj.eval_probs = s == HM_OK ? u->m.S : NULL; /* the forward pass is the same in every mode */
  return s;
}

static hm_status obj_effw(void *ctx, double *W) {
  hm_lmodel *u = (hm_lmodel *)ctx;
  return hm_model_effective_w(&u->m, W);
}

static hm_status obj_probs(void *ctx, double *S) {
  hm_lmodel *u = (hm_lmodel *)ctx;
  double loss;
  bind_loss(u);
  u->m.data_token = 1;
  hm_status s = hm_model_eval(&u->m, u->obj_ds, 0, 0, &loss);
  if (s) return s;
  memcpy(S, u->m.S, u->obj.probs_size * sizeof(double));
  return HM_OK;
}

hm_objective *hmL_model_objective(lua_State *L, int model_idx, int data_idx, const char *fn) {
  if (hmL_ntp_is_model(L, model_idx)) return hmL_ntp_objective(L, model_idx, data_idx, fn);
  hm_lmodel *u = checkmodel(L, model_idx, fn);
  hm_ldata *d = checkpair(L, u, data_idx, fn);
  hm_model *m = &u->m;
  hm_objective *o = &u->obj;
  memset(o, 0, sizeof *o);
  int np = 0;
  for (int k = 0; k < HM_MP_COUNT; k++) {
    if (!m->x[k]) continue;
    u->obj_slot[np] = k;
    hm_param *p = &u->params[np++];
    p->name = hm_model_param_names[k];
    p->x = m->x[k];
    p->grad = m->g[k];
    p->rows = m->rows[k];
    p->cols = m->cols[k];
    p->size = p->rows * p->cols;
    p->trainable = m->trainable[k];
  }
  u->obj_ds = &d->ds;
  m->gv_token = 0; /* cached data products belong to the previous objective's dataset */
  u->obj_L = L;
  o->ctx = u;
  o->nparam = np;
  o->param = u->params;
  o->eval = obj_eval;
  o->effective_w = obj_effw;
  o->w_size = m->c.d * m->c.d;
  o->probs = obj_probs;
  o->n = d->ds.n;
  o->T = d->ds.T;
  o->probs_size = m->c.sequence ? d->ds.n * d->ds.T * d->ds.T : d->ds.n * d->ds.T;
  o->loss_inf = hm_model_loss_inf(m, &d->ds); /* Polyak's L_* and regpath's excess loss */
  o->min_logit_gap = NAN;
  o->grad_underflow = 0;
  u->obj_mode = 0;
  for (int k = 0; k < HM_MP_COUNT; k++) u->obj_scale[k] = 0.0;
  return o;
}

int hmL_model_objective_rescale(hm_objective *o, int on, const double **log_scale) {
  if (hmL_ntp_is_objective(o)) return !on; /* exact gradients only */
  hm_lmodel *u = (hm_lmodel *)o->ctx;
  if (on && u->m.loss.kind == HM_LOSS_CUSTOM) return 0;
  u->obj_mode = on ? 1 : 0;
  if (log_scale) *log_scale = u->obj_scale;
  return 1;
}

static const luaL_Reg meta[] = {{"__index", model_index},
                                {"__newindex", model_newindex},
                                {"__gc", model_gc},
                                {"__tostring", model_tostring},
                                {NULL, NULL}};
static const luaL_Reg methods[] = {
  {"forward", model_forward}, {"probs", model_probs},       {"loss", model_loss},
  {"grad", model_grad},       {"effective_w", model_W},               {"selected", model_selected},
  {"gradcheck", model_gradcheck}, {"clone", model_clone},   {"init", model_init},
  {"diagnostics", model_diagnostics}, {NULL, NULL}};
static const luaL_Reg funcs[] = {{"attention", model_attention}, {NULL, NULL}};

int luaopen_hardmax_model(lua_State *L) {
  luaL_newmetatable(L, HM_MODEL_TNAME);
  luaL_setfuncs(L, meta, 0);
  luaL_setfuncs(L, methods, 0); /* also in the metatable: the REPL completer lists it */
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__methods");
  lua_pushstring(L, HM_MODEL_TNAME);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  hmL_ntp_open_model(L);
  return 1;
}
