/* Conic max-margin solvers of the svm module (nuclear norm, entrywise l_p): low-level
 * entry points on explicit constraint rows. l_svm.c owns the module table and calls
 * hmL_svm_open_conic to add these functions; docs/svm_conic.md documents them.
 *
 *   svm.nuclear_raw(A, Zr, b [, opts])        min norm_*(W)  s.t. a_k^T W z_k >= b_k
 *   svm.nuclear_admm_raw(A, Zr, b [, opts])   same problem by ADMM/SVT (cross-check)
 *   svm.lp_raw(A, Zr, b, p [, opts])          min norm_p(W) (entrywise), 1 <= p <= inf
 *                                             (p = 1, inf: linear programs)
 *   svm.lp_vec_raw(F, b, p [, opts])          min norm_p(x)  s.t. f_k^T x >= b_k
 *   svm.spectral_raw(A, Zr, b [, opts])       min norm_2(W) (largest singular value), an SDP
 *
 * A, Zr (m x d), F (m x N): mat arrays of rank 2 or Lua arrays of rows; b: mat (rank 1, or
 * m x 1 / 1 x m) or a Lua array. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hm_lsvm.h"
#include "hm_svm_conic.h"

/* A dense double buffer owned by a userdata left on the stack (freed by the GC even when
 * an error is raised). */
static double *stack_buf(lua_State *L, size_t n, const char *fn) {
  if (n > (size_t)1 << 40) hmL_error(L, fn, "size overflow (%d doubles requested)", (int)n);
  size_t bytes = (n ? n : 1) * sizeof(double);
  double *p = (double *)lua_newuserdatauv(L, bytes, 0);
  memset(p, 0, bytes);
  return p;
}

/* Read a matrix argument (mat of rank 2, or an array of equal-length arrays of numbers).
 * Pushes a buffer userdata; returns its data and sets *rows, *cols. For an empty Lua
 * table, rows = 0 and cols = dflt_cols. */
