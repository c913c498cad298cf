/* hardmax.svm — certified max-margin solvers (QP family here; nuclear / l_p solvers through
 * the conic core when present) and the theory checks. See docs/svm.md. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hm_lsvm.h"
#include "hm_lua.h"
#include "hm_svm.h"

#if defined(__has_include)
#if __has_include("hm_svm_conic.h")
#include "hm_svm_conic.h"
#define HM_HAVE_CONIC 1
#endif
#endif
#ifndef HM_HAVE_CONIC
#define HM_HAVE_CONIC 0
#endif

/* ------------------------------------------------------------------------------------ */
/* arrays: a mat, or a nested Lua table of numbers (converted to a fresh mat on the stack) */

typedef struct arr {
  const double *data;
  int rank;
  size_t dim[3];
  size_t size;
} arr;

static void *scratch(lua_State *L, size_t bytes) {
  return lua_newuserdatauv(L, bytes ? bytes : 1, 0);
}

static int table_depth(lua_State *L, int idx, size_t *dim, int level, const char *fn,
                       const char *what) {
  size_t n = lua_rawlen(L, idx);
  if (n == 0) return hmL_error(L, fn, "%s: empty table", what);
  if (level >= 3) return hmL_error(L, fn, "%s: nested deeper than 3 levels", what);
  dim[level] = n;
  lua_rawgeti(L, idx, 1);
  int r;
  if (lua_type(L, -1) == LUA_TTABLE)
    r = table_depth(L, lua_gettop(L), dim, level + 1, fn, what);
  else
    r = level + 1;
  lua_pop(L, 1);
  return r;
}

static void table_fill(lua_State *L, int idx, const size_t *dim, int rank, int level,
                       double **out, const char *fn, const char *what) {
  if (level < 0 || level >= 3) return;
  size_t n = lua_rawlen(L, idx);
  if (n != dim[level])
    hmL_error(L, fn, "%s: ragged table (row of length %d, expected %d)", what, (int)n,
              (int)dim[level]);
  for (size_t i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, (lua_Integer)i);
    if (level + 1 < rank) {
      if (lua_type(L, -1) != LUA_TTABLE)
        hmL_error(L, fn, "%s: ragged table (number where a row was expected)", what);
      table_fill(L, lua_gettop(L), dim, rank, level + 1, out, fn, what);
    } else {
      if (lua_type(L, -1) != LUA_TNUMBER)
        hmL_error(L, fn, "%s: number expected in table, got %s", what, luaL_typename(L, -1));
      *(*out)++ = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
  }
}

/* Value at idx as an array; tables are converted (a new mat is left on the stack). */
static int toarr(lua_State *L, int idx, const char *fn, const char *what, arr *a) {
  idx = lua_absindex(L, idx);
  hm_mat *m = hmL_testmat(L, idx);
  if (m) {
    m = hmL_checkmat(L, idx, fn);
    a->data = m->data;
    a->rank = m->rank;
    for (int k = 0; k < 3; k++) a->dim[k] = k < m->rank ? m->dim[k] : 1;
    a->size = m->size;
    return 1;
  }
  if (lua_type(L, idx) != LUA_TTABLE) return 0;
  size_t dim[3] = {1, 1, 1};
  int rank = table_depth(L, idx, dim, 0, fn, what);
  hm_mat *nm = hmL_newmat(L, rank, dim, fn);
  double *p = nm->data;
  table_fill(L, idx, dim, rank, 0, &p, fn, what);
  a->data = nm->data;
  a->rank = rank;
  for (int k = 0; k < 3; k++) a->dim[k] = dim[k];
  a->size = nm->size;
  return 1;
}

static void checkarr(lua_State *L, int idx, const char *fn, int argn, const char *what, arr *a) {
  if (!toarr(L, idx, fn, what, a))
    hmL_argerror(L, fn, argn, "%s: mat or table expected, got %s", what,
                 luaL_typename(L, idx));
}

static const char *arrshape(const arr *a, char *buf) {
  if (a->rank == 1) snprintf(buf, 80, "%zu", a->dim[0]);
  else if (a->rank == 2) snprintf(buf, 80, "%zux%zu", a->dim[0], a->dim[1]);
  else snprintf(buf, 80, "%zux%zux%zu", a->dim[0], a->dim[1], a->dim[2]);
  return buf;
}

static void finite_or_error(lua_State *L, const arr *a, const char *fn, const char *what) {
  if (!hm_all_finite(a->data, a->size)) hmL_error(L, fn, "%s contains NaN or Inf", what);
}

/* ------------------------------------------------------------------------------------ */
/* datasets: a token array X (n x T x d), or anything with fields X, Y, Z, v              */

typedef struct dsrc {
  arr X;
  int hasY, hasZ, hasv;
  arr Y, Z, v;
  size_t n, T, d;
} dsrc;

static int is_array_table(lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TTABLE) return 0;
  int t = lua_rawgeti(L, idx, 1);
  lua_pop(L, 1);
  return t != LUA_TNIL;
}

static int getfield_arr(lua_State *L, int obj, const char *key, const char *fn, arr *a) {
  lua_getfield(L, obj, key);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return 0;
  }
  int top = lua_gettop(L);
  if (!toarr(L, top, fn, key, a))
    return hmL_error(L, fn, "dataset field %s: mat or table expected, got %s", key,
                     luaL_typename(L, top));
  return 1; /* value (and a converted copy) stay on the stack */
}

static void getds(lua_State *L, int idx, const char *fn, dsrc *ds) {
  memset(ds, 0, sizeof *ds);
  idx = lua_absindex(L, idx);
  if (hmL_testmat(L, idx) || is_array_table(L, idx)) {
    checkarr(L, idx, fn, 1, "X", &ds->X);
  } else if (lua_type(L, idx) == LUA_TTABLE || lua_type(L, idx) == LUA_TUSERDATA) {
    if (!getfield_arr(L, idx, "X", fn, &ds->X))
      hmL_argerror(L, fn, 1, "dataset or token array expected (no field X)");
    ds->hasY = getfield_arr(L, idx, "Y", fn, &ds->Y);
    ds->hasZ = getfield_arr(L, idx, "Z", fn, &ds->Z);
    ds->hasv = getfield_arr(L, idx, "v", fn, &ds->v);
  } else {
    hmL_argerror(L, fn, 1, "dataset or token array expected, got %s", luaL_typename(L, idx));
  }
  char b[80];
  if (ds->X.rank != 3)
    hmL_argerror(L, fn, 1, "X: n x T x d array expected, got shape %s", arrshape(&ds->X, b));
  ds->n = ds->X.dim[0];
  ds->T = ds->X.dim[1];
  ds->d = ds->X.dim[2];
  if (ds->n == 0 || ds->T == 0 || ds->d == 0) hmL_argerror(L, fn, 1, "X is empty");
  finite_or_error(L, &ds->X, fn, "X");
}

/* ------------------------------------------------------------------------------------ */
/* selections                                                                            */

static lua_Integer intvalue(lua_State *L, int idx, const char *fn, int argn, const char *what) {
  int isnum;
  lua_Integer v = lua_tointegerx(L, idx, &isnum);
  if (!isnum) hmL_argerror(L, fn, argn, "%s: integer index expected, got %s", what,
                           lua_type(L, idx) == LUA_TNUMBER ? "a non-integer number"
                                                           : luaL_typename(L, idx));
  return v;
}

/* alpha: Lua array (or mat) of n 1-based token indices -> 0-based */
static size_t *getalpha(lua_State *L, int idx, size_t n, size_t T, const char *fn, int argn) {
  idx = lua_absindex(L, idx);
  size_t *al = scratch(L, n * sizeof *al);
  hm_mat *m = hmL_testmat(L, idx);
  if (m) {
    if (m->size != n) hmL_argerror(L, fn, argn, "alpha: %d indices expected, got %d", (int)n, (int)m->size);
    for (size_t i = 0; i < n; i++) {
      double v = m->data[i];
      if (v != floor(v) || v < 1 || v > (double)T)
        hmL_argerror(L, fn, argn, "alpha[%d]: token index in [1, %d] expected, got %f", (int)i + 1,
                     (int)T, v);
      al[i] = (size_t)v - 1;
    }
    return al;
  }
  if (lua_type(L, idx) != LUA_TTABLE)
    hmL_argerror(L, fn, argn, "alpha: table of token indices expected, got %s", luaL_typename(L, idx));
  if (lua_rawlen(L, idx) != n)
    hmL_argerror(L, fn, argn, "alpha: %d indices expected, got %d", (int)n, (int)lua_rawlen(L, idx));
  for (size_t i = 0; i < n; i++) {
    lua_rawgeti(L, idx, (lua_Integer)i + 1);
    lua_Integer v = intvalue(L, -1, fn, argn, "alpha");
    if (v < 1 || v > (lua_Integer)T)
      hmL_argerror(L, fn, argn, "alpha[%d]: token index in [1, %d] expected, got %d", (int)i + 1,
                   (int)T, (int)v);
    al[i] = (size_t)(v - 1);
    lua_pop(L, 1);
  }
  return al;
}

