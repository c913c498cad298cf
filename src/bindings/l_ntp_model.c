/* model.ntp (docs/ntp.md §1, §2, §10): the one-layer self-attention NTP model with parameter W
 * or (K, Q) and loss "nll" or "lsq2", its methods, and its hm_objective for optim.train /
 * opt:step (dispatched from hmL_model_objective). Numerics in hm_ntp.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hm_ldata.h"
#include "hm_lmodel.h"
#include "hm_lntp.h"
#include "hm_lsvm.h"
#include "hm_lsvm_args.h"

#define HM_NTP_TNAME "hardmax.ntp_model"

/* ---- the model ------------------------------------------------------------------------- */

typedef struct ntp_model {
  size_t d, m;
  int kq;             /* 0: parameter W; 1: W = K Q^T */
  int loss;           /* HM_NTP_NLL or HM_NTP_LSQ2 */
  double *x[2];       /* parameter data: W (kq = 0) or K, Q; alias the mats in user values 1, 2 */
  double *g[2];       /* gradients (owned) */
  double *W, *GW;     /* kq: effective W and dL/dW scratch (owned); kq = 0: W = x[0], GW = g[0] */
  double *S;          /* n x T softmax of the last evaluation */
  size_t S_cap;
  ntp_buf data;       /* the objective's dataset (optim.train, opt:step) */
  ntp_buf mdata;      /* the methods' dataset: m:loss(ds) in a training callback must not
                         change the dataset of the run in progress */
  hm_objective obj, mobj; /* the objective, and the methods' one (m:gradcheck) */
  hm_param param[2];
} ntp_model;

static const char *const param_names[2][2] = {{"W", NULL}, {"K", "Q"}};

static ntp_model *check_ntp(lua_State *L, int idx, const char *fn) {
  ntp_model *u = (ntp_model *)luaL_testudata(L, idx, HM_NTP_TNAME);
  if (!u) hmL_argerror(L, fn, idx, "NTP model expected, got %s", luaL_typename(L, idx));
  return u;
}

static int ntp_gc(lua_State *L) {
  ntp_model *u = (ntp_model *)luaL_testudata(L, 1, HM_NTP_TNAME);
  if (u) {
    free(u->g[0]);
    free(u->g[1]);
    if (u->kq) {
      free(u->W);
      free(u->GW);
    }
    free(u->S);
    hmL_ntp_buf_free(&u->data);
    hmL_ntp_buf_free(&u->mdata);
    memset(u->g, 0, sizeof u->g);
    u->W = u->GW = u->S = NULL;
  }
  return 0;
}

/* Bind the dataset at idx into buf (checked against the model's d); the objective's also
 * sizes S. */
static void bind_data(lua_State *L, ntp_model *u, ntp_buf *buf, int idx, const char *fn, int argn) {
  hmL_ntp_read(L, idx, fn, argn, buf);
  if (buf->d != u->d)
    hmL_argerror(L, fn, argn, "NTP dataset has d = %d, the model d = %d", (int)buf->d, (int)u->d);
  size_t need = buf->n * buf->T;
  if (buf == &u->data && need > u->S_cap) {
    double *S = realloc(u->S, need * sizeof *S);
    if (!S) hmL_check(L, fn, HM_ENOMEM);
    u->S = S;
    u->S_cap = need;
  }
}

static size_t psize(const ntp_model *u) { return u->kq ? u->d * u->m : u->d * u->d; }

/* Loss (and gradients into g[]) at the current parameters on the dataset buf. */
static hm_status eval_model(ntp_model *u, const ntp_buf *buf, int want_grad, double *loss,
                            double *S, double *gap) {
  hm_ntp_data D = {buf->n, buf->T, buf->K, buf->d, buf->E, buf->tok, buf->lab, NULL, NULL, u->loss};
  if (!u->kq) return hm_ntp_loss(&D, u->x[0], loss, want_grad ? u->g[0] : NULL, S, gap);
  return hm_ntp_loss_kq(&D, u->x[0], u->x[1], u->m, loss, want_grad ? u->g[0] : NULL,
                        want_grad ? u->g[1] : NULL, S, gap, u->W, u->GW);
}