static double *read_matrix(lua_State *L, int arg, const char *fn, const char *name,
                           size_t dflt_cols, size_t *rows, size_t *cols) {
  hm_mat *m = hmL_testmat(L, arg);
  if (m) {
    m = hmL_checkmat(L, arg, fn); /* refuses closed arrays */
    if (m->rank != 2) {
      char b[80];
      hmL_argerror(L, fn, arg, "%s must be a matrix (rank 2), got an array of shape %s", name,
                   hmL_shapestr(m, b));
    }
    *rows = m->dim[0];
    *cols = m->dim[1];
    double *p = stack_buf(L, m->size, fn);
    if (m->size) memcpy(p, m->data, m->size * sizeof(double));
    return p;
  }
  if (!lua_istable(L, arg))
    hmL_argerror(L, fn, arg, "%s: mat or table of rows expected, got %s", name,
                 luaL_typename(L, arg));
  size_t r = (size_t)lua_rawlen(L, arg), c = dflt_cols;
  if (r > 0) {
    if (lua_rawgeti(L, arg, 1) != LUA_TTABLE)
      hmL_argerror(L, fn, arg, "%s: row 1 must be a table of numbers, got %s", name,
                   luaL_typename(L, -1));
    c = (size_t)lua_rawlen(L, -1);
    lua_pop(L, 1);
  }
  if (c != 0 && r > ((size_t)-1) / sizeof(double) / c) hmL_error(L, fn, "size overflow");
  double *p = stack_buf(L, r * c, fn);
  for (size_t i = 0; i < r; i++) {
    if (lua_rawgeti(L, arg, (lua_Integer)i + 1) != LUA_TTABLE)
      hmL_argerror(L, fn, arg, "%s: row %d must be a table of numbers, got %s", name,
                   (int)i + 1, luaL_typename(L, -1));
    if ((size_t)lua_rawlen(L, -1) != c)
      hmL_argerror(L, fn, arg, "%s: row %d has %d entries, expected %d like row 1", name,
                   (int)i + 1, (int)lua_rawlen(L, -1), (int)c);
    for (size_t j = 0; j < c; j++) {
      lua_rawgeti(L, -1, (lua_Integer)j + 1);
      if (lua_type(L, -1) != LUA_TNUMBER)
        hmL_argerror(L, fn, arg, "%s: entry (%d, %d) must be a number, got %s", name,
                     (int)i + 1, (int)j + 1, luaL_typename(L, -1));
      p[i * c + j] = (double)lua_tonumber(L, -1);
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  *rows = r;
  *cols = c;
  return p;
}

/* Read a vector argument of length m (mat of any rank with m elements, or array). */
static double *read_vector(lua_State *L, int arg, const char *fn, const char *name, size_t m) {
  hm_mat *v = hmL_testmat(L, arg);
  double *p = NULL;
  if (v) {
    v = hmL_checkmat(L, arg, fn);
    if (v->size != m || (v->rank == 2 && v->dim[0] != 1 && v->dim[1] != 1) || v->rank == 3) {
      char b[80];
      hmL_argerror(L, fn, arg, "%s must be a vector of length %d, got shape %s", name, (int)m,
                   hmL_shapestr(v, b));
    }
    p = stack_buf(L, m, fn);
    if (m) memcpy(p, v->data, m * sizeof(double));
    return p;
  }
  if (!lua_istable(L, arg))
    hmL_argerror(L, fn, arg, "%s: mat or table of numbers expected, got %s", name,
                 luaL_typename(L, arg));
  if ((size_t)lua_rawlen(L, arg) != m)
    hmL_argerror(L, fn, arg, "%s must have %d entries (one per constraint row), got %d", name,
                 (int)m, (int)lua_rawlen(L, arg));
  p = stack_buf(L, m, fn);
  for (size_t i = 0; i < m; i++) {
    lua_rawgeti(L, arg, (lua_Integer)i + 1);
    if (lua_type(L, -1) != LUA_TNUMBER)
      hmL_argerror(L, fn, arg, "%s: entry %d must be a number, got %s", name, (int)i + 1,
                   luaL_typename(L, -1));
    p[i] = (double)lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
  return p;
}

static void check_finite(lua_State *L, int arg, const char *fn, const char *name,
                         const double *x, size_t rows, size_t cols) {
  for (size_t i = 0; i < rows * cols; i++)
    if (!isfinite(x[i])) {
      if (cols > 1 || rows > 1)
        hmL_argerror(L, fn, arg, "%s contains %s at entry (%d, %d)", name,
                     isnan(x[i]) ? "NaN" : "Inf", (int)(i / cols) + 1, (int)(i % cols) + 1);
      hmL_argerror(L, fn, arg, "%s contains %s", name, isnan(x[i]) ? "NaN" : "Inf");
    }
}

static void check_vec_finite(lua_State *L, int arg, const char *fn, const char *name,
                             const double *x, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(x[i]))
      hmL_argerror(L, fn, arg, "%s contains %s at entry %d", name, isnan(x[i]) ? "NaN" : "Inf",
                   (int)i + 1);
}

typedef struct conic_opts {
  hm_svm_opts o;
  int tables;
  double rank_tol;
  unsigned char *eq; /* NULL or m flags (userdata on the stack) */
  size_t d;          /* for empty tables */
} conic_opts;

static void read_opts(lua_State *L, int idx, const char *fn, size_t m, int allow_eq,
                      double dtol, conic_opts *co) {
  static const char *const allowed_eq[] = {"tol", "max_iter", "tables", "rank_tol", "eq", "d",
                                           NULL};
  static const char *const allowed[] = {"tol", "max_iter", "tables", "rank_tol", "d", NULL};
  hmL_checkoptions(L, idx, fn, allow_eq ? allowed_eq : allowed);
  co->o.tol = hmL_optnumber(L, idx, "tol", dtol, fn);
  if (!(co->o.tol > 0) || !isfinite(co->o.tol))
    hmL_error(L, fn, "option 'tol': positive number expected, got %f", co->o.tol);
  lua_Integer mi = hmL_optinteger(L, idx, "max_iter", 0, fn);
  if (mi < 0 || mi > 100000000)
    hmL_error(L, fn, "option 'max_iter': integer in [1, 1e8] expected, got %I", mi);
  co->o.max_iter = (int)mi;
  co->tables = hmL_optboolean(L, idx, "tables", 0, fn);
  co->rank_tol = hmL_optnumber(L, idx, "rank_tol", 1e-6, fn);
  if (!(co->rank_tol > 0 && co->rank_tol < 1))
    hmL_error(L, fn, "option 'rank_tol': number in (0, 1) expected, got %f", co->rank_tol);
  co->eq = NULL;
  if (allow_eq && hmL_optfield(L, idx, "eq") != LUA_TNIL) {
    if (!lua_istable(L, -1))
      hmL_error(L, fn, "option 'eq': table of booleans expected, got %s", luaL_typename(L, -1));
    if ((size_t)lua_rawlen(L, -1) != m)
      hmL_error(L, fn, "option 'eq': %d entries expected (one per row), got %d", (int)m,
                (int)lua_rawlen(L, -1));
    int t = lua_gettop(L);
    unsigned char *eq = (unsigned char *)lua_newuserdatauv(L, m ? m : 1, 0);
    for (size_t k = 0; k < m; k++) {
      int ty = lua_rawgeti(L, t, (lua_Integer)k + 1);
      if (ty != LUA_TBOOLEAN)
        hmL_error(L, fn, "option 'eq': entry %d must be a boolean, got %s", (int)k + 1,
                  luaL_typename(L, -1));
      eq[k] = (unsigned char)lua_toboolean(L, -1);
      lua_pop(L, 1);
    }
    lua_remove(L, t); /* keep the userdata on the stack */
    co->eq = eq;
  } else if (allow_eq) {
    lua_pop(L, 1);
  }
  co->d = 0;
  if (hmL_optfield(L, idx, "d") != LUA_TNIL) {
    int isnum;
    lua_Integer dv = lua_tointegerx(L, -1, &isnum);
    if (!isnum || dv < 0) hmL_error(L, fn, "option 'd': non-negative integer expected");
    co->d = (size_t)dv;
  }
  lua_pop(L, 1);
}

/* push a d x d (or n) result: mat or nested table */
static void push_matrix(lua_State *L, const double *x, size_t r, size_t c, int tables,
                        const char *fn) {
  if (tables) {
    lua_createtable(L, (int)r, 0);
    for (size_t i = 0; i < r; i++) {
      lua_createtable(L, (int)c, 0);
      for (size_t j = 0; j < c; j++) {
        lua_pushnumber(L, x[i * c + j]);
        lua_rawseti(L, -2, (lua_Integer)j + 1);
      }
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
  } else {
    hm_mat *m = hmL_newmat2(L, r, c, fn);
    if (r != 0 && c != 0) memcpy(m->data, x, r * c * sizeof(double));
  }
}

static void push_vector(lua_State *L, const double *x, size_t n, int tables, const char *fn) {
  if (tables) {
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
      lua_pushnumber(L, x[i]);
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
  } else {
    hm_mat *m = hmL_newvec(L, n, fn);
    if (n) memcpy(m->data, x, n * sizeof(double));
  }
}

static void setnum(lua_State *L, const char *k, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}
static void setint(lua_State *L, const char *k, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, k);
}

static const char *status_name(hm_svm_status s) {
  switch (s) {
    case HM_SVM_OPTIMAL: return "optimal";
    case HM_SVM_INFEASIBLE: return "infeasible";
    case HM_SVM_INACCURATE: return "inaccurate";
  }
  return "unknown";
}

/* result table: common fields */
static void push_result(lua_State *L, const hm_svm_result *r, size_t m, const double *xv,
                        size_t xr, size_t xc, const char *xname, int tables,
                        const hm_svm_wextra *ex, size_t d, const char *fn) {
  lua_createtable(L, 0, 24);
  lua_pushstring(L, status_name(r->status));
  lua_setfield(L, -2, "status");
  if (xc > 0 && xr > 0 && strcmp(xname, "W") == 0) push_matrix(L, xv, xr, xc, tables, fn);
  else push_vector(L, xv, xr * xc, tables, fn);
  lua_setfield(L, -2, xname);
  setnum(L, "objective", r->objective);
  setnum(L, "dual_objective", r->dual_objective);
  setnum(L, "rel_gap", r->rel_gap);
  setnum(L, "margin", r->margin);
  push_vector(L, r->lambda, m, tables, fn);
  lua_setfield(L, -2, "lambda");
  if (r->status == HM_SVM_INFEASIBLE) {
    push_vector(L, r->farkas, m, tables, fn);
    lua_setfield(L, -2, "farkas");
    setnum(L, "farkas_residual", r->farkas_residual);
  }
  setnum(L, "primal_infeas", r->primal_infeas);
  setnum(L, "stationarity", r->stationarity);
  setnum(L, "complementarity", r->complementarity);
  setint(L, "iterations", r->iterations);
  setnum(L, "time", r->seconds);
  /* support: rows with lambda_k > 1e-6 max lambda */
  double lmax = 0;
  for (size_t k = 0; k < m; k++) lmax = fmax(lmax, fabs(r->lambda[k]));
  lua_newtable(L);
  lua_Integer ns = 0;
  if (r->status != HM_SVM_INFEASIBLE && lmax > 0)
    for (size_t k = 0; k < m; k++)
      if (fabs(r->lambda[k]) > 1e-6 * lmax) {
        lua_pushinteger(L, (lua_Integer)k + 1);
        lua_rawseti(L, -2, ++ns);
      }
  lua_setfield(L, -2, "support");
  setnum(L, "support_tol", 1e-6);
  if (ex) {
    if (r->status != HM_SVM_INFEASIBLE) {
      push_vector(L, ex->sv, d, tables, fn);
      lua_setfield(L, -2, "singular_values");
      setint(L, "rank", ex->rank);
      setnum(L, "rank_tol", ex->rank_tol);
      setnum(L, "rank_gap", ex->rank_gap);
    }
  }
}

static void raise_status(lua_State *L, const char *fn, hm_status st) {
  if (st == HM_OK) return;
  if (st == HM_ENONFINITE)
    hmL_error(L, fn, "non-finite value (NaN or Inf) in the constraint data");
  hmL_check(L, fn, st);
}

typedef enum { W_NUC, W_ADMM, W_LP, W_SPEC } wkind;

static int conic_w(lua_State *L, const char *fn, wkind kind, double p, double dtol,
                   int allow_eq) {
  int is_nuc = kind == W_NUC || kind == W_ADMM;
  lua_settop(L, 4); /* options (or nil) at 4; scratch buffers go above */
  size_t m, d, m2, d2;
  int optidx = 4;
  conic_opts co;
  /* d for empty tables comes from the options */
  size_t dflt = 0;
  if (lua_istable(L, optidx) && !hmL_testmat(L, optidx)) {
    lua_getfield(L, optidx, "d");
    if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 0) dflt = (size_t)lua_tointeger(L, -1);
    lua_pop(L, 1);
  }
  double *A = read_matrix(L, 1, fn, "A", dflt, &m, &d);
  double *Z = read_matrix(L, 2, fn, "Zr", dflt, &m2, &d2);
  if (m2 != m || d2 != d)
    hmL_argerror(L, fn, 2, "Zr must be %dx%d like A, got %dx%d", (int)m, (int)d, (int)m2,
                 (int)d2);
  double *b = read_vector(L, 3, fn, "b", m);
  read_opts(L, optidx, fn, m, allow_eq, dtol, &co);
  check_finite(L, 1, fn, "A", A, m, d);
  check_finite(L, 2, fn, "Zr", Z, m, d);
  check_vec_finite(L, 3, fn, "b", b, m);
  if (d > 4096) hmL_argerror(L, fn, 1, "d = %d is too large for this solver (max 4096)", (int)d);
  double *x = stack_buf(L, d * d, fn);
  double *lam = stack_buf(L, m, fn);
  double *fk = stack_buf(L, m, fn);
  double *sv = stack_buf(L, d, fn);
  hm_wcons c = {m, d, A, Z, b, co.eq};
  hm_svm_result r;
  memset(&r, 0, sizeof r);
  r.x = x;
  r.lambda = lam;
  r.farkas = fk;
  hm_svm_wextra ex;
  memset(&ex, 0, sizeof ex);
  ex.sv = sv;
  ex.rank_tol = co.rank_tol;
  hm_status st = kind == W_NUC    ? hm_svm_nuclear_ex(&c, &co.o, &r, &ex)
                 : kind == W_ADMM ? hm_svm_nuclear_admm(&c, &co.o, &r, &ex)
                 : kind == W_SPEC ? hm_svm_spectral_w(&c, &co.o, &r, &ex)
                 : p == 1.0       ? hm_svm_l1_w(&c, &co.o, &r, &ex)
                 : isinf(p)       ? hm_svm_linf_w(&c, &co.o, &r, &ex)
                                  : hm_svm_lp_w(&c, p, &co.o, &r, &ex);
  raise_status(L, fn, st);
  push_result(L, &r, m, x, d, d, "W", co.tables, &ex, d, fn);
  if (is_nuc && r.status != HM_SVM_INFEASIBLE) {
    setint(L, "dual_rank", ex.dual_rank);
    setnum(L, "dual_spectral", ex.dual_spectral);
  }
  return 1;
}

static int l_nuclear_raw(lua_State *L) {
  return conic_w(L, "svm.nuclear_raw", W_NUC, 0, 1e-6, 1);
}

static int l_nuclear_admm_raw(lua_State *L) {
  return conic_w(L, "svm.nuclear_admm_raw", W_ADMM, 0, 1e-7, 0);
}

static double check_p(lua_State *L, int arg, const char *fn) {
  if (lua_type(L, arg) != LUA_TNUMBER)
    hmL_argerror(L, fn, arg, "p: number expected, got %s", luaL_typename(L, arg));
  double p = (double)lua_tonumber(L, arg);
  if (!(p >= 1.0))
    hmL_argerror(L, fn, arg, "p must satisfy 1 <= p <= inf (math.huge), got %f", p);
  return p;
}

static int l_spectral_raw(lua_State *L) {
  return conic_w(L, "svm.spectral_raw", W_SPEC, 0, 1e-8, 0); /* inequality rows only */
}

static int l_lp_raw(lua_State *L) {
  const char *fn = "svm.lp_raw";
  lua_settop(L, 5);
  double p = check_p(L, 4, fn);
  /* shift the options to index 4 for conic_w */
  lua_remove(L, 4);
  conic_w(L, fn, W_LP, p, 1e-9, 1);
  setnum(L, "p", p);
  return 1;
}

static int l_lp_vec_raw(lua_State *L) {
  const char *fn = "svm.lp_vec_raw";
  size_t m, N;
  lua_settop(L, 4);
  size_t dflt = 0;
  if (lua_istable(L, 4) && !hmL_testmat(L, 4)) {
    lua_getfield(L, 4, "d");
    if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 0) dflt = (size_t)lua_tointeger(L, -1);
    lua_pop(L, 1);
  }
  double p = check_p(L, 3, fn);
  double *F = read_matrix(L, 1, fn, "F", dflt, &m, &N);
  double *b = read_vector(L, 2, fn, "b", m);
  conic_opts co;
  read_opts(L, 4, fn, m, 1, 1e-9, &co);
  check_finite(L, 1, fn, "F", F, m, N);
  check_vec_finite(L, 2, fn, "b", b, m);
  double *x = stack_buf(L, N, fn);
  double *lam = stack_buf(L, m, fn);
  double *fk = stack_buf(L, m, fn);
  hm_vcons c = {m, N, 0, F, b, co.eq};
  hm_svm_result r;
  memset(&r, 0, sizeof r);
  r.x = x;
  r.lambda = lam;
  r.farkas = fk;
  hm_status st = p == 1.0  ? hm_svm_l1_vec(&c, &co.o, &r)
                 : isinf(p) ? hm_svm_linf_vec(&c, &co.o, &r)
                            : hm_svm_lp_vec(&c, p, &co.o, &r);
  raise_status(L, fn, st);
  push_result(L, &r, m, x, 1, N, "x", co.tables, NULL, 0, fn);
  setnum(L, "p", p);
  return 1;
}

static const luaL_Reg conic_funcs[] = {{"nuclear_raw", l_nuclear_raw},
                                       {"nuclear_admm_raw", l_nuclear_admm_raw},
                                       {"lp_raw", l_lp_raw},
                                       {"lp_vec_raw", l_lp_vec_raw},
                                       {"spectral_raw", l_spectral_raw},
                                       {NULL, NULL}};

void hmL_svm_open_conic(lua_State *L) { luaL_setfuncs(L, conic_funcs, 0); }
