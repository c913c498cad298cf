/* hardmax.mat, element-wise functions and reductions (see docs/mat.md): exp, log, abs, sqrt,
 * tanh, relu, sigmoid, sign, neg, pow (plain and in place), softmax / log_softmax along an
 * axis, sum / mean / max / min / argmax / argmin (all or along an axis), dot, norm, corr,
 * outer, trace, diag. The numeric work is the core's (hm_mat_ops, hm_linalg). */
#include <math.h>
#include <string.h>

#include "hm_linalg.h"
#include "hm_lmat.h"
#include "hm_mat_ops.h"

/* ---------------------------------------------------------------- unary math */

static int unop(lua_State *L, hm_unop op, int inplace, const char *fn) {
  hm_mat *a = hmL_checkmat(L, 1, fn);
  if (inplace) {
    hm_unop_apply(op, a->size, a->data, a->data);
    lua_settop(L, 1);
  } else {
    hm_mat *o = hmL_newmat(L, a->rank, a->dim, fn);
    hm_unop_apply(op, a->size, a->data, o->data);
  }
  return 1;
}

#define UNOP(name, OP)                                                                    \
  static int mat_##name(lua_State *L) { return unop(L, OP, 0, "mat." #name); }            \
  static int mat_##name##_(lua_State *L) { return unop(L, OP, 1, "mat." #name "_"); }
UNOP(exp, HM_EXP)
UNOP(log, HM_LOG)
UNOP(abs, HM_ABS)
UNOP(sqrt, HM_SQRT)
UNOP(tanh, HM_TANH)
UNOP(relu, HM_RELU)
UNOP(sigmoid, HM_SIGMOID)
UNOP(sign, HM_SIGN)
UNOP(neg, HM_NEG)

static int powop(lua_State *L, int inplace, const char *fn) {
  hm_mat *a = hmL_checkmat(L, 1, fn);
  double p = hmL_mat_checknumber(L, 2, fn);
  if (inplace) {
    hm_pow_apply(a->size, a->data, p, a->data);
    lua_settop(L, 1);
  } else {
    hm_mat *o = hmL_newmat(L, a->rank, a->dim, fn);
    hm_pow_apply(a->size, a->data, p, o->data);
  }
  return 1;
}
static int mat_pow(lua_State *L) { return powop(L, 0, "mat.pow"); }
static int mat_pow_(lua_State *L) { return powop(L, 1, "mat.pow_"); }

static int softmax(lua_State *L, int logsm, int inplace, const char *fn) {
  hm_mat *a = hmL_checkmat(L, 1, fn);
  int axis = lua_isnoneornil(L, 2) ? a->rank - 1 : hmL_mat_checkaxis(L, 2, a, fn);
  size_t outer, n, inner;
  hm_axis_split(a, axis, &outer, &n, &inner);
  double *out = a->data;
  if (inplace) lua_settop(L, 1);
  else out = hmL_newmat(L, a->rank, a->dim, fn)->data;
  hm_softmax(logsm, outer, n, inner, a->data, out);
  return 1;
}
static int mat_softmax(lua_State *L) { return softmax(L, 0, 0, "mat.softmax"); }
static int mat_log_softmax(lua_State *L) { return softmax(L, 1, 0, "mat.log_softmax"); }
static int mat_softmax_(lua_State *L) { return softmax(L, 0, 1, "mat.softmax_"); }
static int mat_log_softmax_(lua_State *L) { return softmax(L, 1, 1, "mat.log_softmax_"); }

/* --------------------------------------------------------------- reductions */

