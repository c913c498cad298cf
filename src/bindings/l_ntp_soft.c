/* Linear next-token prediction with soft labels (docs/ntp.md §9): data.ntp_soft,
 * svm.ntp_soft (NTP-SVM, W*, basis of F) and model.ntp_soft (decoder W, an objective for
 * optim.train). Numerics in hm_ntp_soft.c. A dataset is a table {H = m x d, P = m x V,
 * pi = m}. Registered through l_ntp.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hm_ldata.h"
#include "hm_lmodel.h"
#include "hm_lntp.h"
#include "hm_lsvm.h"
#include "hm_lsvm_args.h"
#include "hm_ntp_soft.h"
#include "hm_svm.h"

#define HM_NTPS_TNAME "hardmax.ntp_soft_model"

typedef struct ntps_buf {
  size_t m, d, V;
  double *H, *P, *pi;
} ntps_buf;

static void ntps_free(ntps_buf *b) {
  free(b->H);
  free(b->P);
  free(b->pi);
  memset(b, 0, sizeof *b);
}

static const double *ntps_field(lua_State *L, int idx, const char *key, int rank, size_t *dim,
                                const char *fn, int argn) {
  lua_getfield(L, idx, key);
  svm_arr a;
  char what[64];
  snprintf(what, sizeof what, "field %s", key);
  if (!hmL_svm_toarr(L, lua_gettop(L), fn, what, &a))
    hmL_argerror(L, fn, argn, "soft NTP dataset field '%s': mat or table expected, got %s", key,
                 luaL_typename(L, -1));
  if (rank == 1 && a.rank == 1) {
    dim[0] = a.dim[0];
  } else if (rank == 2 && a.rank == 2) {
    dim[0] = a.dim[0];
    dim[1] = a.dim[1];
  } else {
    hmL_argerror(L, fn, argn, "soft NTP dataset field '%s': rank-%d array expected", key, rank);
  }
  return a.data; /* the value stays on the stack */
}

/* The table at idx into b (malloc'd copies), checked. */
static void read_soft(lua_State *L, int idx, const char *fn, int argn, ntps_buf *b) {
  if (!lua_istable(L, idx))
    hmL_argerror(L, fn, argn, "soft NTP dataset table {H=, P=, pi=} expected, got %s",
                 luaL_typename(L, idx));
  int top = lua_gettop(L);
  size_t dh[2], dp[2], dq[1];
  const double *H = ntps_field(L, idx, "H", 2, dh, fn, argn);
  const double *P = ntps_field(L, idx, "P", 2, dp, fn, argn);
  const double *pi = ntps_field(L, idx, "pi", 1, dq, fn, argn);
  if (dp[0] != dh[0] || dq[0] != dh[0])
    hmL_argerror(L, fn, argn, "soft NTP dataset: H has %d rows, P %d, pi %d (one per context)",
                 (int)dh[0], (int)dp[0], (int)dq[0]);
  size_t m = dh[0], d = dh[1], V = dp[1];
  ntps_buf nb = {m, d, V, malloc((m * d > 0 ? m * d : 1) * sizeof(double)),
                 malloc((m * V > 0 ? m * V : 1) * sizeof(double)), malloc((m ? m : 1) * sizeof(double))};
  if (!nb.H || !nb.P || !nb.pi) {
    ntps_free(&nb);
    hmL_check(L, fn, HM_ENOMEM);
  }
  memcpy(nb.H, H, m * d * sizeof(double));
  memcpy(nb.P, P, m * V * sizeof(double));
  memcpy(nb.pi, pi, m * sizeof(double));
  lua_settop(L, top);
  hm_ntps_data D = {m, d, V, nb.H, nb.P, nb.pi};
  char msg[160];
  if (hm_ntps_check(&D, msg) != HM_OK) {
    ntps_free(&nb);
    hmL_argerror(L, fn, argn, "soft NTP dataset: %s", msg);
  }
  ntps_free(b);
  *b = nb;
}