/* sequence selections: n x T (table of tables or mat) */
static size_t *getalpha2(lua_State *L, int idx, size_t n, size_t T, const char *fn, int argn) {
  idx = lua_absindex(L, idx);
  size_t *al = scratch(L, n * T * sizeof *al);
  hm_mat *m = hmL_testmat(L, idx);
  if (m) {
    if (m->rank != 2 || m->dim[0] != n || m->dim[1] != T)
      hmL_argerror(L, fn, argn, "alpha: %dx%d index array expected", (int)n, (int)T);
    for (size_t i = 0; i < n * T; i++) {
      double v = m->data[i];
      if (v != floor(v) || v < 1 || v > (double)T)
        hmL_argerror(L, fn, argn, "alpha: token index in [1, %d] expected, got %f", (int)T, v);
      al[i] = (size_t)v - 1;
    }
    return al;
  }
  if (lua_type(L, idx) != LUA_TTABLE || lua_rawlen(L, idx) != n)
    hmL_argerror(L, fn, argn, "alpha: table of %d tables of %d token indices expected", (int)n,
                 (int)T);
  for (size_t i = 0; i < n; i++) {
    lua_rawgeti(L, idx, (lua_Integer)i + 1);
    if (lua_type(L, -1) != LUA_TTABLE || lua_rawlen(L, -1) != T)
      hmL_argerror(L, fn, argn, "alpha[%d]: table of %d token indices expected", (int)i + 1, (int)T);
    for (size_t k = 0; k < T; k++) {
      lua_rawgeti(L, -1, (lua_Integer)k + 1);
      lua_Integer v = intvalue(L, -1, fn, argn, "alpha");
      if (v < 1 || v > (lua_Integer)T)
        hmL_argerror(L, fn, argn, "alpha[%d][%d]: token index in [1, %d] expected, got %d",
                     (int)i + 1, (int)k + 1, (int)T, (int)v);
      al[i * T + k] = (size_t)(v - 1);
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  return al;
}

/* ------------------------------------------------------------------------------------ */
/* options and results                                                                   */

typedef struct sopts {
  hm_svm_opts o;
  double support_tol;
} sopts;

static void getsopts(lua_State *L, int oi, const char *fn, sopts *so) {
  hm_svm_opts_default(&so->o);
  so->o.tol = hmL_optnumber(L, oi, "tol", 1e-9, fn);
  if (!(so->o.tol > 0)) hmL_error(L, fn, "option tol must be positive");
  so->o.max_iter = (int)hmL_optinteger(L, oi, "max_iter", 100, fn);
  if (so->o.max_iter < 1) hmL_error(L, fn, "option max_iter must be >= 1");
  const char *meth = hmL_optstring(L, oi, "method", "auto", fn);
  if (!strcmp(meth, "auto")) so->o.method = HM_SVM_AUTO;
  else if (!strcmp(meth, "ipm")) so->o.method = HM_SVM_IPM;
  else if (!strcmp(meth, "activeset")) so->o.method = HM_SVM_ACTIVESET;
  else hmL_error(L, fn, "option method: \"auto\", \"ipm\" or \"activeset\" expected, got \"%s\"", meth);
  const char *form = hmL_optstring(L, oi, "form", "auto", fn);
  if (!strcmp(form, "auto")) so->o.form = 0;
  else if (!strcmp(form, "dual")) so->o.form = 1;
  else if (!strcmp(form, "primal")) so->o.form = 2;
  else hmL_error(L, fn, "option form: \"auto\", \"dual\" or \"primal\" expected, got \"%s\"", form);
  /* working_set: "auto" (default), true or false (vector problems; ignored elsewhere) */
  int wt = hmL_optfield(L, oi, "working_set");
  if (wt == LUA_TNIL) so->o.wset = 0;
  else if (wt == LUA_TBOOLEAN) so->o.wset = lua_toboolean(L, -1) ? 2 : 1;
  else if (wt == LUA_TSTRING && !strcmp(lua_tostring(L, -1), "auto")) so->o.wset = 0;
  else
    hmL_error(L, fn, "option working_set: true, false or \"auto\" expected, got %s",
              wt == LUA_TSTRING ? lua_tostring(L, -1) : luaL_typename(L, -1));
  lua_pop(L, 1);
  so->support_tol = hmL_optnumber(L, oi, "support_tol", 1e-6, fn);
  if (!(so->support_tol > 0)) hmL_error(L, fn, "option support_tol must be positive");
}

#define COMMON_OPTS "tol", "max_iter", "method", "support_tol", "form"

static const char *status_name(hm_svm_status s) {
  switch (s) {
    case HM_SVM_OPTIMAL: return "optimal";
    case HM_SVM_INFEASIBLE: return "infeasible";
    default: return "inaccurate";
  }
}

static const char *method_name(int m) {
  switch (m) {
    case HM_SVM_ACTIVESET: return "activeset";
    case HM_SVM_IPM: return "ipm";
    case 10: return "sdp-ipm";
    case 11: return "lp-barrier";
    default: return "auto";
  }
}

static void setnum(lua_State *L, const char *k, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

/* Row bookkeeping: how rows map back to samples / positions / tokens. */
typedef struct rowinfo {
  int kind; /* 0: one row per sample (head/hard margin), 1: (sample, token), 2: (sample, pos, token) */
  size_t n, T;
  const size_t *sample, *pos, *token;
} rowinfo;

static void push_int_array(lua_State *L, const size_t *v, size_t n) {
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushinteger(L, (lua_Integer)v[i] + 1);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

/* The result table. Stack: x mat at xi, lambda mat at li, farkas mat at fi. */
static void push_result(lua_State *L, const char *solname, int xi, int li, int fi,
                        const hm_svm_result *r, const double *margins, const double *b, size_t m,
                        const rowinfo *ri, double support_tol, int bias_entry) {
  lua_newtable(L);
  lua_pushstring(L, status_name(r->status));
  lua_setfield(L, -2, "status");
  lua_pushstring(L, method_name(r->method_used));
  lua_setfield(L, -2, "method");
  int infeas = r->status == HM_SVM_INFEASIBLE;
  if (!infeas) {
    lua_pushvalue(L, xi);
    lua_setfield(L, -2, solname);
    if (bias_entry >= 0) {
      hm_mat *x = hmL_checkmat(L, xi, "svm");
      setnum(L, "bias", r->x ? r->x[bias_entry] : x->data[bias_entry]);
    }
  }
  setnum(L, "objective", r->objective);
  setnum(L, "lower_bound", r->lower_bound);
  setnum(L, "margin", r->margin);
  setnum(L, "rel_gap", r->rel_gap);
  setnum(L, "primal_infeas", r->primal_infeas);
  lua_newtable(L);
  setnum(L, "stationarity", r->stationarity);
  setnum(L, "complementarity", r->complementarity);
  lua_setfield(L, -2, "kkt");
  lua_pushinteger(L, r->iterations);
  lua_setfield(L, -2, "iterations");
  setnum(L, "time", r->seconds);
  lua_pushvalue(L, li);
  lua_setfield(L, -2, "lambda");
  lua_pushinteger(L, (lua_Integer)m);
  lua_setfield(L, -2, "m");
  if (infeas) {
    lua_pushvalue(L, fi);
    lua_setfield(L, -2, "farkas");
    setnum(L, "farkas_residual", r->farkas_residual);
  }
  /* rows */
  if (ri && ri->kind > 0) {
    lua_newtable(L);
    push_int_array(L, ri->sample, m);
    lua_setfield(L, -2, "sample");
    if (ri->kind == 2) {
      push_int_array(L, ri->pos, m);
      lua_setfield(L, -2, "pos");
    }
    push_int_array(L, ri->token, m);
    lua_setfield(L, -2, "token");
    lua_setfield(L, -2, "rows");
  }
  /* support: active rows (margin <= b + tol * max(1, |b|)) */
  setnum(L, "support_tol", support_tol);
  if (!infeas && margins && ri) {
    lua_newtable(L);
    if (ri->kind == 0) {
      lua_Integer c = 0;
      for (size_t k = 0; k < m; k++)
        if (margins[k] - b[k] <= support_tol * fmax(1.0, fabs(b[k]))) {
          lua_pushinteger(L, (lua_Integer)k + 1);
          lua_rawseti(L, -2, ++c);
        }
    } else if (ri->kind == 1) {
      for (size_t i = 0; i < ri->n; i++) {
        lua_newtable(L);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
      }
      for (size_t k = 0; k < m; k++)
        if (margins[k] - b[k] <= support_tol * fmax(1.0, fabs(b[k]))) {
          lua_rawgeti(L, -1, (lua_Integer)ri->sample[k] + 1);
          lua_pushinteger(L, (lua_Integer)ri->token[k] + 1);
          lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
          lua_pop(L, 1);
        }
    } else {
      for (size_t i = 0; i < ri->n; i++) {
        lua_newtable(L);
        for (size_t k = 0; k < ri->T; k++) {
          lua_newtable(L);
          lua_rawseti(L, -2, (lua_Integer)k + 1);
        }
        lua_rawseti(L, -2, (lua_Integer)i + 1);
      }
      for (size_t k = 0; k < m; k++)
        if (margins[k] - b[k] <= support_tol * fmax(1.0, fabs(b[k]))) {
          lua_rawgeti(L, -1, (lua_Integer)ri->sample[k] + 1);
          lua_rawgeti(L, -1, (lua_Integer)ri->pos[k] + 1);
          lua_pushinteger(L, (lua_Integer)ri->token[k] + 1);
          lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
          lua_pop(L, 2);
        }
    }
    lua_setfield(L, -2, "support");
  }
}

static void init_result(hm_svm_result *r, double *x, double *l, double *f, double *mg) {
  memset(r, 0, sizeof *r);
  r->x = x;
  r->lambda = l;
  r->farkas = f;
  r->margins = mg;
  r->margin = NAN;
  r->lower_bound = NAN;
  r->farkas_residual = NAN;
}

/* norm spec: 0 = fro/2, 1 = nuclear, 2 = l_p */
typedef struct normspec {
  int kind;
  double p;
} normspec;

static void getnorm(lua_State *L, int oi, const char *key, const char *fn, int allow_nuc,
                    normspec *ns) {
  ns->kind = 0;
  ns->p = 2;
  int t = hmL_optfield(L, oi, key);
  if (t == LUA_TNIL) {
  } else if (t == LUA_TSTRING) {
    const char *s = lua_tostring(L, -1);
    if (!strcmp(s, "fro") || !strcmp(s, "2")) ns->kind = 0;
    else if (allow_nuc && !strcmp(s, "nuc")) ns->kind = 1;
    else hmL_error(L, fn, "option %s: %s expected, got \"%s\"", key,
                   allow_nuc ? "\"fro\", \"nuc\" or a number p in (1, inf)" : "a number p in (1, inf)", s);
  } else if (t == LUA_TNUMBER) {
    double p = lua_tonumber(L, -1);
    if (!(p > 1) || !isfinite(p))
      hmL_error(L, fn, "option %s: p in (1, inf) expected, got %f", key, p);
    if (p != 2) {
      ns->kind = 2;
      ns->p = p;
    }
  } else {
    hmL_error(L, fn, "option %s: string or number expected, got %s", key, lua_typename(L, t));
  }
  lua_pop(L, 1);
}

static hm_status solve_w(lua_State *L, const char *fn, const hm_wcons *c, const normspec *ns,
                         const hm_svm_opts *o, hm_svm_result *r) {
  if (o->form == 2)
    hmL_error(L, fn, "option form: \"primal\" applies to vector problems only (svm.hard_margin, svm.prompt, svm.head)");
  if (ns->kind == 0) return hm_svm_qp_w(c, o, r);
#if HM_HAVE_CONIC
  hm_svm_opts oc = *o;
  hm_status st;
  if (ns->kind == 1) {
    if (oc.tol == 1e-9) oc.tol = 1e-6;
    st = hm_svm_nuclear(c, &oc, r);
    r->method_used = 10;
  } else {
    st = hm_svm_lp_w(c, ns->p, &oc, r, NULL);
    r->method_used = 11;
  }
  if (st == HM_OK && r->status != HM_SVM_INFEASIBLE) {
    r->margin = r->objective > 0 ? 1.0 / r->objective : INFINITY;
    r->lower_bound = r->dual_objective;
    if (r->margins) {
      /* margins of the returned W */
      for (size_t k = 0; k < c->m; k++) {
        double s = 0;
        for (size_t i = 0; i < c->d; i++) {
          double wi = 0;
          for (size_t j = 0; j < c->d; j++) wi += r->x[i * c->d + j] * c->Zr[k * c->d + j];
          s += c->A[k * c->d + i] * wi;
        }
        r->margins[k] = s;
      }
    }
  }
  return st;
#else
  (void)c;
  (void)o;
  (void)r;
  hmL_error(L, fn, "norm %s is not available yet (the conic solvers have not landed in this build)",
            ns->kind == 1 ? "\"nuc\"" : "l_p");
  return HM_EARG;
#endif
}

static hm_status solve_vec(lua_State *L, const char *fn, const hm_vcons *c, const normspec *ns,
                           const hm_svm_opts *o, hm_svm_result *r) {
  if (ns->kind == 0) return hm_svm_qp_vec(c, o, r);
#if HM_HAVE_CONIC
  if (c->nfree) hmL_error(L, fn, "the l_p SVM has no bias option");
  hm_status st = hm_svm_lp_vec(c, ns->p, o, r);
  r->method_used = 11;
  if (st == HM_OK && r->status != HM_SVM_INFEASIBLE) {
    r->margin = r->objective > 0 ? 1.0 / r->objective : INFINITY;
    r->lower_bound = r->dual_objective;
    if (r->margins)
      for (size_t k = 0; k < c->m; k++) {
        double s = 0;
        for (size_t j = 0; j < c->N; j++) s += c->F[k * c->N + j] * r->x[j];
        r->margins[k] = s;
      }
  }
  return st;
#else
  (void)c;
  (void)o;
  (void)r;
  hmL_error(L, fn, "l_p norms (p = %f) are not available yet (the conic solvers have not landed in this build)",
            ns->p);
  return HM_EARG;
#endif
}

/* ------------------------------------------------------------------------------------ */
/* svm.hard_margin(X, y, opts)                                                          */

static int l_hard_margin(lua_State *L) {
  const char *fn = "svm.hard_margin";
  luaL_checkstack(L, 100, "svm");
  static const char *const allowed[] = {"bias", "p", COMMON_OPTS, "working_set", NULL};
  lua_settop(L, 3); /* absent options must not alias pushed values */
  hmL_checkoptions(L, 3, fn, allowed);
  arr X, y;
  checkarr(L, 1, fn, 1, "X", &X);
  checkarr(L, 2, fn, 2, "y", &y);
  char b1[80], b2[80];
  if (X.rank != 2) hmL_argerror(L, fn, 1, "m x N matrix expected, got shape %s", arrshape(&X, b1));
  size_t m = X.dim[0], N0 = X.dim[1];
  if (y.size != m || y.rank != 1)
    hmL_argerror(L, fn, 2, "%d labels expected, got shape %s (X is %s)", (int)m, arrshape(&y, b2),
                 arrshape(&X, b1));
  finite_or_error(L, &X, fn, "X");
  for (size_t i = 0; i < m; i++)
    if (y.data[i] != 1 && y.data[i] != -1)
      hmL_argerror(L, fn, 2, "labels must be +1 or -1, got %f at %d", y.data[i], (int)i + 1);
  int bias = hmL_optboolean(L, 3, "bias", 0, fn);
  normspec ns;
  getnorm(L, 3, "p", fn, 0, &ns);
  sopts so;
  getsopts(L, 3, fn, &so);
  size_t N = N0 + (bias ? 1 : 0);
  double *F = scratch(L, m * N * sizeof *F), *b = scratch(L, m * sizeof *b);
  for (size_t i = 0; i < m; i++) {
    for (size_t j = 0; j < N0; j++) F[i * N + j] = y.data[i] * X.data[i * N0 + j];
    if (bias) F[i * N + N0] = y.data[i];
    b[i] = 1;
  }
  hm_mat *xm = hmL_newvec(L, N, fn);
  hm_mat *lm = hmL_newvec(L, m, fn);
  int li = lua_gettop(L);
  hm_mat *fm = hmL_newvec(L, m, fn);
  int fi = lua_gettop(L);
  double *mg = scratch(L, m * sizeof *mg);
  hm_svm_result r;
  init_result(&r, xm->data, lm->data, fm->data, mg);
  hm_vcons c = {m, N, bias ? 1u : 0u, F, b, NULL};
  hmL_check(L, fn, solve_vec(L, fn, &c, &ns, &so.o, &r));
  /* w without the bias entry */
  hm_mat *wm = hmL_newvec(L, N0, fn);
  memcpy(wm->data, xm->data, N0 * sizeof(double));
  int wi = lua_gettop(L);
  rowinfo ri = {0, m, 1, NULL, NULL, NULL};
  push_result(L, "w", wi, li, fi, &r, mg, b, m, &ri, so.support_tol, -1);
  if (bias && r.status != HM_SVM_INFEASIBLE) setnum(L, "bias", xm->data[N0]);
  return 1;
}

/* ------------------------------------------------------------------------------------ */
/* per-sample right-hand sides: rhs (n numbers) or relax (1-based sample list with rhs 0) */

static double *getrhs(lua_State *L, int oi, size_t n, const char *fn) {
  double *rhs = scratch(L, n * sizeof *rhs);
  for (size_t i = 0; i < n; i++) rhs[i] = 1;
  int t = hmL_optfield(L, oi, "rhs");
  if (t != LUA_TNIL) {
    arr a;
    if (!toarr(L, lua_gettop(L), fn, "rhs", &a) || a.size != n)
      hmL_error(L, fn, "option rhs: %d numbers expected", (int)n);
    finite_or_error(L, &a, fn, "rhs");
    memcpy(rhs, a.data, n * sizeof *rhs);
  }
  t = hmL_optfield(L, oi, "relax");
  if (t != LUA_TNIL) {
    int ti = lua_gettop(L);
    if (t != LUA_TTABLE) hmL_error(L, fn, "option relax: table of sample indices expected");
    size_t len = lua_rawlen(L, ti);
    for (size_t k = 1; k <= len; k++) {
      lua_rawgeti(L, ti, (lua_Integer)k);
      int isnum;
      lua_Integer v = lua_tointegerx(L, -1, &isnum);
      if (!isnum || v < 1 || v > (lua_Integer)n)
        hmL_error(L, fn, "option relax: sample index in [1, %d] expected at position %d", (int)n,
                  (int)k);
      rhs[v - 1] = 0;
      lua_pop(L, 1);
    }
  }
  return rhs;
}

/* query vectors: opts.Z, else ds.Z, else query token (opts.query, default 1) */
static const double *getZ(lua_State *L, int oi, const dsrc *ds, const char *fn, size_t *query) {
  *query = 0;
  int t = hmL_optfield(L, oi, "Z");
  if (t != LUA_TNIL) {
    arr a;
    char b[80];
    if (!toarr(L, lua_gettop(L), fn, "Z", &a) || a.rank != 2 || a.dim[0] != ds->n ||
        a.dim[1] != ds->d)
      hmL_error(L, fn, "option Z: %dx%d query matrix expected%s%s", (int)ds->n, (int)ds->d,
                a.data ? ", got " : "", a.data ? arrshape(&a, b) : "");
    finite_or_error(L, &a, fn, "Z");
    if (hmL_optfield(L, oi, "query") != LUA_TNIL)
      hmL_error(L, fn, "options Z and query are mutually exclusive");
    lua_pop(L, 1);
    return a.data;
  }
  lua_Integer q = hmL_optinteger(L, oi, "query", 0, fn);
  if (q != 0) {
    if (q < 1 || q > (lua_Integer)ds->T)
      hmL_error(L, fn, "option query: token index in [1, %d] expected, got %d", (int)ds->T, (int)q);
    *query = (size_t)(q - 1);
    return NULL;
  }
  if (ds->hasZ) {
    char b[80];
    if (ds->Z.rank != 2 || ds->Z.dim[0] != ds->n || ds->Z.dim[1] != ds->d)
      hmL_error(L, fn, "dataset Z: %dx%d expected, got %s", (int)ds->n, (int)ds->d,
                arrshape(&ds->Z, b));
    finite_or_error(L, &ds->Z, fn, "Z");
    return ds->Z.data;
  }
  return NULL; /* self-attention, first token */
}

/* ------------------------------------------------------------------------------------ */
/* svm.prompt(ds_or_X, alpha, opts)                                                     */

static int l_prompt(lua_State *L) {
  const char *fn = "svm.prompt";
  luaL_checkstack(L, 100, "svm");
  static const char *const allowed[] = {"W", "rhs", "relax", "p", COMMON_OPTS, "working_set", NULL};
  lua_settop(L, 3); /* absent options must not alias pushed values */
  hmL_checkoptions(L, 3, fn, allowed);
  dsrc ds;
  getds(L, 1, fn, &ds);
  size_t n = ds.n, T = ds.T, d = ds.d;
  size_t *al = getalpha(L, 2, n, T, fn, 2);
  sopts so;
  getsopts(L, 3, fn, &so);
  normspec ns;
  getnorm(L, 3, "p", fn, 0, &ns);
  double *rhs = getrhs(L, 3, n, fn);
  /* keys k_it = W^T x_it: the row x^T W */
  size_t dk = d;
  const double *keys = ds.X.data;
  if (hmL_optfield(L, 3, "W") != LUA_TNIL) {
    arr W;
    char b[80];
    if (!toarr(L, lua_gettop(L), fn, "W", &W) || W.rank != 2 || W.dim[0] != d)
      hmL_error(L, fn, "option W: %dxk key matrix expected%s%s", (int)d, W.data ? ", got " : "",
                W.data ? arrshape(&W, b) : "");
    finite_or_error(L, &W, fn, "W");
    dk = W.dim[1];
    double *kx = scratch(L, n * T * dk * sizeof *kx);
    for (size_t r = 0; r < n * T; r++)
      for (size_t j = 0; j < dk; j++) {
        double s = 0;
        for (size_t q = 0; q < d; q++) s += ds.X.data[r * d + q] * W.data[q * dk + j];
        kx[r * dk + j] = s;
      }
    keys = kx;
  }
  size_t mmax = (n * (T - 1) > 0) ? n * (T - 1) : 1;
  double *F = scratch(L, mmax * dk * sizeof *F), *b = scratch(L, mmax * sizeof *b);
  size_t *smp = scratch(L, mmax * sizeof *smp), *tok = scratch(L, mmax * sizeof *tok);
  size_t m;
  hmL_check(L, fn, hm_svm_build_p(keys, n, T, dk, al, rhs, F, b, smp, tok, &m));
  hm_mat *xm = hmL_newvec(L, dk, fn);
  int xi = lua_gettop(L);
  hm_mat *lm = hmL_newvec(L, m, fn);
  int li = lua_gettop(L);
  hm_mat *fm = hmL_newvec(L, m, fn);
  int fi = lua_gettop(L);
  double *mg = scratch(L, mmax * sizeof *mg);
  hm_svm_result r;
  init_result(&r, xm->data, lm->data, fm->data, mg);
  hm_vcons c = {m, dk, 0, F, b, NULL};
  hmL_check(L, fn, solve_vec(L, fn, &c, &ns, &so.o, &r));
  rowinfo ri = {1, n, T, smp, NULL, tok};
  push_result(L, "p", xi, li, fi, &r, mg, b, m, &ri, so.support_tol, -1);
  return 1;
}

/* labels: opts.y, else ds.Y, else all +1 */
static const double *getY(lua_State *L, int oi, const dsrc *ds, const char *fn) {
  size_t n = ds->n;
  const double *Y = NULL;
  if (hmL_optfield(L, oi, "y") != LUA_TNIL) {
    arr a;
    if (!toarr(L, lua_gettop(L), fn, "y", &a) || a.size != n)
      hmL_error(L, fn, "option y: %d labels expected", (int)n);
    Y = a.data;
  } else {
    lua_pop(L, 1);
    if (ds->hasY) {
      if (ds->Y.size != n) hmL_error(L, fn, "dataset Y: %d labels expected (one per sample)", (int)n);
      Y = ds->Y.data;
    }
  }
  if (Y)
    for (size_t i = 0; i < n; i++)
      if (Y[i] != 1 && Y[i] != -1) hmL_error(L, fn, "labels must be +1 or -1, got %f at %d", Y[i], (int)i + 1);
  return Y;
}

/* ------------------------------------------------------------------------------------ */
/* svm.head(ds_or_X, alpha, opts): v-SVM on the selected tokens                         */

static int l_head(lua_State *L) {
  const char *fn = "svm.head";
  luaL_checkstack(L, 100, "svm");
  static const char *const allowed[] = {"y", "bias", "p", COMMON_OPTS, "working_set", NULL};
  lua_settop(L, 3); /* absent options must not alias pushed values */
  hmL_checkoptions(L, 3, fn, allowed);
  dsrc ds;
  getds(L, 1, fn, &ds);
  size_t n = ds.n, T = ds.T, d = ds.d;
  size_t *al = getalpha(L, 2, n, T, fn, 2);
  const double *Y = getY(L, 3, &ds, fn);
  int bias = hmL_optboolean(L, 3, "bias", 0, fn);
  normspec ns;
  getnorm(L, 3, "p", fn, 0, &ns);
  sopts so;
  getsopts(L, 3, fn, &so);
  size_t N = d + (bias ? 1 : 0);
  double *F = scratch(L, n * N * sizeof *F), *b = scratch(L, n * sizeof *b);
  for (size_t i = 0; i < n; i++) {
    double y = Y ? Y[i] : 1.0;
    const double *x = ds.X.data + (i * T + al[i]) * d;
    for (size_t j = 0; j < d; j++) F[i * N + j] = y * x[j];
    if (bias) F[i * N + d] = y;
    b[i] = 1;
  }
  hm_mat *xm = hmL_newvec(L, N, fn);
  hm_mat *lm = hmL_newvec(L, n, fn);
  int li = lua_gettop(L);
  hm_mat *fm = hmL_newvec(L, n, fn);
  int fi = lua_gettop(L);
  double *mg = scratch(L, n * sizeof *mg);
  hm_svm_result r;
  init_result(&r, xm->data, lm->data, fm->data, mg);
  hm_vcons c = {n, N, bias ? 1u : 0u, F, b, NULL};
  hmL_check(L, fn, solve_vec(L, fn, &c, &ns, &so.o, &r));
  hm_mat *vm = hmL_newvec(L, d, fn);
  memcpy(vm->data, xm->data, d * sizeof(double));
  int vi = lua_gettop(L);
  rowinfo ri = {0, n, 1, NULL, NULL, NULL};
  push_result(L, "v", vi, li, fi, &r, mg, b, n, &ri, so.support_tol, -1);
  if (bias && r.status != HM_SVM_INFEASIBLE) setnum(L, "bias", xm->data[d]);
  return 1;
}

/* ------------------------------------------------------------------------------------ */
/* svm.att(ds_or_X, alpha, opts): W-SVM                                                 */

static int l_att(lua_State *L) {
  const char *fn = "svm.att";
  luaL_checkstack(L, 100, "svm");
  static const char *const allowed[] = {"Z", "query", "norm", "rhs", "relax", COMMON_OPTS, NULL};
  lua_settop(L, 3); /* absent options must not alias pushed values */
  hmL_checkoptions(L, 3, fn, allowed);
  dsrc ds;
  getds(L, 1, fn, &ds);
  size_t n = ds.n, T = ds.T, d = ds.d;
  size_t *al = getalpha(L, 2, n, T, fn, 2);
  size_t query;
  const double *Z = getZ(L, 3, &ds, fn, &query);
  normspec ns;
  getnorm(L, 3, "norm", fn, 1, &ns);
  sopts so;
  getsopts(L, 3, fn, &so);
  double *rhs = getrhs(L, 3, n, fn);
  size_t mmax = (n * (T - 1) > 0) ? n * (T - 1) : 1;
  double *A = scratch(L, mmax * d * sizeof *A), *Zr = scratch(L, mmax * d * sizeof *Zr);
  double *b = scratch(L, mmax * sizeof *b);
  size_t *smp = scratch(L, mmax * sizeof *smp), *tok = scratch(L, mmax * sizeof *tok);
  size_t m;
  hmL_check(L, fn, hm_svm_build_w(ds.X.data, n, T, d, Z, query, al, rhs, A, Zr, b, smp, tok, &m));
  hm_mat *xm = hmL_newmat2(L, d, d, fn);
  int xi = lua_gettop(L);
  hm_mat *lm = hmL_newvec(L, m, fn);
  int li = lua_gettop(L);
  hm_mat *fm = hmL_newvec(L, m, fn);
  int fi = lua_gettop(L);
  double *mg = scratch(L, mmax * sizeof *mg);
  hm_svm_result r;
  init_result(&r, xm->data, lm->data, fm->data, mg);
  hm_wcons c = {m, d, A, Zr, b, NULL};
  hmL_check(L, fn, solve_w(L, fn, &c, &ns, &so.o, &r));
  rowinfo ri = {1, n, T, smp, NULL, tok};
  push_result(L, "W", xi, li, fi, &r, mg, b, m, &ri, so.support_tol, -1);
  return 1;
}

/* ------------------------------------------------------------------------------------ */
/* svm.seq(ds_or_X, alpha (n x T), opts): SAtt-SVM                                      */

static int l_seq(lua_State *L) {
  const char *fn = "svm.seq";
  luaL_checkstack(L, 100, "svm");
  static const char *const allowed[] = {"mask", "norm", COMMON_OPTS, NULL};
  lua_settop(L, 3); /* absent options must not alias pushed values */
  hmL_checkoptions(L, 3, fn, allowed);
  dsrc ds;
  getds(L, 1, fn, &ds);
  size_t n = ds.n, T = ds.T, d = ds.d;
  size_t *al = getalpha2(L, 2, n, T, fn, 2);
  const char *mask = hmL_optstring(L, 3, "mask", "full", fn);
  int causal;
  if (!strcmp(mask, "full")) causal = 0;
  else if (!strcmp(mask, "causal")) causal = 1;
  else return hmL_error(L, fn, "option mask: \"full\" or \"causal\" expected, got \"%s\"", mask);
  if (causal)
    for (size_t i = 0; i < n; i++)
      for (size_t k = 0; k < T; k++)
        if (al[i * T + k] > k)
          hmL_argerror(L, fn, 2, "alpha[%d][%d] = %d is not visible under the causal mask (must be <= %d)",
                       (int)i + 1, (int)k + 1, (int)al[i * T + k] + 1, (int)k + 1);
  normspec ns;
  getnorm(L, 3, "norm", fn, 1, &ns);
  sopts so;
  getsopts(L, 3, fn, &so);
  size_t mmax = (n * T * (T - 1) > 0) ? n * T * (T - 1) : 1;
  double *A = scratch(L, mmax * d * sizeof *A), *Zr = scratch(L, mmax * d * sizeof *Zr);
  double *b = scratch(L, mmax * sizeof *b);
  size_t *smp = scratch(L, mmax * sizeof *smp), *pos = scratch(L, mmax * sizeof *pos),
         *tok = scratch(L, mmax * sizeof *tok);
  size_t m;
  hmL_check(L, fn, hm_svm_build_seq(ds.X.data, n, T, d, al, causal, A, Zr, b, smp, pos, tok, &m));
  hm_mat *xm = hmL_newmat2(L, d, d, fn);
  int xi = lua_gettop(L);
  hm_mat *lm = hmL_newvec(L, m, fn);
  int li = lua_gettop(L);
  hm_mat *fm = hmL_newvec(L, m, fn);
  int fi = lua_gettop(L);
  double *mg = scratch(L, mmax * sizeof *mg);
  hm_svm_result r;
  init_result(&r, xm->data, lm->data, fm->data, mg);
  hm_wcons c = {m, d, A, Zr, b, NULL};
  hmL_check(L, fn, solve_w(L, fn, &c, &ns, &so.o, &r));
  rowinfo ri = {2, n, T, smp, pos, tok};
  push_result(L, "W", xi, li, fi, &r, mg, b, m, &ri, so.support_tol, -1);
  return 1;
}

/* ------------------------------------------------------------------------------------ */
/* attention probabilities s_i = softmax(X_i W z_i) and logits                          */

static void logits_of(const dsrc *ds, const double *W, const double *Z, size_t query,
                      double *logit) {
  size_t n = ds->n, T = ds->T, d = ds->d;
  for (size_t i = 0; i < n; i++) {
    const double *Xi = ds->X.data + i * T * d;
    const double *z = Z ? Z + i * d : Xi + query * d;
    for (size_t t = 0; t < T; t++) {
      double s = 0;
      for (size_t j1 = 0; j1 < d; j1++) {
        double wz = 0;
        for (size_t j2 = 0; j2 < d; j2++) wz += W[j1 * d + j2] * z[j2];
        s += Xi[t * d + j1] * wz;
      }
      logit[i * T + t] = s;
    }
  }
}

static void softmax_rows(const double *a, size_t n, size_t T, double *s) {
  for (size_t i = 0; i < n; i++) {
    double mx = -INFINITY, sum = 0;
    for (size_t t = 0; t < T; t++)
      if (a[i * T + t] > mx) mx = a[i * T + t];
    for (size_t t = 0; t < T; t++) sum += s[i * T + t] = exp(a[i * T + t] - mx);
    for (size_t t = 0; t < T; t++) s[i * T + t] /= sum;
  }
}

/* Nuclear-norm Gen-SVM: W_fin = argmin |W|_* on the equalities, W_dir = argmin |W|_* on
 * equalities = 0 and selected-vs-masked rows >= 1 (conic core), R by the Frobenius fit. */
static void gen_nuclear(lua_State *L, const char *fn, const dsrc *ds, const double *Z,
                        size_t query, const unsigned char *sel, const double *Wgd,
                        const double *logit, const hm_svm_opts *o, hm_svm_gen_result *gr) {
#if HM_HAVE_CONIC
  size_t n = ds->n, T = ds->T, d = ds->d, re = n * T, ri = n * T * T, dd = d * d;
  double *AE = scratch(L, re * d * sizeof *AE), *ZE = scratch(L, re * d * sizeof *ZE);
  double *c = scratch(L, re * sizeof *c);
  double *A = scratch(L, (ri + re) * d * sizeof *A), *Zr = scratch(L, (ri + re) * d * sizeof *Zr);
  double *b = scratch(L, (ri + re) * sizeof *b);
  unsigned char *eq = scratch(L, ri + re);
  size_t ne, ni;
  hmL_check(L, fn, hm_svm_gen_rows(ds->X.data, n, T, d, Z, query, sel, Wgd, Wgd ? NULL : logit,
                                   AE, ZE, c, &ne, A, Zr, &ni));
  gr->n_eq = ne;
  gr->n_ineq = ni;
  gr->eq_rank = -1;
  hm_svm_opts oc = *o;
  if (oc.tol == 1e-9) oc.tol = 1e-6;
  /* W_fin */
  double *lf = scratch(L, (ne ? ne : 1) * sizeof *lf), *ff = scratch(L, (ne ? ne : 1) * sizeof *ff);
  memset(gr->Wfin, 0, dd * sizeof(double));
  gr->fin_residual = 0;
  if (ne) {
    memset(eq, 1, ne);
    hm_wcons cf = {ne, d, AE, ZE, c, eq};
    hm_svm_result rf;
    init_result(&rf, gr->Wfin, lf, ff, NULL);
    hmL_check(L, fn, hm_svm_nuclear(&cf, &oc, &rf));
    if (rf.status == HM_SVM_INFEASIBLE) hmL_error(L, fn, "inconsistent equality system for W_fin");
    double cmax = 0, rmax = 0;
    for (size_t k = 0; k < ne; k++) {
      double sgm = 0;
      for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) sgm += AE[k * d + i] * gr->Wfin[i * d + j] * ZE[k * d + j];
      cmax = fmax(cmax, fabs(c[k]));
      rmax = fmax(rmax, fabs(sgm - c[k]));
    }
    gr->fin_residual = rmax / fmax(1.0, cmax);
  }
  /* W_dir: inequality rows, then the equalities with rhs 0 */
  memset(eq, 0, ni);
  for (size_t k = 0; k < ni; k++) b[k] = 1;
  for (size_t k = 0; k < ne; k++) {
    memcpy(A + (ni + k) * d, AE + k * d, d * sizeof *A);
    memcpy(Zr + (ni + k) * d, ZE + k * d, d * sizeof *Zr);
    b[ni + k] = 0;
    eq[ni + k] = 1;
  }
  hm_wcons cd = {ni + ne, d, A, Zr, b, eq};
  hmL_check(L, fn, hm_svm_nuclear(&cd, &oc, &gr->dir));
  gr->dir.method_used = 10;
  gr->dir.margin = gr->dir.objective > 0 ? 1.0 / gr->dir.objective : INFINITY;
  gr->dir.lower_bound = gr->dir.dual_objective;
  double wn2 = 0, e = 0;
  for (size_t j = 0; j < dd; j++) wn2 += gr->Wdir[j] * gr->Wdir[j];
  for (size_t k = 0; k < ne; k++) {
    double sgm = 0;
    for (size_t i = 0; i < d; i++)
      for (size_t j = 0; j < d; j++) sgm += AE[k * d + i] * gr->Wdir[i * d + j] * ZE[k * d + j];
    e = fmax(e, fabs(sgm));
  }
  gr->dir_eq_residual = wn2 > 0 ? e / sqrt(wn2) : 0;
  gr->R = NAN;
  if (Wgd && gr->dir.status != HM_SVM_INFEASIBLE && wn2 > 0) {
    double sgm = 0;
    for (size_t j = 0; j < dd; j++) sgm += (Wgd[j] - gr->Wfin[j]) * gr->Wdir[j];
    gr->R = sgm / wn2;
  }
  for (size_t j = 0; j < dd; j++)
    gr->Weq[j] = isnan(gr->R) ? NAN : gr->Wfin[j] + gr->R * gr->Wdir[j];
#else
  (void)ds; (void)Z; (void)query; (void)sel; (void)Wgd; (void)logit; (void)o; (void)gr;
  hmL_error(L, fn, "norm \"nuc\" is not available in this build");
#endif
}

/* ------------------------------------------------------------------------------------ */
/* svm.gen(ds_or_X, W_gd or probs, opts)                                                */

static int l_gen(lua_State *L) {
  const char *fn = "svm.gen";
  luaL_checkstack(L, 100, "svm");
  static const char *const allowed[] = {"tau_h", "tau_l", "norm", "Z", "query", "probs",
                                        COMMON_OPTS, NULL};
  lua_settop(L, 3); /* absent options must not alias pushed values */
  hmL_checkoptions(L, 3, fn, allowed);
  dsrc ds;
  getds(L, 1, fn, &ds);
  size_t n = ds.n, T = ds.T, d = ds.d;
  arr in;
  checkarr(L, 2, fn, 2, "W_gd or probs", &in);
  finite_or_error(L, &in, fn, "argument #2");
  double tau_h = hmL_optnumber(L, 3, "tau_h", 1e-3, fn);
  double tau_l = hmL_optnumber(L, 3, "tau_l", 1e-6, fn);
  if (!(tau_l > 0 && tau_h > tau_l && tau_h < 1))
    hmL_error(L, fn, "thresholds must satisfy 0 < tau_l < tau_h < 1 (got %f, %f)", tau_l, tau_h);
  normspec ns;
  getnorm(L, 3, "norm", fn, 1, &ns);
  if (ns.kind == 2 || (ns.kind == 1 && !HM_HAVE_CONIC))
    hmL_error(L, fn, "norm %s is not available for the generalized SVM in this build",
              ns.kind == 1 ? "\"nuc\"" : "l_p");
  int probs_flag = hmL_optboolean(L, 3, "probs", 0, fn);
  size_t query;
  const double *Z = getZ(L, 3, &ds, fn, &query);
  sopts so;
  getsopts(L, 3, fn, &so);
  int isW = in.rank == 2 && in.dim[0] == d && in.dim[1] == d && !probs_flag;
  int isP = in.rank == 2 && in.dim[0] == n && in.dim[1] == T;
  char b[80];
  if (!isW && !isP)
    hmL_argerror(L, fn, 2, "%dx%d W_gd or %dx%d probabilities expected, got %s", (int)d, (int)d,
                 (int)n, (int)T, arrshape(&in, b));
  double *logit = scratch(L, n * T * sizeof *logit), *s = scratch(L, n * T * sizeof *s);
  if (isW) {
    logits_of(&ds, in.data, Z, query, logit);
    softmax_rows(logit, n, T, s);
  } else {
    for (size_t k = 0; k < n * T; k++) {
      if (!(in.data[k] >= 0)) hmL_argerror(L, fn, 2, "probabilities must be >= 0");
      s[k] = in.data[k];
      logit[k] = log(in.data[k]);
    }
  }
  unsigned char *sel = scratch(L, n * T);
  int ambiguous = 0, anymasked = 0;
  double mmax = 0;
  for (size_t i = 0; i < n; i++) {
    int cnt = 0;
    for (size_t t = 0; t < T; t++) {
      double v = s[i * T + t];
      sel[i * T + t] = v >= tau_h;
      cnt += sel[i * T + t];
      if (v > tau_l && v < tau_h) ambiguous = 1;
      if (v <= tau_l) anymasked = 1;
      if (!sel[i * T + t] && v > mmax) mmax = v;
    }
    if (cnt == 0) hmL_error(L, fn, "sample %d has no token with probability >= tau_h", (int)i + 1);
  }
  hm_mat *Wfin = hmL_newmat2(L, d, d, fn);
  int wfi = lua_gettop(L);
  hm_mat *Wdir = hmL_newmat2(L, d, d, fn);
  int wdi = lua_gettop(L);
  hm_mat *Weq = hmL_newmat2(L, d, d, fn);
  int wei = lua_gettop(L);
  size_t cap = n * T * T + n * T;
  hm_mat *lm = hmL_newvec(L, cap, fn);
  hm_mat *fm = hmL_newvec(L, cap, fn);
  hm_svm_gen_result gr;
  memset(&gr, 0, sizeof gr);
  gr.Wfin = Wfin->data;
  gr.Wdir = Wdir->data;
  gr.Weq = Weq->data;
  init_result(&gr.dir, Wdir->data, lm->data, fm->data, NULL);
  size_t mdir;
  if (ns.kind == 0) {
    hmL_check(L, fn, hm_svm_gen(ds.X.data, n, T, d, Z, query, sel, isW ? in.data : NULL,
                                isW ? NULL : logit, &so.o, &gr));
    mdir = gr.n_ineq;
  } else {
    gen_nuclear(L, fn, &ds, Z, query, sel, isW ? in.data : NULL, logit, &so.o, &gr);
    mdir = gr.n_ineq + gr.n_eq;
  }
  /* trim multiplier arrays to the W_dir rows */
  hm_mat *l2 = hmL_newvec(L, mdir, fn);
  memcpy(l2->data, lm->data, mdir * sizeof(double));
  int l2i = lua_gettop(L);
  hm_mat *f2 = hmL_newvec(L, mdir, fn);
  memcpy(f2->data, fm->data, mdir * sizeof(double));
  int f2i = lua_gettop(L);
  lua_newtable(L);
  lua_pushvalue(L, wfi);
  lua_setfield(L, -2, "W_fin");
  push_result(L, "W", wdi, l2i, f2i, &gr.dir, NULL, NULL, mdir, NULL, so.support_tol, -1);
  lua_setfield(L, -2, "dir");
  lua_pushstring(L, status_name(gr.dir.status));
  lua_setfield(L, -2, "status");
  if (gr.dir.status != HM_SVM_INFEASIBLE) {
    lua_pushvalue(L, wdi);
    lua_setfield(L, -2, "W_dir");
  }
  if (!isnan(gr.R)) {
    setnum(L, "R", gr.R);
    lua_pushvalue(L, wei);
    lua_setfield(L, -2, "W_eq");
  }
  setnum(L, "fin_residual", gr.fin_residual);
  setnum(L, "dir_eq_residual", gr.dir_eq_residual);
  lua_pushinteger(L, gr.eq_rank);
  lua_setfield(L, -2, "eq_rank");
  lua_pushinteger(L, (lua_Integer)gr.n_eq);
  lua_setfield(L, -2, "n_eq");
  lua_pushinteger(L, (lua_Integer)gr.n_ineq);
  lua_setfield(L, -2, "n_ineq");
  for (int pass = 0; pass < 2; pass++) {
    lua_newtable(L);
    for (size_t i = 0; i < n; i++) {
      lua_newtable(L);
      lua_Integer c = 0;
      for (size_t t = 0; t < T; t++)
        if ((sel[i * T + t] != 0) == (pass == 0)) {
          lua_pushinteger(L, (lua_Integer)t + 1);
          lua_rawseti(L, -2, ++c);
        }
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, pass == 0 ? "selected" : "masked");
  }
  lua_newtable(L);
  lua_pushboolean(L, ambiguous);
  lua_setfield(L, -2, "ambiguous");
  lua_pushboolean(L, !anymasked);
  lua_setfield(L, -2, "finite");
  lua_pushboolean(L, gr.dir.status == HM_SVM_OPTIMAL);
  lua_setfield(L, -2, "solved");
  lua_pushboolean(L, !ambiguous && anymasked && gr.dir.status == HM_SVM_OPTIMAL);
  lua_setfield(L, -2, "ok");
  setnum(L, "masked_max", mmax);
  lua_setfield(L, -2, "accept");
  return 1;
}

/* ------------------------------------------------------------------------------------ */
/* checks                                                                                */

static int l_rank(lua_State *L) {
  const char *fn = "svm.rank";
  luaL_checkstack(L, 100, "svm");
  static const char *const allowed[] = {"rtol", NULL};
  lua_settop(L, 2); /* absent options must not alias pushed values */
  hmL_checkoptions(L, 2, fn, allowed);
  arr W;
  checkarr(L, 1, fn, 1, "W", &W);
  char b[80];
  if (W.rank != 2) hmL_argerror(L, fn, 1, "matrix expected, got shape %s", arrshape(&W, b));
  double rtol = hmL_optnumber(L, 2, "rtol", 1e-6, fn);
  if (!(rtol >= 0 && rtol < 1)) hmL_error(L, fn, "option rtol must lie in [0, 1), got %f", rtol);
  finite_or_error(L, &W, fn, "W");
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
  arr G, W;
  checkarr(L, 1, fn, 1, "G", &G);
  checkarr(L, 2, fn, 2, "Wmm", &W);
  char b1[80], b2[80];
  if (G.size != W.size || G.rank != W.rank || G.dim[0] != W.dim[0] || G.dim[1] != W.dim[1])
    hmL_argerror(L, fn, 2, "shape %s expected (as G), got %s", arrshape(&G, b1), arrshape(&W, b2));
  finite_or_error(L, &G, fn, "G");
  finite_or_error(L, &W, fn, "Wmm");
  double g = sqrt(dotn(G.data, G.data, G.size)), w = sqrt(dotn(W.data, W.data, W.size));
  if (g == 0 || w == 0) return hmL_error(L, fn, "zero %s: the alignment is undefined", g == 0 ? "gradient" : "Wmm");
  lua_pushnumber(L, dotn(G.data, W.data, G.size) / (g * w));
  return 1;
}

/* token scores gamma_it = Y_i v^T x_it, or given n x T scores */
static double *getscores(lua_State *L, int idx, const dsrc *ds, const double *Y, const char *fn,
                         int argn) {
  arr a;
  checkarr(L, idx, fn, argn, "v or scores", &a);
  finite_or_error(L, &a, fn, "v or scores");
  size_t n = ds->n, T = ds->T, d = ds->d;
  double *g = scratch(L, n * T * sizeof *g);
  if (a.rank == 2 && a.dim[0] == n && a.dim[1] == T) {
    memcpy(g, a.data, n * T * sizeof *g);
  } else if (a.size == d && a.rank == 1) {
    for (size_t i = 0; i < n; i++)
      for (size_t t = 0; t < T; t++)
        g[i * T + t] = (Y ? Y[i] : 1.0) * dotn(ds->X.data + (i * T + t) * d, a.data, d);
  } else {
    char b[80];
    hmL_argerror(L, fn, argn, "head v (%d) or scores (%dx%d) expected, got %s", (int)d, (int)n,
                 (int)T, arrshape(&a, b));
  }
  return g;
}

/* Solve the Frobenius W-SVM for (ds, alpha) or use the given Wmm; fills margins (n*(T-1)) and
 * returns the status; Wout gets W (d x d). */
static hm_svm_status att_margins(lua_State *L, const char *fn, const dsrc *ds, const size_t *al,
                                 const double *Z, size_t query, const double *Wgiven,
                                 double *Wout, double *margins, size_t *smp, size_t *tok,
                                 size_t *m_out, double *farkas_res) {
  size_t n = ds->n, T = ds->T, d = ds->d, mmax = (n * (T - 1) > 0) ? n * (T - 1) : 1;
  double *A = scratch(L, mmax * d * sizeof *A), *Zr = scratch(L, mmax * d * sizeof *Zr);
  double *b = scratch(L, mmax * sizeof *b);
  size_t m;
  hmL_check(L, fn, hm_svm_build_w(ds->X.data, n, T, d, Z, query, al, NULL, A, Zr, b, smp, tok, &m));
  *m_out = m;
  if (Wgiven) {
    memcpy(Wout, Wgiven, d * d * sizeof *Wout);
    for (size_t k = 0; k < m; k++) {
      double s = 0;
      for (size_t i = 0; i < d; i++) s += A[k * d + i] * dotn(Wout + i * d, Zr + k * d, d);
      margins[k] = s;
    }
    return HM_SVM_OPTIMAL;
  }
  double *l = scratch(L, mmax * sizeof *l), *f = scratch(L, mmax * sizeof *f);
  hm_svm_result r;
  init_result(&r, Wout, l, f, margins);
  hm_wcons c = {m, d, A, Zr, b, NULL};
  hmL_check(L, fn, hm_svm_qp_w(&c, NULL, &r));
  if (farkas_res) *farkas_res = r.farkas_residual;
  return r.status;
}

/* svm.locally_optimal(ds, alpha, v_or_scores, {Wmm=, Z=, query=, y=, support_tol=}) */
static int l_locally_optimal(lua_State *L) {
  const char *fn = "svm.locally_optimal";
  luaL_checkstack(L, 100, "svm");
  static const char *const allowed[] = {"Wmm", "Z", "query", "y", "support_tol", NULL};
  lua_settop(L, 4); /* absent options must not alias pushed values */
  hmL_checkoptions(L, 4, fn, allowed);
  dsrc ds;
  getds(L, 1, fn, &ds);
  size_t n = ds.n, T = ds.T, d = ds.d;
  size_t *al = getalpha(L, 2, n, T, fn, 2);
  const double *Y = getY(L, 4, &ds, fn);
  double *g = getscores(L, 3, &ds, Y, fn, 3);
  size_t query;
  const double *Z = getZ(L, 4, &ds, fn, &query);
  double stol = hmL_optnumber(L, 4, "support_tol", 1e-6, fn);
  const double *Wg = NULL;
  if (hmL_optfield(L, 4, "Wmm") != LUA_TNIL) {
    arr a;
    if (!toarr(L, lua_gettop(L), fn, "Wmm", &a) || a.rank != 2 || a.dim[0] != d || a.dim[1] != d)
      hmL_error(L, fn, "option Wmm: %dx%d matrix expected", (int)d, (int)d);
    Wg = a.data;
  }
  size_t mmax = (n * (T - 1) > 0) ? n * (T - 1) : 1;
  double *W = scratch(L, d * d * sizeof *W), *mg = scratch(L, mmax * sizeof *mg);
  size_t *smp = scratch(L, mmax * sizeof *smp), *tok = scratch(L, mmax * sizeof *tok), m;
  hm_svm_status st = att_margins(L, fn, &ds, al, Z, query, Wg, W, mg, smp, tok, &m, NULL);
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
  lua_pushstring(L, status_name(st));
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
  luaL_checkstack(L, 100, "svm");
  static const char *const allowed[] = {"c_thr", "Z", "query", "y", "support_tol", NULL};
  lua_settop(L, 4); /* absent options must not alias pushed values */
  hmL_checkoptions(L, 4, fn, allowed);
  dsrc ds;
  getds(L, 1, fn, &ds);
  size_t n = ds.n, T = ds.T, d = ds.d;
  arr Wf;
  checkarr(L, 2, fn, 2, "W_final", &Wf);
  if (Wf.rank != 2 || Wf.dim[0] != d || Wf.dim[1] != d)
    hmL_argerror(L, fn, 2, "%dx%d matrix expected", (int)d, (int)d);
  finite_or_error(L, &Wf, fn, "W_final");
  const double *Y = getY(L, 4, &ds, fn);
  double *g = getscores(L, 3, &ds, Y, fn, 3);
  size_t query;
  const double *Z = getZ(L, 4, &ds, fn, &query);
  double cthr = hmL_optnumber(L, 4, "c_thr", 0.95, fn);
  double stol = hmL_optnumber(L, 4, "support_tol", 1e-6, fn);
  double *lg = scratch(L, n * T * sizeof *lg);
  logits_of(&ds, Wf.data, Z, query, lg);
  size_t *al = scratch(L, n * sizeof *al);
  int global = 1, tie = 0;
  for (size_t i = 0; i < n; i++) {
    size_t a = 0, o = 0;
    for (size_t t = 1; t < T; t++) {
      if (lg[i * T + t] > lg[i * T + a]) a = t;
      if (g[i * T + t] > g[i * T + o]) o = t;
    }
    for (size_t t = 0; t < T; t++)
      if (t != o && fabs(g[i * T + t] - g[i * T + o]) <= 1e-12 * fmax(1.0, fabs(g[i * T + o]))) tie = 1;
    al[i] = a;
    if (a != o) global = 0;
  }
  size_t mmax = (n * (T - 1) > 0) ? n * (T - 1) : 1;
  double *W = scratch(L, d * d * sizeof *W), *mg = scratch(L, mmax * sizeof *mg);
  size_t *smp = scratch(L, mmax * sizeof *smp), *tok = scratch(L, mmax * sizeof *tok), m;
  hm_svm_status st = att_margins(L, fn, &ds, al, Z, query, NULL, W, mg, smp, tok, &m, NULL);
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
  push_int_array(L, al, n);
  lua_setfield(L, -2, "alpha");
  lua_pushboolean(L, global);
  lua_setfield(L, -2, "is_opt");
  lua_pushboolean(L, tie);
  lua_setfield(L, -2, "score_tie");
  lua_pushboolean(L, feasible);
  lua_setfield(L, -2, "feasible");
  lua_pushboolean(L, locopt);
  lua_setfield(L, -2, "locally_optimal");
  setnum(L, "corr", c);
  lua_pushstring(L, status_name(st));
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
  luaL_checkstack(L, 100, "svm");
  static const char *const allowed[] = {"Z", "query", NULL};
  lua_settop(L, 3); /* absent options must not alias pushed values */
  hmL_checkoptions(L, 3, fn, allowed);
  dsrc ds;
  getds(L, 1, fn, &ds);
  size_t n = ds.n, T = ds.T, d = ds.d;
  size_t *al = getalpha(L, 2, n, T, fn, 2);
  size_t query;
  const double *Z = getZ(L, 3, &ds, fn, &query);
  size_t mmax = (n * (T - 1) > 0) ? n * (T - 1) : 1;
  double *A = scratch(L, mmax * d * sizeof *A), *Zr = scratch(L, mmax * d * sizeof *Zr);
  double *b = scratch(L, mmax * sizeof *b);
  size_t *smp = scratch(L, mmax * sizeof *smp), *tok = scratch(L, mmax * sizeof *tok), m;
  hmL_check(L, fn, hm_svm_build_w(ds.X.data, n, T, d, Z, query, al, NULL, A, Zr, b, smp, tok, &m));
  hm_mat *xm = hmL_newmat2(L, d, d, fn);
  int xi = lua_gettop(L);
  hm_mat *lm = hmL_newvec(L, m, fn);
  int li = lua_gettop(L);
  hm_mat *fm = hmL_newvec(L, m, fn);
  int fi = lua_gettop(L);
  double *mg = scratch(L, mmax * sizeof *mg);
  hm_svm_result r;
  init_result(&r, xm->data, lm->data, fm->data, mg);
  hm_wcons c = {m, d, A, Zr, b, NULL};
  hmL_check(L, fn, hm_svm_qp_w(&c, NULL, &r));
  lua_pushboolean(L, r.status != HM_SVM_INFEASIBLE);
  rowinfo ri = {1, n, T, smp, NULL, tok};
  push_result(L, "W", xi, li, fi, &r, mg, b, m, &ri, 1e-6, -1);
  return 2;
}

/* svm.no_stationary_check(ds, {Z=, query=, rtol=}) (theory.md D.0.2) */
static int l_no_stationary(lua_State *L) {
  const char *fn = "svm.no_stationary_check";
  luaL_checkstack(L, 100, "svm");
  static const char *const allowed[] = {"Z", "query", "rtol", NULL};
  lua_settop(L, 2); /* absent options must not alias pushed values */
  hmL_checkoptions(L, 2, fn, allowed);
  dsrc ds;
  getds(L, 1, fn, &ds);
  size_t n = ds.n, T = ds.T, d = ds.d;
  size_t query;
  const double *Z = getZ(L, 2, &ds, fn, &query);
  double rtol = hmL_optnumber(L, 2, "rtol", 1e-10, fn);
  double *Zm = scratch(L, n * d * sizeof *Zm);
  for (size_t i = 0; i < n; i++)
    memcpy(Zm + i * d, Z ? Z + i * d : ds.X.data + (i * T + query) * d, d * sizeof *Zm);
  int rz;
  double gap;
  hmL_check(L, fn, hm_svm_rank(Zm, n, d, rtol, &rz, &gap, NULL));
  int minr = (int)T;
  lua_newtable(L);
  int ranks = lua_gettop(L);
  double *D = scratch(L, (T > 1 ? T - 1 : 1) * d * sizeof *D);
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
  luaL_checkstack(L, 100, "svm");
  static const char *const allowed[] = {"y", "tol", NULL};
  lua_settop(L, 3); /* absent options must not alias pushed values */
  hmL_checkoptions(L, 3, fn, allowed);
  dsrc ds;
  getds(L, 1, fn, &ds);
  size_t n = ds.n, T = ds.T;
  const double *Y = getY(L, 3, &ds, fn);
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
  luaL_checkstack(L, 100, "svm");
  static const char *const allowed[] = {"Wmm", "Z", "query", "support_tol", NULL};
  lua_settop(L, 3); /* absent options must not alias pushed values */
  hmL_checkoptions(L, 3, fn, allowed);
  dsrc ds;
  getds(L, 1, fn, &ds);
  size_t n = ds.n, T = ds.T, d = ds.d;
  size_t *al = getalpha(L, 2, n, T, fn, 2);
  size_t query;
  const double *Z = getZ(L, 3, &ds, fn, &query);
  double stol = hmL_optnumber(L, 3, "support_tol", 1e-6, fn);
  const double *Wg = NULL;
  if (hmL_optfield(L, 3, "Wmm") != LUA_TNIL) {
    arr a;
    if (!toarr(L, lua_gettop(L), fn, "Wmm", &a) || a.rank != 2 || a.dim[0] != d || a.dim[1] != d)
      hmL_error(L, fn, "option Wmm: %dx%d matrix expected", (int)d, (int)d);
    Wg = a.data;
  }
  size_t mmax = (n * (T - 1) > 0) ? n * (T - 1) : 1;
  double *W = scratch(L, d * d * sizeof *W), *mg = scratch(L, mmax * sizeof *mg);
  size_t *smp = scratch(L, mmax * sizeof *smp), *tok = scratch(L, mmax * sizeof *tok), m;
  hm_svm_status st = att_margins(L, fn, &ds, al, Z, query, Wg, W, mg, smp, tok, &m, NULL);
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
  lua_pushstring(L, status_name(st));
  return 2;
}

static const luaL_Reg funcs[] = {
    {"hard_margin", l_hard_margin},
    {"prompt", l_prompt},
    {"head", l_head},
    {"att", l_att},
    {"seq", l_seq},
    {"gen", l_gen},
    {"rank", l_rank},
    {"grad_alignment", l_grad_alignment},
    {"locally_optimal", l_locally_optimal},
    {"classify", l_classify},
    {"feasible", l_feasible},
    {"no_stationary_check", l_no_stationary},
    {"equal_scores", l_equal_scores},
    {"support_tokens", l_support_tokens},
    {NULL, NULL}};

int luaopen_hardmax_svm(lua_State *L) {
  luaL_newlib(L, funcs);
  hmL_svm_open_conic(L);
  lua_pushboolean(L, HM_HAVE_CONIC);
  lua_setfield(L, -2, "has_conic");
  return 1;
}