/* U(-1/sqrt(d), 1/sqrt(d)) entries (PyTorch's nn.Linear default, fan-in d) */
static void init_uniform(hm_rng *g, double *x, size_t size, size_t d) {
  double a = 1.0 / sqrt((double)d);
  for (size_t j = 0; j < size; j++) x[j] = a * (2 * hm_rng_uniform(g) - 1);
}

/* Copy the array at stack idx into the parameter slot k (shape checked). */
static void set_param(lua_State *L, ntp_model *u, int k, int idx, const char *fn, const char *what) {
  svm_arr a;
  hmL_svm_checkarr(L, idx, fn, idx, what, &a);
  size_t r = u->d, c = u->kq ? u->m : u->d;
  if (a.rank != 2 || a.dim[0] != r || a.dim[1] != c)
    hmL_error(L, fn, "%s: %dx%d matrix expected", what, (int)r, (int)c);
  hmL_svm_finite(L, &a, fn, what);
  memmove(u->x[k], a.data, r * c * sizeof(double));
}

/* model.ntp{d=, param="W"|"KQ", m=d, W=, K=, Q=, loss="nll"|"lsq2", init="zero"|"uniform", seed=|rng=} */
static int model_ntp(lua_State *L) {
  const char *fn = "model.ntp";
  static const char *const keys[] = {"d", "param", "m", "W", "K", "Q", "loss", "init", "seed", "rng", NULL};
  if (!lua_istable(L, 1)) hmL_argerror(L, fn, 1, "options table expected, got %s", luaL_typename(L, 1));
  lua_settop(L, 1);
  hmL_checkoptions(L, 1, fn, keys);
  lua_Integer d = hmL_optinteger(L, 1, "d", 0, fn);
  if (d < 1 || d > 100000) hmL_error(L, fn, "option 'd' (token dimension >= 1) required");
  const char *par = hmL_optstring(L, 1, "param", "W", fn);
  int kq = strcmp(par, "KQ") == 0;
  if (!kq && strcmp(par, "W") != 0) hmL_error(L, fn, "option 'param': \"W\" or \"KQ\" expected, got \"%s\"", par);
  lua_Integer mm = hmL_optinteger(L, 1, "m", d, fn);
  if (mm < 1 || mm > 100000) hmL_error(L, fn, "option 'm' (inner dimension of K, Q) must be >= 1");
  const char *lname = hmL_optstring(L, 1, "loss", "nll", fn);
  int lk = strcmp(lname, "nll") == 0 ? HM_NTP_NLL : strcmp(lname, "lsq2") == 0 ? HM_NTP_LSQ2 : -1;
  if (lk < 0) hmL_error(L, fn, "option 'loss': \"nll\" or \"lsq2\" expected, got \"%s\"", lname);
  const char *init = hmL_optstring(L, 1, "init", kq ? "uniform" : "zero", fn);
  if (strcmp(init, "zero") != 0 && strcmp(init, "uniform") != 0)
    hmL_error(L, fn, "option 'init': \"zero\" or \"uniform\" expected, got \"%s\"", init);
  if (kq && strcmp(init, "zero") == 0)
    hmL_error(L, fn, "init = \"zero\" is a stationary point of the (K, Q) model (zero gradient)");
  ntp_model *u = (ntp_model *)lua_newuserdatauv(L, sizeof *u, 2);
  memset(u, 0, sizeof *u);
  luaL_setmetatable(L, HM_NTP_TNAME);
  int ui = lua_gettop(L);
  u->d = (size_t)d;
  u->m = (size_t)mm;
  u->kq = kq;
  u->loss = lk;
  size_t ps = psize(u), np = kq ? 2 : 1;
  for (size_t k = 0; k < np; k++) {
    u->g[k] = calloc(ps, sizeof(double));
    if (!u->g[k]) hmL_check(L, fn, HM_ENOMEM);
  }
  if (kq) {
    u->W = calloc(u->d * u->d, sizeof *u->W);
    u->GW = calloc(u->d * u->d, sizeof *u->GW);
    if (!u->W || !u->GW) hmL_check(L, fn, HM_ENOMEM);
  }
  for (size_t k = 0; k < np; k++) {
    hm_mat *P = hmL_newmat2(L, u->d, kq ? u->m : u->d, fn);
    u->x[k] = P->data;
    lua_setiuservalue(L, ui, (int)k + 1);
  }
  if (!kq) u->W = u->x[0], u->GW = u->g[0];
  if (strcmp(init, "uniform") == 0) {
    hm_rng local;
    int has_seed;
    lua_Integer seed;
    hm_rng *g = hmL_data_optrng(L, 1, fn, &local, &has_seed, &seed);
    for (size_t k = 0; k < np; k++) init_uniform(g, u->x[k], ps, u->d);
  }
  for (size_t k = 0; k < np; k++) {
    if (hmL_optfield(L, 1, param_names[kq][k]) != LUA_TNIL) {
      char what[32];
      snprintf(what, sizeof what, "option %s", param_names[kq][k]);
      set_param(L, u, (int)k, lua_gettop(L), fn, what);
    }
    lua_pop(L, 1);
  }
  if (hmL_optfield(L, 1, kq ? "W" : "K") != LUA_TNIL)
    hmL_error(L, fn, kq ? "option 'W' belongs to param = \"W\" (give K and Q)" : "options K, Q need param = \"KQ\"");
  lua_settop(L, ui);
  return 1;
}