/* data.ntp_soft{n=5000, m=50, d=60, V=10, support=6, seed=|rng=} */
static int data_ntp_soft(lua_State *L) {
  const char *fn = "data.ntp_soft";
  static const char *const keys[] = {"n", "m", "d", "V", "support", "seed", "rng", NULL};
  if (!lua_istable(L, 1)) hmL_argerror(L, fn, 1, "options table expected, got %s", luaL_typename(L, 1));
  lua_settop(L, 1);
  hmL_checkoptions(L, 1, fn, keys);
  lua_Integer n = hmL_optinteger(L, 1, "n", 5000, fn), m = hmL_optinteger(L, 1, "m", 50, fn);
  lua_Integer d = hmL_optinteger(L, 1, "d", 60, fn), V = hmL_optinteger(L, 1, "V", 10, fn);
  lua_Integer k = hmL_optinteger(L, 1, "support", 6, fn);
  if (n < 0 || m < 1 || d < 1 || V < 1 || k < 1 || k > V || n > 100000000 || m > 100000000 ||
      d > 100000000 || V > 100000 || m * d > 100000000 || m * V > 100000000)
    hmL_error(L, fn, "need n >= 0, m, d, V >= 1 and 1 <= support <= V (got n=%I m=%I d=%I V=%I support=%I)",
              n, m, d, V, k);
  hm_rng local;
  int has_seed;
  lua_Integer seed;
  hm_rng *g = hmL_data_optrng(L, 1, fn, &local, &has_seed, &seed);
  lua_newtable(L);
  int out = lua_gettop(L);
  hm_mat *H = hmL_newmat2(L, (size_t)m, (size_t)d, fn);
  lua_setfield(L, out, "H");
  hm_mat *P = hmL_newmat2(L, (size_t)m, (size_t)V, fn);
  lua_setfield(L, out, "P");
  hm_mat *pi = hmL_newvec(L, (size_t)m, fn);
  lua_setfield(L, out, "pi");
  hmL_check(L, fn, hm_ntps_generate(g, (size_t)n, (size_t)m, (size_t)d, (size_t)V, (size_t)k,
                                    H->data, P->data, pi->data));
  hm_ntps_data D = {(size_t)m, (size_t)d, (size_t)V, H->data, P->data, pi->data};
  lua_pushnumber(L, hm_ntps_entropy(&D)), lua_setfield(L, out, "entropy");
  lua_pushinteger(L, n), lua_setfield(L, out, "n");
  lua_pushinteger(L, m), lua_setfield(L, out, "m");
  lua_pushinteger(L, d), lua_setfield(L, out, "d");
  lua_pushinteger(L, V), lua_setfield(L, out, "V");
  lua_pushinteger(L, k), lua_setfield(L, out, "support");
  lua_settop(L, out);
  return 1;
}

