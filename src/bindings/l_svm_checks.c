/* hardmax.svm — the theory checks (docs/svm.md "Theory checks", theory.md B.2, B.7, D.0):
 * rank, grad_alignment, locally_optimal, classify, feasible, no_stationary_check,
 * equal_scores, support_tokens. Registered into the svm module table by hmL_svm_open_checks
 * (called from luaopen_hardmax_svm in l_svm.c). */
#include <math.h>
#include <string.h>

#include "hm_lsvm.h"
#include "hm_lsvm_args.h"

static int l_rank(lua_State *L) {
  const char *fn = "svm.rank";
  static const char *const allowed[] = {"rtol", NULL};
  hmL_svm_enter(L, fn, 2, allowed);
  svm_arr W;
  hmL_svm_checkarr(L, 1, fn, 1, "W", &W);
  char b[80];
  if (W.rank != 2) hmL_argerror(L, fn, 1, "matrix expected, got shape %s", hmL_svm_arrshape(&W, b));
  double rtol = hmL_optnumber(L, 2, "rtol", 1e-6, fn);
  if (!(rtol >= 0 && rtol < 1)) hmL_error(L, fn, "option rtol must lie in [0, 1), got %f", rtol);
  hmL_svm_finite(L, &W, fn, "W");
  size_t k = W.dim[0] < W.dim[1] ? W.dim[0] : W.dim[1];
  hm_mat *sv = hmL_newvec(L, k, fn);
  int r;
  double gap;
  hmL_check(L, fn, hm_svm_rank(W.data, W.dim[0], W.dim[1], rtol, &r, &gap, sv->data));
  lua_pushinteger(L, r);
  lua_pushnumber(L, gap);
  lua_pushvalue(L, -3);
  return 3;
}