static int reduce(lua_State *L, hm_redop op, const char *fn) {
  hm_mat *a = hmL_checkmat(L, 1, fn);
  int isarg = op == HM_ARGMAX || op == HM_ARGMIN;
  if (lua_isnoneornil(L, 2)) {
    double r;
    if (a->size == 0 && op != HM_SUM && op != HM_MEAN)
      hmL_error(L, fn, "empty mat has no %s", op == HM_MAX || op == HM_ARGMAX ? "maximum"
                                                                            : "minimum");
    hm_reduce(op, 1, a->size, 1, a->data, &r);
    if (!isarg) {
      lua_pushnumber(L, r);
      return 1;
    }
    size_t flat = (size_t)r, idx[HM_MAXRANK];
    for (int k = a->rank - 1; k >= 0; k--) {
      idx[k] = flat % a->dim[k];
      flat /= a->dim[k];
    }
    for (int k = 0; k < a->rank; k++) lua_pushinteger(L, (lua_Integer)idx[k] + 1);
    return a->rank;
  }
  int axis = hmL_mat_checkaxis(L, 2, a, fn);
  size_t outer, n, inner;
  hm_axis_split(a, axis, &outer, &n, &inner);
  if (n == 0 && op != HM_SUM && op != HM_MEAN)
    hmL_error(L, fn, "cannot reduce an empty axis %d", axis + 1);
  if (a->rank == 1) {
    double r;
    hm_reduce(op, 1, n, 1, a->data, &r);
    if (isarg) lua_pushinteger(L, (lua_Integer)r + 1);
    else lua_pushnumber(L, r);
    return 1;
  }
  size_t dim[HM_MAXRANK];
  for (int k = 0, j = 0; k < a->rank; k++)
    if (k != axis) dim[j++] = a->dim[k];
  hm_mat *o = hmL_newmat(L, a->rank - 1, dim, fn);
  hm_reduce(op, outer, n, inner, a->data, o->data);
  if (isarg)
    for (size_t i = 0; i < o->size; i++) o->data[i] += 1.0;
  return 1;
}

static int mat_sum(lua_State *L) { return reduce(L, HM_SUM, "mat.sum"); }
static int mat_mean(lua_State *L) { return reduce(L, HM_MEAN, "mat.mean"); }
static int mat_max(lua_State *L) { return reduce(L, HM_MAX, "mat.max"); }
static int mat_min(lua_State *L) { return reduce(L, HM_MIN, "mat.min"); }
static int mat_argmax(lua_State *L) { return reduce(L, HM_ARGMAX, "mat.argmax"); }
static int mat_argmin(lua_State *L) { return reduce(L, HM_ARGMIN, "mat.argmin"); }

static int mat_dot(lua_State *L) {
  hm_mat *a = hmL_checkmat(L, 1, "mat.dot"), *b = hmL_checkmat(L, 2, "mat.dot");
  if (a->size != b->size) {
    char x[80], y[80];
    hmL_error(L, "mat.dot", "shapes %s and %s have different sizes (%d and %d)",
              hmL_shapestr(a, x), hmL_shapestr(b, y), (int)a->size, (int)b->size);
  }
  lua_pushnumber(L, hm_dot(a->size, a->data, b->data));
  return 1;
}

/* Largest singular value / sum of singular values of a rank-2 mat (or rank-1 as 1 x n). */
static double sv_norm(lua_State *L, const hm_mat *a, int nuc, const char *fn) {
  size_t m = hm_mat_rows(a), n = hm_mat_cols(a), k = m < n ? m : n;
  if (k == 0) return 0.0;
  hmL_checkallfinite(L, 1, a, fn);
  hm_mat *s = hmL_newvec(L, k, fn); /* scratch anchored on the stack */
  hmL_matcheck(L, fn, hm_svd(m, n, a->data, 0, NULL, s->data, NULL));
  double r = 0.0;
  if (nuc) for (size_t i = 0; i < k; i++) r += s->data[i];
  else r = s->data[0];
  lua_pop(L, 1);
  return r;
}

static int mat_norm(lua_State *L) {
  const char *fn = "mat.norm";
  hm_mat *a = hmL_checkmat(L, 1, fn);
  double r;
  if (lua_isnoneornil(L, 2)) {
    r = hm_norm2(a->size, a->data);
  } else if (lua_type(L, 2) == LUA_TSTRING) {
    const char *s = lua_tostring(L, 2);
    if (strcmp(s, "fro") == 0) {
      r = hm_norm2(a->size, a->data);
    } else if (strcmp(s, "nuc") == 0) {
      if (a->rank == 3) hmL_argerror(L, fn, 1, "rank-1 or rank-2 mat expected for 'nuc'");
      r = sv_norm(L, a, 1, fn);
    } else {
      return hmL_argerror(L, fn, 2, "'fro', 'nuc' or a number p >= 1 expected, got '%s'", s);
    }
  } else if (lua_type(L, 2) == LUA_TNUMBER) {
    double p = (double)lua_tonumber(L, 2);
    if (!(p >= 1.0)) hmL_argerror(L, fn, 2, "p >= 1 expected, got %f", p);
    if (p == 2.0 && a->rank == 2) r = sv_norm(L, a, 0, fn);
    else hm_norm_p(a->size, a->data, p, &r);
  } else {
    return hmL_argerror(L, fn, 2, "'fro', 'nuc' or a number p >= 1 expected, got %s",
                        luaL_typename(L, 2));
  }
  lua_pushnumber(L, r);
  return 1;
}