/* svm.ntp_soft(ds, {tol, max_iter, method, form, support_tol}) */
static int svm_ntp_soft(lua_State *L) {
  const char *fn = "svm.ntp_soft";
  static const char *const allowed[] = {HM_LSVM_COMMON_OPTS, "working_set", NULL};
  hmL_svm_enter(L, fn, 2, allowed);
  ntps_buf nb;
  memset(&nb, 0, sizeof nb);
  read_soft(L, 1, fn, 1, &nb);
  size_t m = nb.m, d = nb.d, V = nb.V, N = V * d, mr = 0;
  double *H = hmL_svm_scratch(L, m * d * sizeof *H), *P = hmL_svm_scratch(L, m * V * sizeof *P);
  double *pi = hmL_svm_scratch(L, m * sizeof *pi);
  memcpy(H, nb.H, m * d * sizeof *H);
  memcpy(P, nb.P, m * V * sizeof *P);
  memcpy(pi, nb.pi, m * sizeof *pi);
  ntps_free(&nb);
  hm_ntps_data D = {m, d, V, H, P, pi};
  svm_sopts so;
  hmL_svm_getsopts(L, 2, fn, &so);
  size_t cap = hm_ntps_nrows(&D) + 1;
  double *F = hmL_svm_scratch(L, cap * N * sizeof *F), *b = hmL_svm_scratch(L, cap * sizeof *b);
  double *c = hmL_svm_scratch(L, cap * sizeof *c);
  unsigned char *eq = hmL_svm_scratch(L, cap);
  size_t *ctx = hmL_svm_scratch(L, cap * sizeof *ctx), *tok = hmL_svm_scratch(L, cap * sizeof *tok);
  size_t *oth = hmL_svm_scratch(L, cap * sizeof *oth);
  hmL_check(L, fn, hm_ntps_rows(&D, F, b, eq, c, ctx, tok, oth, &mr));
  size_t ne = 0;
  for (size_t k = 0; k < mr; k++) ne += eq[k];
  hm_mat *xm = hmL_newmat2(L, V, d, fn);
  svm_out o;
  hmL_svm_outputs(L, fn, xm, mr, mr, &o);
  hm_vcons vc = {mr, N, 0, F, b, ne ? eq : NULL};
  hmL_check(L, fn, hm_svm_qp_vec(&vc, &so.o, &o.r));
  svm_rowinfo ri = {0, mr, 1, NULL, NULL, NULL};
  hmL_svm_push_result(L, "W", o.xi, o.li, o.fi, &o.r, o.mg, b, mr, &ri, so.support_tol);
  int res = lua_gettop(L);
  lua_pushnumber(L, o.r.eq_residual), lua_setfield(L, res, "eq_residual");
  lua_pushinteger(L, (lua_Integer)ne), lua_setfield(L, res, "n_eq");
  lua_pushinteger(L, (lua_Integer)(mr - ne)), lua_setfield(L, res, "n_ineq");
  lua_newtable(L);
  hmL_svm_push_int_array(L, ctx, mr);
  lua_setfield(L, -2, "context");
  hmL_svm_push_int_array(L, tok, mr);
  lua_setfield(L, -2, "token");
  hmL_svm_push_int_array(L, oth, mr);
  lua_setfield(L, -2, "other");
  lua_setfield(L, res, "rows");
  double *B = hmL_svm_scratch(L, (m * V < N ? m * V : N) * N * sizeof *B);
  hm_mat *Ws = hmL_newmat2(L, V, d, fn);
  double resid = 0;
  size_t r = 0;
  hmL_check(L, fn, hm_ntps_wstar(&D, Ws->data, &resid, B, &r));
  lua_setfield(L, res, "W_star");
  lua_pushnumber(L, resid), lua_setfield(L, res, "star_residual");
  hm_mat *Fb = hmL_newmat3(L, r, V, d, fn);
  memcpy(Fb->data, B, r * N * sizeof *B);
  lua_setfield(L, res, "F_basis");
  lua_pushinteger(L, (lua_Integer)r), lua_setfield(L, res, "F_dim");
  lua_pushnumber(L, hm_ntps_entropy(&D)), lua_setfield(L, res, "entropy");
  lua_settop(L, res);
  return 1;
}

/* ---- model ------------------------------------------------------------------------------ */

typedef struct ntps_model {
  size_t V, d;
  double *W, *G;  /* W aliases the mat in user value 1; G owned */
  ntps_buf data, mdata; /* the objective's dataset and the methods' (as in model.ntp) */
  hm_objective obj, mobj;
  hm_param param;
} ntps_model;

static ntps_model *check_ntps(lua_State *L, int idx, const char *fn) {
  ntps_model *u = (ntps_model *)luaL_testudata(L, idx, HM_NTPS_TNAME);
  if (!u) hmL_argerror(L, fn, idx, "soft NTP model expected, got %s", luaL_typename(L, idx));
  return u;
}

static int ntps_gc(lua_State *L) {
  ntps_model *u = (ntps_model *)luaL_testudata(L, 1, HM_NTPS_TNAME);
  if (u) {
    free(u->G);
    u->G = NULL;
    ntps_free(&u->data);
    ntps_free(&u->mdata);
  }
  return 0;
}

static void ntps_bind(lua_State *L, ntps_model *u, ntps_buf *buf, int idx, const char *fn, int argn) {
  read_soft(L, idx, fn, argn, buf);
  if (buf->d != u->d || buf->V != u->V)
    hmL_argerror(L, fn, argn, "soft NTP dataset has d = %d, V = %d; the model d = %d, V = %d",
                 (int)buf->d, (int)buf->V, (int)u->d, (int)u->V);
}

static hm_status ntps_eval(ntps_model *u, const ntps_buf *buf, int want_grad, double *loss) {
  hm_ntps_data D = {buf->m, buf->d, buf->V, buf->H, buf->P, buf->pi};
  return hm_ntps_loss(&D, u->W, loss, want_grad ? u->G : NULL);
}