static double dotn(const double *a, const double *b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

static int l_grad_alignment(lua_State *L) {
  const char *fn = "svm.grad_alignment";
  luaL_checkstack(L, 100, "svm");
  svm_arr G, W;
  hmL_svm_checkarr(L, 1, fn, 1, "G", &G);
  hmL_svm_checkarr(L, 2, fn, 2, "Wmm", &W);
  char b1[80], b2[80];
  if (G.size != W.size || G.rank != W.rank || G.dim[0] != W.dim[0] || G.dim[1] != W.dim[1])
    hmL_argerror(L, fn, 2, "shape %s expected (as G), got %s", hmL_svm_arrshape(&G, b1),
                 hmL_svm_arrshape(&W, b2));
  hmL_svm_finite(L, &G, fn, "G");
  hmL_svm_finite(L, &W, fn, "Wmm");
  double g = sqrt(dotn(G.data, G.data, G.size)), w = sqrt(dotn(W.data, W.data, W.size));
  if (g == 0 || w == 0)
    return hmL_error(L, fn, "zero %s: the alignment is undefined", g == 0 ? "gradient" : "Wmm");
  lua_pushnumber(L, dotn(G.data, W.data, G.size) / (g * w));
  return 1;
}

/* token scores gamma_it = Y_i v^T x_it, or given n x T scores */
static double *getscores(lua_State *L, int idx, const svm_ds *ds, const double *Y,
                         const char *fn, int argn) {
  svm_arr a;
  hmL_svm_checkarr(L, idx, fn, argn, "v or scores", &a);
  hmL_svm_finite(L, &a, fn, "v or scores");
  size_t n = ds->n, T = ds->T, d = ds->d;
  double *g = hmL_svm_scratch(L, n * T * sizeof *g);
  if (a.rank == 2 && a.dim[0] == n && a.dim[1] == T) {
    memcpy(g, a.data, n * T * sizeof *g);
  } else if (a.size == d && a.rank == 1) {
    for (size_t i = 0; i < n; i++)
      for (size_t t = 0; t < T; t++)
        g[i * T + t] = (Y ? Y[i] : 1.0) * dotn(ds->X.data + (i * T + t) * d, a.data, d);
  } else {
    char b[80];
    hmL_argerror(L, fn, argn, "head v (%d) or scores (%dx%d) expected, got %s", (int)d, (int)n,
                 (int)T, hmL_svm_arrshape(&a, b));
  }
  return g;
}

/* The Frobenius W-SVM (default options) on the rows w: pushes W (d x d), lambda, farkas and
 * the margins scratch (o) and solves. */
static void frobenius_svm(lua_State *L, const char *fn, const svm_attrows *w, size_t d,
                          svm_out *o) {
  hm_mat *xm = hmL_newmat2(L, d, d, fn);
  hmL_svm_outputs(L, fn, xm, w->m, w->cap, o);
  hm_wcons c = {w->m, d, w->A, w->Zr, w->b, NULL};
  hmL_check(L, fn, hm_svm_qp_w(&c, NULL, &o->r));
}

/* The rows w of Att-SVM(alpha) and their margins (*margins, w->m entries) under the given
 * Wgiven, or under the solution of the Frobenius W-SVM. *W gets that W (d x d); returns the
 * status (optimal for a given W). */
static hm_svm_status att_margins(lua_State *L, const char *fn, const svm_ds *ds,
                                 const size_t *al, const double *Z, size_t query,
                                 const double *Wgiven, svm_attrows *w, double **W,
                                 double **margins) {
  size_t d = ds->d;
  hmL_svm_attrows(L, fn, ds, al, Z, query, NULL, w);
  if (Wgiven) {
    double *Wc = hmL_svm_scratch(L, d * d * sizeof *Wc);
    double *mg = hmL_svm_scratch(L, w->cap * sizeof *mg);
    memcpy(Wc, Wgiven, d * d * sizeof *Wc);
    for (size_t k = 0; k < w->m; k++) {
      double s = 0;
      for (size_t i = 0; i < d; i++) s += w->A[k * d + i] * dotn(Wc + i * d, w->Zr + k * d, d);
      mg[k] = s;
    }
    *W = Wc;
    *margins = mg;
    return HM_SVM_OPTIMAL;
  }
  svm_out o;
  frobenius_svm(L, fn, w, d, &o);
  *W = o.r.x;
  *margins = o.mg;
  return o.r.status;
}

/* opts.Wmm: a d x d matrix, or NULL when absent. */
static const double *opt_wmm(lua_State *L, int oi, size_t d, const char *fn) {
  if (hmL_optfield(L, oi, "Wmm") == LUA_TNIL) return NULL;
  svm_arr a;
  if (!hmL_svm_toarr(L, lua_gettop(L), fn, "Wmm", &a) || a.rank != 2 || a.dim[0] != d ||
      a.dim[1] != d)
    hmL_error(L, fn, "option Wmm: %dx%d matrix expected", (int)d, (int)d);
  return a.data;
}

/* svm.locally_optimal(ds, alpha, v_or_scores, {Wmm=, Z=, query=, y=, support_tol=}) */
static int l_locally_optimal(lua_State *L) {
  const char *fn = "svm.locally_optimal";
  static const char *const allowed[] = {"Wmm", "Z", "query", "y", "support_tol", NULL};
  hmL_svm_enter(L, fn, 4, allowed);
  svm_ds ds;
  hmL_svm_getds(L, 1, fn, &ds);
  size_t n = ds.n, T = ds.T, d = ds.d;
  size_t *al = hmL_svm_getalpha(L, 2, n, T, fn, 2);
  const double *Y = hmL_svm_getY(L, 4, &ds, fn);
  double *g = getscores(L, 3, &ds, Y, fn, 3);
  size_t query;
  const double *Z = hmL_svm_getZ(L, 4, &ds, fn, &query);
  double stol = hmL_optnumber(L, 4, "support_tol", 1e-6, fn);
  const double *Wg = opt_wmm(L, 4, d, fn);
  svm_attrows w;
  double *W, *mg;
  hm_svm_status st = att_margins(L, fn, &ds, al, Z, query, Wg, &w, &W, &mg);
  size_t m = w.m, *smp = w.smp, *tok = w.tok;
  lua_newtable(L); /* details */
  int feasible = st != HM_SVM_INFEASIBLE;
  lua_pushboolean(L, feasible);
  lua_setfield(L, -2, "feasible");
  int ok = feasible && st == HM_SVM_OPTIMAL;
  lua_newtable(L); /* support */
  for (size_t i = 0; i < n; i++) {
    lua_newtable(L);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_newtable(L); /* violations */
  lua_Integer nv = 0;
  if (feasible)
    for (size_t k = 0; k < m; k++) {
      if (mg[k] - 1 > stol) continue;
      size_t i = smp[k], t = tok[k];
      lua_rawgeti(L, -2, (lua_Integer)i + 1);
      lua_pushinteger(L, (lua_Integer)t + 1);
      lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
      lua_pop(L, 1);
      if (!(g[i * T + al[i]] > g[i * T + t])) {
        ok = 0;
        lua_newtable(L);
        lua_pushinteger(L, (lua_Integer)i + 1);
        lua_setfield(L, -2, "sample");
        lua_pushinteger(L, (lua_Integer)t + 1);
        lua_setfield(L, -2, "token");
        lua_rawseti(L, -2, ++nv);
      }
    }
  lua_setfield(L, -3, "violations");
  lua_setfield(L, -2, "support");
  lua_pushstring(L, hmL_svm_status_name(st));
  lua_setfield(L, -2, "status");
  lua_pushboolean(L, ok);
  lua_insert(L, -2);
  return 2;
}

static double corr(const double *a, const double *b, size_t n) {
  double na = sqrt(dotn(a, a, n)), nb = sqrt(dotn(b, b, n));
  return (na > 0 && nb > 0) ? dotn(a, b, n) / (na * nb) : NAN;
}

/* svm.classify(ds, W_final, v_or_scores, {c_thr=0.95, Z=, query=, y=}) */
static int l_classify(lua_State *L) {
  const char *fn = "svm.classify";
  static const char *const allowed[] = {"c_thr", "Z", "query", "y", "support_tol", NULL};
  hmL_svm_enter(L, fn, 4, allowed);
  svm_ds ds;
  hmL_svm_getds(L, 1, fn, &ds);
  size_t n = ds.n, T = ds.T, d = ds.d;
  svm_arr Wf;
  hmL_svm_checkarr(L, 2, fn, 2, "W_final", &Wf);
  if (Wf.rank != 2 || Wf.dim[0] != d || Wf.dim[1] != d)
    hmL_argerror(L, fn, 2, "%dx%d matrix expected", (int)d, (int)d);
  hmL_svm_finite(L, &Wf, fn, "W_final");
  const double *Y = hmL_svm_getY(L, 4, &ds, fn);
  double *g = getscores(L, 3, &ds, Y, fn, 3);
  size_t query;
  const double *Z = hmL_svm_getZ(L, 4, &ds, fn, &query);
  double cthr = hmL_optnumber(L, 4, "c_thr", 0.95, fn);
  double stol = hmL_optnumber(L, 4, "support_tol", 1e-6, fn);
  double *lg = hmL_svm_scratch(L, n * T * sizeof *lg);
  hmL_svm_logits(&ds, Wf.data, Z, query, lg);
  size_t *al = hmL_svm_scratch(L, n * sizeof *al);
  int global = 1, tie = 0;
  for (size_t i = 0; i < n; i++) {
    size_t a = 0, o = 0;
    for (size_t t = 1; t < T; t++) {
      if (lg[i * T + t] > lg[i * T + a]) a = t;
      if (g[i * T + t] > g[i * T + o]) o = t;
    }
    for (size_t t = 0; t < T; t++)
      if (t != o && fabs(g[i * T + t] - g[i * T + o]) <= 1e-12 * fmax(1.0, fabs(g[i * T + o])))
        tie = 1;
    al[i] = a;
    if (a != o) global = 0;
  }
  svm_attrows w;
  double *W, *mg;
  hm_svm_status st = att_margins(L, fn, &ds, al, Z, query, NULL, &w, &W, &mg);
  size_t m = w.m, *smp = w.smp, *tok = w.tok;
  int feasible = st != HM_SVM_INFEASIBLE;
  int locopt = feasible && st == HM_SVM_OPTIMAL;
  if (locopt)
    for (size_t k = 0; k < m; k++)
      if (mg[k] - 1 <= stol && !(g[smp[k] * T + al[smp[k]]] > g[smp[k] * T + tok[k]])) locopt = 0;
  double c = feasible ? corr(Wf.data, W, d * d) : NAN;
  const char *cls;
  if (feasible && global && c >= cthr) cls = "global";
  else if (feasible && !global && locopt && c >= cthr) cls = "local";
  else cls = "not_local";
  lua_pushstring(L, cls);
  lua_newtable(L);
  hmL_svm_push_int_array(L, al, n);
  lua_setfield(L, -2, "alpha");
  lua_pushboolean(L, global);
  lua_setfield(L, -2, "is_opt");
  lua_pushboolean(L, tie);
  lua_setfield(L, -2, "score_tie");
  lua_pushboolean(L, feasible);
  lua_setfield(L, -2, "feasible");
  lua_pushboolean(L, locopt);
  lua_setfield(L, -2, "locally_optimal");
  hmL_svm_setnum(L, "corr", c);
  lua_pushstring(L, hmL_svm_status_name(st));
  lua_setfield(L, -2, "status");
  if (feasible) {
    hm_mat *wm = hmL_newmat2(L, d, d, fn);
    memcpy(wm->data, W, d * d * sizeof *W);
    lua_setfield(L, -2, "Wmm");
  }
  return 2;
}

/* svm.feasible(ds, alpha, {Z=, query=}) -> ok, certificate table */
static int l_feasible(lua_State *L) {
  const char *fn = "svm.feasible";
  static const char *const allowed[] = {"Z", "query", NULL};
  hmL_svm_enter(L, fn, 3, allowed);
  svm_ds ds;
  hmL_svm_getds(L, 1, fn, &ds);
  size_t n = ds.n, T = ds.T, d = ds.d;
  size_t *al = hmL_svm_getalpha(L, 2, n, T, fn, 2);
  size_t query;
  const double *Z = hmL_svm_getZ(L, 3, &ds, fn, &query);
  svm_attrows w;
  hmL_svm_attrows(L, fn, &ds, al, Z, query, NULL, &w);
  svm_out o;
  frobenius_svm(L, fn, &w, d, &o);
  lua_pushboolean(L, o.r.status != HM_SVM_INFEASIBLE);
  svm_rowinfo ri = {1, n, T, w.smp, NULL, w.tok};
  hmL_svm_push_result(L, "W", o.xi, o.li, o.fi, &o.r, o.mg, w.b, w.m, &ri, 1e-6);
  return 2;
}

/* svm.no_stationary_check(ds, {Z=, query=, rtol=}) (theory.md D.0.2) */
static int l_no_stationary(lua_State *L) {
  const char *fn = "svm.no_stationary_check";
  static const char *const allowed[] = {"Z", "query", "rtol", NULL};
  hmL_svm_enter(L, fn, 2, allowed);
  svm_ds ds;
  hmL_svm_getds(L, 1, fn, &ds);
  size_t n = ds.n, T = ds.T, d = ds.d;
  size_t query;
  const double *Z = hmL_svm_getZ(L, 2, &ds, fn, &query);
  double rtol = hmL_optnumber(L, 2, "rtol", 1e-10, fn);
  double *Zm = hmL_svm_scratch(L, n * d * sizeof *Zm);
  for (size_t i = 0; i < n; i++)
    memcpy(Zm + i * d, Z ? Z + i * d : ds.X.data + (i * T + query) * d, d * sizeof *Zm);
  int rz;
  double gap;
  hmL_check(L, fn, hm_svm_rank(Zm, n, d, rtol, &rz, &gap, NULL));
  int minr = (int)T;
  lua_newtable(L);
  int ranks = lua_gettop(L);
  double *D = hmL_svm_scratch(L, (T > 1 ? T - 1 : 1) * d * sizeof *D);
  int ok = rz == (int)n;
  for (size_t i = 0; i < n; i++) {
    int r = 0;
    if (T > 1) {
      const double *Xi = ds.X.data + i * T * d;
      for (size_t t = 1; t < T; t++)
        for (size_t j = 0; j < d; j++) D[(t - 1) * d + j] = Xi[t * d + j] - Xi[j];
      hmL_check(L, fn, hm_svm_rank(D, T - 1, d, rtol, &r, &gap, NULL));
    }
    if (r < minr) minr = r;
    if (r != (int)T - 1) ok = 0;
    lua_pushinteger(L, r);
    lua_rawseti(L, ranks, (lua_Integer)i + 1);
  }
  lua_pushboolean(L, ok);
  lua_newtable(L);
  lua_pushinteger(L, rz);
  lua_setfield(L, -2, "rank_Z");
  lua_pushvalue(L, ranks);
  lua_setfield(L, -2, "token_ranks");
  lua_pushinteger(L, minr);
  lua_setfield(L, -2, "min_token_rank");
  return 2;
}

/* svm.equal_scores(ds, v_or_scores, {y=, tol=1e-12}) (theory.md D.0.1) */
static int l_equal_scores(lua_State *L) {
  const char *fn = "svm.equal_scores";
  static const char *const allowed[] = {"y", "tol", NULL};
  hmL_svm_enter(L, fn, 3, allowed);
  svm_ds ds;
  hmL_svm_getds(L, 1, fn, &ds);
  size_t n = ds.n, T = ds.T;
  const double *Y = hmL_svm_getY(L, 3, &ds, fn);
  double *g = getscores(L, 2, &ds, Y, fn, 2);
  double tol = hmL_optnumber(L, 3, "tol", 1e-12, fn);
  int all = 1;
  lua_newtable(L);
  int per = lua_gettop(L);
  lua_newtable(L);
  int opt = lua_gettop(L);
  for (size_t i = 0; i < n; i++) {
    size_t o = 0;
    for (size_t t = 1; t < T; t++)
      if (g[i * T + t] > g[i * T + o]) o = t;
    double go = g[i * T + o], scale = 0;
    for (size_t t = 0; t < T; t++) scale = fmax(scale, fabs(g[i * T + t]));
    double eps = tol * fmax(1.0, scale);
    int eq = 1, uniq = 1;
    double other = NAN;
    for (size_t t = 0; t < T; t++) {
      if (t == o) continue;
      if (go - g[i * T + t] <= eps) uniq = 0;
      if (isnan(other)) other = g[i * T + t];
      else if (fabs(g[i * T + t] - other) > eps) eq = 0;
    }
    int ok = eq && uniq;
    if (!ok) all = 0;
    lua_pushboolean(L, ok);
    lua_rawseti(L, per, (lua_Integer)i + 1);
    lua_pushinteger(L, (lua_Integer)o + 1);
    lua_rawseti(L, opt, (lua_Integer)i + 1);
  }
  lua_pushboolean(L, all);
  lua_newtable(L);
  lua_pushvalue(L, per);
  lua_setfield(L, -2, "per_sample");
  lua_pushvalue(L, opt);
  lua_setfield(L, -2, "opt");
  return 2;
}

/* svm.support_tokens(ds, alpha, {Wmm=, Z=, query=, support_tol=}) -> per-sample arrays */
static int l_support_tokens(lua_State *L) {
  const char *fn = "svm.support_tokens";
  static const char *const allowed[] = {"Wmm", "Z", "query", "support_tol", NULL};
  hmL_svm_enter(L, fn, 3, allowed);
  svm_ds ds;
  hmL_svm_getds(L, 1, fn, &ds);
  size_t n = ds.n, T = ds.T, d = ds.d;
  size_t *al = hmL_svm_getalpha(L, 2, n, T, fn, 2);
  size_t query;
  const double *Z = hmL_svm_getZ(L, 3, &ds, fn, &query);
  double stol = hmL_optnumber(L, 3, "support_tol", 1e-6, fn);
  const double *Wg = opt_wmm(L, 3, d, fn);
  svm_attrows w;
  double *W, *mg;
  hm_svm_status st = att_margins(L, fn, &ds, al, Z, query, Wg, &w, &W, &mg);
  size_t m = w.m, *smp = w.smp, *tok = w.tok;
  if (st == HM_SVM_INFEASIBLE) {
    lua_pushnil(L);
    lua_pushstring(L, "infeasible");
    return 2;
  }
  lua_newtable(L);
  for (size_t i = 0; i < n; i++) {
    lua_newtable(L);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  for (size_t k = 0; k < m; k++)
    if (mg[k] - 1 <= stol) {
      lua_rawgeti(L, -1, (lua_Integer)smp[k] + 1);
      lua_pushinteger(L, (lua_Integer)tok[k] + 1);
      lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
      lua_pop(L, 1);
    }
  lua_pushstring(L, hmL_svm_status_name(st));
  return 2;
}

static const luaL_Reg check_funcs[] = {
    {"rank", l_rank},
    {"grad_alignment", l_grad_alignment},
    {"locally_optimal", l_locally_optimal},
    {"classify", l_classify},
    {"feasible", l_feasible},
    {"no_stationary_check", l_no_stationary},
    {"equal_scores", l_equal_scores},
    {"support_tokens", l_support_tokens},
    {NULL, NULL}};

void hmL_svm_open_checks(lua_State *L) { luaL_setfuncs(L, check_funcs, 0); }
