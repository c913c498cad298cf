/* Arguments and results of the svm binding (see hm_lsvm_args.h): Lua values -> C arrays,
 * datasets, selections, options and constraint rows; C solver results -> Lua tables. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hm_lsvm_args.h"

/* ------------------------------------------------------------------------------------ */
/* arrays: a mat, or a nested Lua table of numbers (converted to a fresh mat on the stack) */

void *hmL_svm_scratch(lua_State *L, size_t bytes) {
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

int hmL_svm_toarr(lua_State *L, int idx, const char *fn, const char *what, svm_arr *a) {
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

void hmL_svm_checkarr(lua_State *L, int idx, const char *fn, int argn, const char *what,
                      svm_arr *a) {
  if (!hmL_svm_toarr(L, idx, fn, what, a))
    hmL_argerror(L, fn, argn, "%s: mat or table expected, got %s", what,
                 luaL_typename(L, idx));
}

const char *hmL_svm_arrshape(const svm_arr *a, char *buf) {
  if (a->rank == 1) snprintf(buf, 80, "%zu", a->dim[0]);
  else if (a->rank == 2) snprintf(buf, 80, "%zux%zu", a->dim[0], a->dim[1]);
  else snprintf(buf, 80, "%zux%zux%zu", a->dim[0], a->dim[1], a->dim[2]);
  return buf;
}

void hmL_svm_finite(lua_State *L, const svm_arr *a, const char *fn, const char *what) {
  if (!hm_all_finite(a->data, a->size)) hmL_error(L, fn, "%s contains NaN or Inf", what);
}

/* ------------------------------------------------------------------------------------ */
/* datasets: a token array X (n x T x d), or anything with fields X, Y, Z, v              */

static int is_array_table(lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TTABLE) return 0;
  int t = lua_rawgeti(L, idx, 1);
  lua_pop(L, 1);
  return t != LUA_TNIL;
}

static int getfield_arr(lua_State *L, int obj, const char *key, const char *fn, svm_arr *a) {
  lua_getfield(L, obj, key);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return 0;
  }
  int top = lua_gettop(L);
  if (!hmL_svm_toarr(L, top, fn, key, a))
    return hmL_error(L, fn, "dataset field %s: mat or table expected, got %s", key,
                     luaL_typename(L, top));
  return 1; /* value (and a converted copy) stay on the stack */
}

void hmL_svm_getds(lua_State *L, int idx, const char *fn, svm_ds *ds) {
  memset(ds, 0, sizeof *ds);
  idx = lua_absindex(L, idx);
  if (hmL_testmat(L, idx) || is_array_table(L, idx)) {
    hmL_svm_checkarr(L, idx, fn, 1, "X", &ds->X);
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
    hmL_argerror(L, fn, 1, "X: n x T x d array expected, got shape %s",
                 hmL_svm_arrshape(&ds->X, b));
  ds->n = ds->X.dim[0];
  ds->T = ds->X.dim[1];
  ds->d = ds->X.dim[2];
  if (ds->n == 0 || ds->T == 0 || ds->d == 0) hmL_argerror(L, fn, 1, "X is empty");
  hmL_svm_finite(L, &ds->X, fn, "X");
}

const double *hmL_svm_getZ(lua_State *L, int oi, const svm_ds *ds, const char *fn, size_t *query) {
  *query = 0;
  int t = hmL_optfield(L, oi, "Z");
  if (t != LUA_TNIL) {
    int vi = lua_gettop(L);
    svm_arr a;
    char b[80];
    int isarr = hmL_svm_toarr(L, vi, fn, "Z", &a);
    if (!isarr || a.rank != 2 || a.dim[0] != ds->n || a.dim[1] != ds->d)
      hmL_error(L, fn, "option Z: %dx%d query matrix expected, got %s", (int)ds->n, (int)ds->d,
                isarr ? hmL_svm_arrshape(&a, b) : luaL_typename(L, vi));
    hmL_svm_finite(L, &a, fn, "Z");
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
                hmL_svm_arrshape(&ds->Z, b));
    hmL_svm_finite(L, &ds->Z, fn, "Z");
    return ds->Z.data;
  }
  return NULL; /* self-attention, first token */
}