static void ntps_check_eval(lua_State *L, const char *fn, hm_status st) {
  if (st == HM_ENONFINITE) hmL_error(L, fn, "loss or gradient is not finite (W contains NaN or Inf?)");
  hmL_check(L, fn, st);
}

/* model.ntp_soft{V=, d=, W=} (W = 0 by default, the paper's initialization) */
static int model_ntp_soft(lua_State *L) {
  const char *fn = "model.ntp_soft";
  static const char *const keys[] = {"V", "d", "W", NULL};
  if (!lua_istable(L, 1)) hmL_argerror(L, fn, 1, "options table expected, got %s", luaL_typename(L, 1));
  lua_settop(L, 1);
  hmL_checkoptions(L, 1, fn, keys);
  lua_Integer V = hmL_optinteger(L, 1, "V", 0, fn), d = hmL_optinteger(L, 1, "d", 0, fn);
  if (V < 1 || d < 1 || V > 100000000 || d > 100000000 || V * d > 100000000) hmL_error(L, fn, "options 'V' and 'd' required (integers >= 1 with V d <= 1e8)");
  ntps_model *u = (ntps_model *)lua_newuserdatauv(L, sizeof *u, 1);
  memset(u, 0, sizeof *u);
  luaL_setmetatable(L, HM_NTPS_TNAME);
  int ui = lua_gettop(L);
  u->V = (size_t)V;
  u->d = (size_t)d;
  u->G = calloc(u->V * u->d, sizeof *u->G);
  if (!u->G) hmL_check(L, fn, HM_ENOMEM);
  hm_mat *W = hmL_newmat2(L, u->V, u->d, fn);
  u->W = W->data;
  lua_setiuservalue(L, ui, 1);
  if (hmL_optfield(L, 1, "W") != LUA_TNIL) {
    svm_arr a;
    hmL_svm_checkarr(L, lua_gettop(L), fn, 1, "option W", &a);
    if (a.rank != 2 || a.dim[0] != u->V || a.dim[1] != u->d)
      hmL_error(L, fn, "option 'W': %dx%d matrix expected", (int)V, (int)d);
    hmL_svm_finite(L, &a, fn, "option W");
    memcpy(u->W, a.data, u->V * u->d * sizeof(double));
  }
  lua_settop(L, ui);
  return 1;
}

static int ntps_index(lua_State *L) {
  ntps_model *u = check_ntps(L, 1, "model.ntp_soft");
  const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
  if (!k) return lua_pushnil(L), 1;
  if (strcmp(k, "W") == 0) return lua_getiuservalue(L, 1, 1), 1;
  if (strcmp(k, "V") == 0) return lua_pushinteger(L, (lua_Integer)u->V), 1;
  if (strcmp(k, "d") == 0) return lua_pushinteger(L, (lua_Integer)u->d), 1;
  luaL_getmetafield(L, 1, "__methods");
  lua_getfield(L, -1, k);
  return 1;
}

static int ntps_newindex(lua_State *L) {
  const char *fn = "model.ntp_soft";
  ntps_model *u = check_ntps(L, 1, fn);
  const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?";
  if (strcmp(k, "W") != 0) return hmL_error(L, fn, "field '%s' cannot be assigned (parameter: W)", k);
  svm_arr a;
  hmL_svm_checkarr(L, 3, fn, 3, "W", &a);
  if (a.rank != 2 || a.dim[0] != u->V || a.dim[1] != u->d)
    hmL_error(L, fn, "W: %dx%d matrix expected", (int)u->V, (int)u->d);
  hmL_svm_finite(L, &a, fn, "W");
  memmove(u->W, a.data, u->V * u->d * sizeof(double));
  return 0;
}

static int ntps_tostring(lua_State *L) {
  ntps_model *u = check_ntps(L, 1, "model.ntp_soft");
  lua_pushfstring(L, "soft NTP model (V = %d, d = %d, logits W h)", (int)u->V, (int)u->d);
  return 1;
}

static int ntps_loss(lua_State *L) {
  const char *fn = "ntp_soft:loss";
  ntps_model *u = check_ntps(L, 1, fn);
  ntps_bind(L, u, &u->mdata, 2, fn, 2);
  double loss;
  ntps_check_eval(L, fn, ntps_eval(u, &u->mdata, 0, &loss));
  lua_pushnumber(L, loss);
  return 1;
}