static int ntp_effw(lua_State *L);

static int ntp_index(lua_State *L) {
  ntp_model *u = check_ntp(L, 1, "model.ntp");
  const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
  if (!k) return lua_pushnil(L), 1;
  for (int j = 0; j < 1 + u->kq; j++)
    if (strcmp(k, param_names[u->kq][j]) == 0) return lua_getiuservalue(L, 1, j + 1), 1;
  if (strcmp(k, "W") == 0) { /* (K, Q): the effective K Q^T, a fresh mat */
    lua_settop(L, 1);
    return ntp_effw(L);
  }
  if (strcmp(k, "d") == 0) return lua_pushinteger(L, (lua_Integer)u->d), 1;
  if (strcmp(k, "param") == 0) return lua_pushstring(L, u->kq ? "KQ" : "W"), 1;
  if (strcmp(k, "loss_kind") == 0) return lua_pushstring(L, u->loss == HM_NTP_LSQ2 ? "lsq2" : "nll"), 1;
  luaL_getmetafield(L, 1, "__methods");
  lua_getfield(L, -1, k);
  return 1;
}

static int ntp_newindex(lua_State *L) {
  const char *fn = "model.ntp";
  ntp_model *u = check_ntp(L, 1, fn);
  const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?";
  for (int j = 0; j < 1 + u->kq; j++)
    if (strcmp(k, param_names[u->kq][j]) == 0) {
      set_param(L, u, j, 3, fn, k);
      return 0;
    }
  return hmL_error(L, fn, "field '%s' cannot be assigned (parameters: %s)", k, u->kq ? "K, Q" : "W");
}

static int ntp_tostring(lua_State *L) {
  ntp_model *u = check_ntp(L, 1, "model.ntp");
  if (u->kq) lua_pushfstring(L, "ntp model (d = %d, W = K Q^T, m = %d)", (int)u->d, (int)u->m);
  else lua_pushfstring(L, "ntp model (d = %d, parameter W)", (int)u->d);
  return 1;
}

static void eval_check(lua_State *L, const char *fn, hm_status st) {
  if (st == HM_ENONFINITE) hmL_error(L, fn, "loss or gradient is not finite (a parameter contains NaN or Inf?)");
  hmL_check(L, fn, st);
}