const double *hmL_svm_getY(lua_State *L, int oi, const svm_ds *ds, const char *fn) {
  size_t n = ds->n;
  const double *Y = NULL;
  if (hmL_optfield(L, oi, "y") != LUA_TNIL) {
    svm_arr a;
    if (!hmL_svm_toarr(L, lua_gettop(L), fn, "y", &a) || a.size != n)
      hmL_error(L, fn, "option y: %d labels expected", (int)n);
    Y = a.data;
  } else {
    lua_pop(L, 1);
    if (ds->hasY) {
      if (ds->Y.size != n)
        hmL_error(L, fn, "dataset Y: %d labels expected (one per sample)", (int)n);
      Y = ds->Y.data;
    }
  }
  if (Y)
    for (size_t i = 0; i < n; i++)
      if (Y[i] != 1 && Y[i] != -1)
        hmL_error(L, fn, "labels must be +1 or -1, got %f at %d", Y[i], (int)i + 1);
  return Y;
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

size_t *hmL_svm_getalpha(lua_State *L, int idx, size_t n, size_t T, const char *fn, int argn) {
  idx = lua_absindex(L, idx);
  size_t *al = hmL_svm_scratch(L, n * sizeof *al);
  hm_mat *m = hmL_testmat(L, idx);
  if (m) {
    if (m->size != n)
      hmL_argerror(L, fn, argn, "alpha: %d indices expected, got %d", (int)n, (int)m->size);
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
    hmL_argerror(L, fn, argn, "alpha: table of token indices expected, got %s",
                 luaL_typename(L, idx));
  if (lua_rawlen(L, idx) != n)
    hmL_argerror(L, fn, argn, "alpha: %d indices expected, got %d", (int)n,
                 (int)lua_rawlen(L, idx));
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

size_t *hmL_svm_getalpha2(lua_State *L, int idx, size_t n, size_t T, const char *fn, int argn) {
  idx = lua_absindex(L, idx);
  size_t *al = hmL_svm_scratch(L, n * T * sizeof *al);
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
      hmL_argerror(L, fn, argn, "alpha[%d]: table of %d token indices expected", (int)i + 1,
                   (int)T);
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
/* entry and options                                                                     */

void hmL_svm_enter(lua_State *L, const char *fn, int oi, const char *const allowed[]) {
  luaL_checkstack(L, 100, "svm");
  lua_settop(L, oi);
  hmL_checkoptions(L, oi, fn, allowed);
}

void hmL_svm_getsopts(lua_State *L, int oi, const char *fn, svm_sopts *so) {
  hm_svm_opts_default(&so->o);
  so->o.tol = hmL_optnumber(L, oi, "tol", 1e-9, fn);
  if (!(so->o.tol > 0)) hmL_error(L, fn, "option tol must be positive");
  so->o.max_iter = (int)hmL_optinteger(L, oi, "max_iter", 100, fn);
  if (so->o.max_iter < 1) hmL_error(L, fn, "option max_iter must be >= 1");
  const char *meth = hmL_optstring(L, oi, "method", "auto", fn);
  if (!strcmp(meth, "auto")) so->o.method = HM_SVM_AUTO;
  else if (!strcmp(meth, "ipm")) so->o.method = HM_SVM_IPM;
  else if (!strcmp(meth, "activeset")) so->o.method = HM_SVM_ACTIVESET;
  else
    hmL_error(L, fn, "option method: \"auto\", \"ipm\" or \"activeset\" expected, got \"%s\"",
              meth);
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

void hmL_svm_getnorm(lua_State *L, int oi, const char *key, const char *fn, int allow_nuc,
                     svm_norm *ns) {
  ns->kind = 0;
  ns->p = 2;
  int t = hmL_optfield(L, oi, key);
  if (t == LUA_TNIL) {
  } else if (t == LUA_TSTRING) {
    const char *s = lua_tostring(L, -1);
    if (!strcmp(s, "fro") || !strcmp(s, "2")) ns->kind = 0;
    else if (allow_nuc && !strcmp(s, "nuc")) ns->kind = 1;
    else if (allow_nuc && !strcmp(s, "spec")) ns->kind = 5;
    else if (!strcmp(s, "inf")) ns->kind = 3, ns->p = INFINITY;
    else if (!strcmp(s, "l1")) ns->kind = 4, ns->p = 1;
    else
      hmL_error(L, fn, "option %s: %s expected, got \"%s\"", key,
                allow_nuc ? "\"fro\", \"nuc\", \"spec\", \"inf\", \"l1\" or a number p in [1, inf]"
                          : "\"fro\", \"inf\", \"l1\" or a number p in [1, inf]",
                s);
  } else if (t == LUA_TNUMBER) {
    double p = lua_tonumber(L, -1);
    if (!(p >= 1))
      hmL_error(L, fn, "option %s: p in [1, inf] expected (math.huge: max |x_j|), got %f", key, p);
    if (p == 1) {
      ns->kind = 4;
      ns->p = 1;
    } else if (isinf(p)) {
      ns->kind = 3;
      ns->p = p;
    } else if (p != 2) {
      ns->kind = 2;
      ns->p = p;
    }
  } else {
    hmL_error(L, fn, "option %s: string or number expected, got %s", key, lua_typename(L, t));
  }
  lua_pop(L, 1);
}

double *hmL_svm_getrhs(lua_State *L, int oi, size_t n, const char *fn) {
  double *rhs = hmL_svm_scratch(L, n * sizeof *rhs);
  for (size_t i = 0; i < n; i++) rhs[i] = 1;
  int t = hmL_optfield(L, oi, "rhs");
  if (t != LUA_TNIL) {
    svm_arr a;
    if (!hmL_svm_toarr(L, lua_gettop(L), fn, "rhs", &a) || a.size != n)
      hmL_error(L, fn, "option rhs: %d numbers expected", (int)n);
    hmL_svm_finite(L, &a, fn, "rhs");
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

/* ------------------------------------------------------------------------------------ */
/* constraint rows and logits                                                            */

void hmL_svm_attrows(lua_State *L, const char *fn, const svm_ds *ds, const size_t *al,
                     const double *Z, size_t query, const double *rhs, svm_attrows *w) {
  size_t n = ds->n, T = ds->T, d = ds->d;
  size_t cap = (n * (T - 1) > 0) ? n * (T - 1) : 1;
  w->cap = cap;
  w->A = hmL_svm_scratch(L, cap * d * sizeof *w->A);
  w->Zr = hmL_svm_scratch(L, cap * d * sizeof *w->Zr);
  w->b = hmL_svm_scratch(L, cap * sizeof *w->b);
  w->smp = hmL_svm_scratch(L, cap * sizeof *w->smp);
  w->tok = hmL_svm_scratch(L, cap * sizeof *w->tok);
  hmL_check(L, fn, hm_svm_build_w(ds->X.data, n, T, d, Z, query, al, rhs, w->A, w->Zr, w->b,
                                  w->smp, w->tok, &w->m));
}

void hmL_svm_logits(const svm_ds *ds, const double *W, const double *Z, size_t query,
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

/* ------------------------------------------------------------------------------------ */
/* results                                                                               */

const char *hmL_svm_status_name(hm_svm_status s) {
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
    case 12: return "lp-ipm";
    case 13: return "sdp-ipm";
    default: return "auto";
  }
}

void hmL_svm_setnum(lua_State *L, const char *k, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

void hmL_svm_push_int_array(lua_State *L, const size_t *v, size_t n) {
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushinteger(L, (lua_Integer)v[i] + 1);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

void hmL_svm_push_result(lua_State *L, const char *solname, int xi, int li, int fi,
                         const hm_svm_result *r, const double *margins, const double *b,
                         size_t m, const svm_rowinfo *ri, double support_tol) {
  lua_newtable(L);
  lua_pushstring(L, hmL_svm_status_name(r->status));
  lua_setfield(L, -2, "status");
  lua_pushstring(L, method_name(r->method_used));
  lua_setfield(L, -2, "method");
  int infeas = r->status == HM_SVM_INFEASIBLE;
  if (!infeas) {
    lua_pushvalue(L, xi);
    lua_setfield(L, -2, solname);
  }
  hmL_svm_setnum(L, "objective", r->objective);
  hmL_svm_setnum(L, "lower_bound", r->lower_bound);
  hmL_svm_setnum(L, "margin", r->margin);
  hmL_svm_setnum(L, "rel_gap", r->rel_gap);
  hmL_svm_setnum(L, "primal_infeas", r->primal_infeas);
  lua_newtable(L);
  hmL_svm_setnum(L, "stationarity", r->stationarity);
  hmL_svm_setnum(L, "complementarity", r->complementarity);
  lua_setfield(L, -2, "kkt");
  lua_pushinteger(L, r->iterations);
  lua_setfield(L, -2, "iterations");
  hmL_svm_setnum(L, "time", r->seconds);
  lua_pushvalue(L, li);
  lua_setfield(L, -2, "lambda");
  lua_pushinteger(L, (lua_Integer)m);
  lua_setfield(L, -2, "m");
  if (infeas) {
    lua_pushvalue(L, fi);
    lua_setfield(L, -2, "farkas");
    hmL_svm_setnum(L, "farkas_residual", r->farkas_residual);
  }
  /* rows */
  if (ri && ri->kind > 0) {
    lua_newtable(L);
    hmL_svm_push_int_array(L, ri->sample, m);
    lua_setfield(L, -2, "sample");
    if (ri->kind == 2) {
      hmL_svm_push_int_array(L, ri->pos, m);
      lua_setfield(L, -2, "pos");
    }
    hmL_svm_push_int_array(L, ri->token, m);
    lua_setfield(L, -2, "token");
    lua_setfield(L, -2, "rows");
  }
  /* support: active rows (margin <= b + tol * max(1, |b|)) */
  hmL_svm_setnum(L, "support_tol", support_tol);
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

void hmL_svm_init_result(hm_svm_result *r, double *x, double *l, double *f, double *mg) {
  memset(r, 0, sizeof *r);
  r->x = x;
  r->lambda = l;
  r->farkas = f;
  r->margins = mg;
  r->margin = NAN;
  r->lower_bound = NAN;
  r->farkas_residual = NAN;
}

void hmL_svm_outputs(lua_State *L, const char *fn, const hm_mat *x, size_t m, size_t cap,
                     svm_out *o) {
  o->xi = lua_gettop(L);
  hm_mat *lm = hmL_newvec(L, m, fn);
  o->li = lua_gettop(L);
  hm_mat *fm = hmL_newvec(L, m, fn);
  o->fi = lua_gettop(L);
  o->mg = hmL_svm_scratch(L, cap * sizeof *o->mg);
  hmL_svm_init_result(&o->r, x->data, lm->data, fm->data, o->mg);
}