static int ntps_grad(lua_State *L) {
  const char *fn = "ntp_soft:grad";
  ntps_model *u = check_ntps(L, 1, fn);
  ntps_bind(L, u, &u->mdata, 2, fn, 2);
  double loss;
  ntps_check_eval(L, fn, ntps_eval(u, &u->mdata, 1, &loss));
  lua_pushnumber(L, loss);
  hm_mat *G = hmL_newmat2(L, u->V, u->d, fn);
  memcpy(G->data, u->G, u->V * u->d * sizeof(double));
  return 2;
}

static int ntps_gradcheck(lua_State *L) {
  check_ntps(L, 1, "ntp_soft:gradcheck");
  return hmL_ntp_gradcheck(L, "ntp_soft:gradcheck");
}

static hm_status ntps_obj_eval(void *ctx, int want_grad, double *loss) {
  ntps_model *u = (ntps_model *)ctx;
  return ntps_eval(u, &u->data, want_grad, loss);
}

static hm_status ntps_mobj_eval(void *ctx, int want_grad, double *loss) {
  ntps_model *u = (ntps_model *)ctx;
  return ntps_eval(u, &u->mdata, want_grad, loss);
}

int hmL_ntps_is_model(lua_State *L, int idx) { return luaL_testudata(L, idx, HM_NTPS_TNAME) != NULL; }

int hmL_ntps_is_objective(const hm_objective *o) { return o->eval == ntps_obj_eval; }

static hm_objective *ntps_fill(ntps_model *u, hm_objective *o, hm_status (*eval)(void *, int, double *),
                               const ntps_buf *buf) {
  memset(o, 0, sizeof *o);
  u->param.name = "W";
  u->param.x = u->W;
  u->param.grad = u->G;
  u->param.rows = u->V;
  u->param.cols = u->d;
  u->param.size = u->V * u->d;
  u->param.trainable = 1;
  o->ctx = u;
  o->nparam = 1;
  o->param = &u->param;
  o->eval = eval;
  o->n = buf->m;
  hm_ntps_data D = {buf->m, buf->d, buf->V, buf->H, buf->P, buf->pi};
  o->loss_inf = hm_ntps_entropy(&D); /* the entropy lower bound: Polyak's L_* */
  o->min_logit_gap = NAN;
  return o;
}

hm_objective *hmL_ntps_objective(lua_State *L, int model_idx, int data_idx, const char *fn) {
  ntps_model *u = check_ntps(L, model_idx, fn);
  ntps_bind(L, u, &u->data, data_idx, fn, data_idx);
  return ntps_fill(u, &u->obj, ntps_obj_eval, &u->data);
}

hm_objective *hmL_ntps_method_objective(lua_State *L, int model_idx, int data_idx, const char *fn) {
  ntps_model *u = check_ntps(L, model_idx, fn);
  ntps_bind(L, u, &u->mdata, data_idx, fn, data_idx);
  return ntps_fill(u, &u->mobj, ntps_mobj_eval, &u->mdata);
}

void hmL_ntps_open_svm(lua_State *L) {
  lua_pushcfunction(L, svm_ntp_soft);
  lua_setfield(L, -2, "ntp_soft");
}

void hmL_ntps_open_data(lua_State *L) {
  lua_pushcfunction(L, data_ntp_soft);
  lua_setfield(L, -2, "ntp_soft");
}

void hmL_ntps_open_model(lua_State *L) {
  static const luaL_Reg meta[] = {{"__index", ntps_index}, {"__newindex", ntps_newindex},
                                  {"__gc", ntps_gc}, {"__tostring", ntps_tostring}, {NULL, NULL}};
  static const luaL_Reg methods[] = {{"loss", ntps_loss}, {"grad", ntps_grad},
                                     {"gradcheck", ntps_gradcheck}, {NULL, NULL}};
  luaL_newmetatable(L, HM_NTPS_TNAME);
  luaL_setfuncs(L, meta, 0);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__methods");
  lua_pushstring(L, HM_NTPS_TNAME);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  lua_pushcfunction(L, model_ntp_soft);
  lua_setfield(L, -2, "ntp_soft");
}