static int ntp_loss(lua_State *L) {
  const char *fn = "ntp:loss";
  ntp_model *u = check_ntp(L, 1, fn);
  bind_data(L, u, &u->mdata, 2, fn, 2);
  double loss;
  eval_check(L, fn, eval_model(u, &u->mdata, 0, &loss, NULL, NULL));
  lua_pushnumber(L, loss);
  return 1;
}

/* ntp:grad(ds) -> loss, G (W) | loss, {K = GK, Q = GQ} */
static int ntp_grad(lua_State *L) {
  const char *fn = "ntp:grad";
  ntp_model *u = check_ntp(L, 1, fn);
  bind_data(L, u, &u->mdata, 2, fn, 2);
  double loss;
  eval_check(L, fn, eval_model(u, &u->mdata, 1, &loss, NULL, NULL));
  lua_pushnumber(L, loss);
  if (!u->kq) {
    hm_mat *G = hmL_newmat2(L, u->d, u->d, fn);
    memcpy(G->data, u->g[0], u->d * u->d * sizeof(double));
    return 2;
  }
  lua_createtable(L, 0, 2);
  for (int k = 0; k < 2; k++) {
    hm_mat *G = hmL_newmat2(L, u->d, u->m, fn);
    memcpy(G->data, u->g[k], psize(u) * sizeof(double));
    lua_setfield(L, -2, param_names[1][k]);
  }
  return 2;
}

static int ntp_probs(lua_State *L) {
  const char *fn = "ntp:probs";
  ntp_model *u = check_ntp(L, 1, fn);
  bind_data(L, u, &u->mdata, 2, fn, 2);
  double loss;
  hm_mat *S = hmL_newmat2(L, u->mdata.n, u->mdata.T, fn);
  eval_check(L, fn, eval_model(u, &u->mdata, 0, &loss, S->data, NULL));
  return 1;
}

int hmL_ntp_gradcheck(lua_State *L, const char *fn) {
  static const char *const keys[] = {"h", NULL};
  hmL_checkoptions(L, 3, fn, keys);
  double h = hmL_optnumber(L, 3, "h", 1e-6, fn), worst;
  if (!(h > 0)) hmL_error(L, fn, "option 'h' must be positive");
  eval_check(L, fn, hm_objective_gradcheck(hmL_ntp_method_objective(L, 1, 2, fn), h, &worst));
  lua_pushnumber(L, worst);
  return 1;
}

static int ntp_gradcheck(lua_State *L) {
  check_ntp(L, 1, "ntp:gradcheck");
  return hmL_ntp_gradcheck(L, "ntp:gradcheck");
}

/* The effective W (d x d) into out: W itself, or K Q^T. */
static void effective_w(const ntp_model *u, double *out) {
  if (!u->kq) {
    memcpy(out, u->x[0], u->d * u->d * sizeof *out);
    return;
  }
  for (size_t i = 0; i < u->d; i++)
    for (size_t j = 0; j < u->d; j++) {
      double s = 0;
      for (size_t q = 0; q < u->m; q++) s += u->x[0][i * u->m + q] * u->x[1][j * u->m + q];
      out[i * u->d + j] = s;
    }
}

static int ntp_effw(lua_State *L) {
  const char *fn = "ntp:effective_w";
  ntp_model *u = check_ntp(L, 1, fn);
  hm_mat *W = hmL_newmat2(L, u->d, u->d, fn);
  effective_w(u, W->data);
  return 1;
}

/* objectives: the run's (data, probabilities recorded) and the methods' (mdata) */
static hm_status obj_eval(void *ctx, int want_grad, double *loss) {
  ntp_model *u = (ntp_model *)ctx;
  double gap = NAN;
  hm_status st = eval_model(u, &u->data, want_grad, loss, u->S, &gap);
  u->obj.min_logit_gap = gap;
  u->obj.eval_probs = st == HM_OK ? u->S : NULL;
  return st;
}