static int mat_corr(lua_State *L) {
  const char *fn = "mat.corr";
  hm_mat *a = hmL_checkmat(L, 1, fn), *b = hmL_checkmat(L, 2, fn);
  if (!hmL_mat_same_shape(a, b)) hmL_mat_shape_error(L, fn, 1, 2);
  double na = hm_norm2(a->size, a->data), nb = hm_norm2(b->size, b->data);
  if (na == 0) hmL_argerror(L, fn, 1, "non-zero mat expected, got zero norm");
  if (nb == 0) hmL_argerror(L, fn, 2, "non-zero mat expected, got zero norm");
  if (!isfinite(na)) hmL_argerror(L, fn, 1, "finite entries expected, got NaN or Inf");
  if (!isfinite(nb)) hmL_argerror(L, fn, 2, "finite entries expected, got NaN or Inf");
  /* dot of the normalized arrays, so neither product over- nor underflows */
  double s = 0.0;
  for (size_t i = 0; i < a->size; i++) s += (a->data[i] / na) * (b->data[i] / nb);
  lua_pushnumber(L, s);
  return 1;
}

static int mat_outer(lua_State *L) {
  const char *fn = "mat.outer";
  hm_mat *u = hmL_checkmatrank(L, 1, fn, 1), *v = hmL_checkmatrank(L, 2, fn, 1);
  hm_mat *o = hmL_newmat2(L, u->dim[0], v->dim[0], fn);
  for (size_t i = 0; i < u->dim[0]; i++)
    for (size_t j = 0; j < v->dim[0]; j++) o->data[i * v->dim[0] + j] = u->data[i] * v->data[j];
  return 1;
}

static int mat_trace(lua_State *L) {
  hm_mat *a = hmL_checkmatrix(L, 1, "mat.trace");
  size_t k = a->dim[0] < a->dim[1] ? a->dim[0] : a->dim[1];
  double s = 0;
  for (size_t i = 0; i < k; i++) s += a->data[i * a->dim[1] + i];
  lua_pushnumber(L, s);
  return 1;
}

static int mat_diag(lua_State *L) {
  const char *fn = "mat.diag";
  hm_mat *a = hmL_checkmat(L, 1, fn);
  if (a->rank == 1) {
    size_t n = a->dim[0];
    hm_mat *o = hmL_newmat2(L, n, n, fn);
    for (size_t i = 0; i < n; i++) o->data[i * n + i] = a->data[i];
  } else if (a->rank == 2) {
    size_t k = a->dim[0] < a->dim[1] ? a->dim[0] : a->dim[1];
    hm_mat *o = hmL_newvec(L, k, fn);
    for (size_t i = 0; i < k; i++) o->data[i] = a->data[i * a->dim[1] + i];
  } else {
    char b[80];
    hmL_argerror(L, fn, 1, "rank-1 or rank-2 mat expected, got shape %s", hmL_shapestr(a, b));
  }
  return 1;
}

const luaL_Reg hmL_mat_math_methods[] = {
  {"exp", mat_exp}, {"exp_", mat_exp_}, {"log", mat_log}, {"log_", mat_log_},
  {"abs", mat_abs}, {"abs_", mat_abs_}, {"sqrt", mat_sqrt}, {"sqrt_", mat_sqrt_},
  {"tanh", mat_tanh}, {"tanh_", mat_tanh_}, {"relu", mat_relu}, {"relu_", mat_relu_},
  {"sigmoid", mat_sigmoid}, {"sigmoid_", mat_sigmoid_}, {"sign", mat_sign},
  {"sign_", mat_sign_}, {"neg", mat_neg}, {"neg_", mat_neg_}, {"pow", mat_pow}, {"pow_", mat_pow_},
  {"softmax", mat_softmax}, {"log_softmax", mat_log_softmax}, {"softmax_", mat_softmax_},
  {"log_softmax_", mat_log_softmax_},
  {"sum", mat_sum}, {"mean", mat_mean}, {"max", mat_max}, {"min", mat_min},
  {"argmax", mat_argmax}, {"argmin", mat_argmin}, {"dot", mat_dot}, {"norm", mat_norm},
  {"corr", mat_corr}, {"outer", mat_outer}, {"trace", mat_trace}, {"diag", mat_diag},
  {NULL, NULL}};