static hm_status mobj_eval(void *ctx, int want_grad, double *loss) {
  ntp_model *u = (ntp_model *)ctx;
  return eval_model(u, &u->mdata, want_grad, loss, NULL, NULL);
}

static hm_status obj_effw(void *ctx, double *W) {
  effective_w((const ntp_model *)ctx, W);
  return HM_OK;
}

static hm_status obj_probs(void *ctx, double *S) {
  double loss;
  ntp_model *u = (ntp_model *)ctx;
  return eval_model(u, &u->data, 0, &loss, S, NULL);
}

int hmL_ntp_is_model(lua_State *L, int idx) {
  return luaL_testudata(L, idx, HM_NTP_TNAME) != NULL || hmL_ntps_is_model(L, idx);
}

int hmL_ntp_is_objective(const hm_objective *o) {
  return o->eval == obj_eval || hmL_ntps_is_objective(o);
}

/* Fill o over the model's parameters (one shared set: both objectives see the same W). */
static void fill_objective(ntp_model *u, hm_objective *o, hm_status (*eval)(void *, int, double *),
                           const ntp_buf *buf) {
  memset(o, 0, sizeof *o);
  for (int k = 0; k < 1 + u->kq; k++) {
    hm_param *p = &u->param[k];
    p->name = param_names[u->kq][k];
    p->x = u->x[k];
    p->grad = u->g[k];
    p->rows = u->d;
    p->cols = u->kq ? u->m : u->d;
    p->size = psize(u);
    p->trainable = 1;
  }
  o->ctx = u;
  o->nparam = 1 + u->kq;
  o->param = u->param;
  o->eval = eval;
  o->effective_w = obj_effw;
  o->w_size = u->d * u->d;
  o->probs = obj_probs;
  o->n = buf->n;
  o->T = buf->T;
  o->probs_size = buf->n * buf->T;
  o->loss_inf = NAN; /* 0 is approached only when every label can win outright */
  o->min_logit_gap = NAN;
}

hm_objective *hmL_ntp_objective(lua_State *L, int model_idx, int data_idx, const char *fn) {
  if (hmL_ntps_is_model(L, model_idx)) return hmL_ntps_objective(L, model_idx, data_idx, fn);
  ntp_model *u = check_ntp(L, model_idx, fn);
  bind_data(L, u, &u->data, data_idx, fn, data_idx);
  fill_objective(u, &u->obj, obj_eval, &u->data);
  return &u->obj;
}

hm_objective *hmL_ntp_method_objective(lua_State *L, int model_idx, int data_idx, const char *fn) {
  if (hmL_ntps_is_model(L, model_idx)) return hmL_ntps_method_objective(L, model_idx, data_idx, fn);
  ntp_model *u = check_ntp(L, model_idx, fn);
  bind_data(L, u, &u->mdata, data_idx, fn, data_idx);
  fill_objective(u, &u->mobj, mobj_eval, &u->mdata);
  u->mobj.probs = NULL; /* only eval is used (m:gradcheck) */
  return &u->mobj;
}

/* ---- registration ---------------------------------------------------------------------- */

void hmL_ntp_open_model(lua_State *L) {
  static const luaL_Reg meta[] = {{"__index", ntp_index}, {"__newindex", ntp_newindex},
                                  {"__gc", ntp_gc}, {"__tostring", ntp_tostring}, {NULL, NULL}};
  static const luaL_Reg methods[] = {{"loss", ntp_loss}, {"grad", ntp_grad}, {"probs", ntp_probs},
                                     {"gradcheck", ntp_gradcheck}, {"effective_w", ntp_effw},
                                     {NULL, NULL}};
  luaL_newmetatable(L, HM_NTP_TNAME);
  luaL_setfuncs(L, meta, 0);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__methods");
  lua_pushstring(L, HM_NTP_TNAME);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  lua_pushcfunction(L, model_ntp);
  lua_setfield(L, -2, "ntp");
  hmL_ntps_open_model(L);
}
