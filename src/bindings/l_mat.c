/* hardmax.mat — dense double arrays of rank 1 to 3 (see docs/mat.md).
 *
 * This file: the userdata type (__index / __newindex / __len / __close / __tostring /
 * arithmetic metamethods), constructors, shape handling, views, element-wise arithmetic
 * and printing. Element-wise functions and reductions live in l_mat_math.c, linear algebra
 * in l_mat_linalg.c, .npy/.npz I/O in l_mat_io.c; the numeric work is done by the pure-C
 * core (hm_mat_ops, hm_linalg, hm_format). */
#include <math.h>
#include <string.h>

#include "hm_format.h"
#include "hm_linalg.h"
#include "hm_lmat.h"
#include "hm_mat_ops.h"

#define PRINTOPTS_KEY "hardmax.mat.printoptions"

/* ------------------------------------------------------------------ helpers */

const char *hmL_matshape(lua_State *L, int i, char *buf) {
  hm_mat *m = hmL_testmat(L, i);
  return m ? hmL_shapestr(m, buf) : "?";
}

void hmL_matcheck(lua_State *L, const char *fn, hm_status s) {
  if (s == HM_OK) return;
  switch (s) {
    case HM_ENONFINITE: hmL_error(L, fn, "matrix has NaN or Inf entries"); break;
    case HM_ENOMEM: hmL_error(L, fn, "not enough memory (or a dimension is too large)"); break;
    default: hmL_check(L, fn, s);
  }
}

hm_mat *hmL_checkmatrix(lua_State *L, int arg, const char *fn) {
  return hmL_checkmatrank(L, arg, fn, 2);
}

hm_mat *hmL_checksquare(lua_State *L, int arg, const char *fn) {
  hm_mat *m = hmL_checkmatrix(L, arg, fn);
  if (m->dim[0] != m->dim[1]) {
    char b[80];
    hmL_argerror(L, fn, arg, "square matrix expected, got shape %s", hmL_shapestr(m, b));
  }
  return m;
}

void hmL_checkallfinite(lua_State *L, int arg, const hm_mat *m, const char *fn) {
  if (!hm_all_finite(m->data, m->size))
    hmL_argerror(L, fn, arg, "finite entries expected, got NaN or Inf");
}

static hm_lmat *tolmat(lua_State *L, int i) {
  return (hm_lmat *)luaL_testudata(L, i, HM_MAT_TNAME);
}

/* Dimensions from arguments first..top (1 to 3 non-negative integers). */
static int checkdims(lua_State *L, int first, int top, size_t *dim, const char *fn) {
  int n = top - first + 1;
  if (n < 1 || n > HM_MAXRANK)
    hmL_error(L, fn, "1 to 3 dimensions expected, got %d", n < 0 ? 0 : n);
  for (int k = 0; k < n; k++) dim[k] = hmL_checksize(L, first + k, fn);
  return n;
}

void hmL_mat_shape_error(lua_State *L, const char *fn, int a, int b) {
  char x[80], y[80];
  hmL_error(L, fn, "shapes %s and %s do not conform", hmL_matshape(L, a, x),
            hmL_matshape(L, b, y));
}

int hmL_mat_same_shape(const hm_mat *a, const hm_mat *b) {
  if (a->rank != b->rank) return 0;
  for (int k = 0; k < a->rank; k++)
    if (a->dim[k] != b->dim[k]) return 0;
  return 1;
}

/* 1-based axis argument in [1, rank] -> 0-based. */
int hmL_mat_checkaxis(lua_State *L, int arg, const hm_mat *m, const char *fn) {
  lua_Integer a = hmL_checkint(L, arg, fn);
  if (a < 1 || a > m->rank)
    hmL_argerror(L, fn, arg, "axis in [1, %d] expected, got %I", m->rank, a);
  return (int)a - 1;
}

double hmL_mat_checknumber(lua_State *L, int arg, const char *fn) {
  if (lua_type(L, arg) != LUA_TNUMBER)
    hmL_argerror(L, fn, arg, "number expected, got %s", luaL_typename(L, arg));
  return (double)lua_tonumber(L, arg);
}

/* ------------------------------------------------------------- constructors */

static int mat_zeros(lua_State *L) {
  size_t dim[HM_MAXRANK];
  int r = checkdims(L, 1, lua_gettop(L), dim, "mat.zeros");
  hmL_newmat(L, r, dim, "mat.zeros");
  return 1;
}

static int mat_ones(lua_State *L) {
  size_t dim[HM_MAXRANK];
  int r = checkdims(L, 1, lua_gettop(L), dim, "mat.ones");
  hm_mat *m = hmL_newmat(L, r, dim, "mat.ones");
  for (size_t i = 0; i < m->size; i++) m->data[i] = 1.0;
  return 1;
}

static int mat_full(lua_State *L) {
  const char *fn = "mat.full";
  double v = hmL_mat_checknumber(L, 1, fn);
  size_t dim[HM_MAXRANK];
  int r = checkdims(L, 2, lua_gettop(L), dim, fn);
  hm_mat *m = hmL_newmat(L, r, dim, fn);
  for (size_t i = 0; i < m->size; i++) m->data[i] = v;
  return 1;
}

static int mat_eye(lua_State *L) {
  const char *fn = "mat.eye";
  size_t n = hmL_checksize(L, 1, fn);
  size_t c = lua_isnoneornil(L, 2) ? n : hmL_checksize(L, 2, fn);
  hm_mat *m = hmL_newmat2(L, n, c, fn);
  for (size_t i = 0; i < n && i < c; i++) m->data[i * c + i] = 1.0;
  return 1;
}

static int mat_range(lua_State *L) {
  const char *fn = "mat.range";
  double a, b, step = 1.0;
  if (lua_isnoneornil(L, 2)) {
    a = 1.0;
    b = hmL_checkfinite(L, 1, fn);
  } else {
    a = hmL_checkfinite(L, 1, fn);
    b = hmL_checkfinite(L, 2, fn);
    if (!lua_isnoneornil(L, 3)) step = hmL_checkfinite(L, 3, fn);
  }
  if (step == 0) hmL_argerror(L, fn, 3, "non-zero step expected, got 0");
  double cnt = floor((b - a) / step * (1 + 1e-12) + 1e-12) + 1;
  if (!(cnt >= 0)) cnt = 0;
  if (cnt > 1e15) hmL_error(L, fn, "range of %f elements is too large", cnt);
  hm_mat *m = hmL_newvec(L, (size_t)cnt, fn);
  for (size_t i = 0; i < m->size; i++) m->data[i] = a + (double)i * step;
  return 1;
}

static int mat_linspace(lua_State *L) {
  const char *fn = "mat.linspace";
  double a = hmL_checkfinite(L, 1, fn), b = hmL_checkfinite(L, 2, fn);
  size_t n = hmL_checksize(L, 3, fn);
  hm_mat *m = hmL_newvec(L, n, fn);
  if (n == 1) m->data[0] = a;
  for (size_t i = 0; n > 1 && i < n; i++)
    m->data[i] = i == n - 1 ? b : a + (b - a) * ((double)i / (double)(n - 1));
  return 1;
}

static int random_fill(lua_State *L, const char *fn, int normal) {
  int first = luaL_testudata(L, 1, HM_RNG_TNAME) ? 2 : 1;
  hm_rng *g = hmL_optrng(L, 1, fn);
  if (first == 1 && lua_type(L, 1) != LUA_TNUMBER)
    hmL_argerror(L, fn, 1, "rng or dimension expected, got %s", luaL_typename(L, 1));
  size_t dim[HM_MAXRANK];
  int r = checkdims(L, first, lua_gettop(L), dim, fn);
  hm_mat *m = hmL_newmat(L, r, dim, fn);
  if (normal) hm_rng_fill_normal(g, m->data, m->size);
  else hm_rng_fill_uniform(g, m->data, m->size);
  return 1;
}

static int mat_randn(lua_State *L) { return random_fill(L, "mat.randn", 1); }
static int mat_rand(lua_State *L) { return random_fill(L, "mat.rand", 0); }

/* Nested-table reader. */
typedef struct nest {
  int rank;
  size_t dim[HM_MAXRANK];
} nest;

static void nest_shape(lua_State *L, int t, nest *s, const char *fn) {
  s->rank = 0;
  lua_pushvalue(L, t);
  for (;;) {
    if (s->rank == HM_MAXRANK)
      hmL_argerror(L, fn, 1, "nested table of depth at most 3 expected");
    s->dim[s->rank++] = lua_rawlen(L, -1);
    if (lua_rawlen(L, -1) == 0) break;
    int ty = lua_rawgeti(L, -1, 1);
    lua_remove(L, -2);
    if (ty != LUA_TTABLE) break;
  }
  lua_pop(L, 1);
}

static void nest_fill(lua_State *L, const nest *s, int depth, double **out, size_t *idx,
                      const char *fn) {
  if (depth < 0 || depth >= HM_MAXRANK) return;
  size_t n = lua_rawlen(L, -1);
  if (n != s->dim[depth]) {
    char where[64] = "";
    int off = 0;
    for (int k = 0; k < depth; k++)
      off += snprintf(where + off, sizeof where - (size_t)off, "[%zu]", idx[k] + 1);
    hmL_argerror(L, fn, 1, "ragged nested table: t%s has %d entries, expected %d", where,
                 (int)n, (int)s->dim[depth]);
  }
  for (size_t i = 0; i < n; i++) {
    idx[depth] = i;
    int ty = lua_rawgeti(L, -1, (lua_Integer)(i + 1));
    if (depth + 1 < s->rank) {
      if (ty != LUA_TTABLE) {
        char where[64] = "";
        int off = 0;
        for (int k = 0; k <= depth; k++)
          off += snprintf(where + off, sizeof where - (size_t)off, "[%zu]", idx[k] + 1);
        hmL_argerror(L, fn, 1, "table expected at t%s, got %s", where, luaL_typename(L, -1));
      }
      nest_fill(L, s, depth + 1, out, idx, fn);
    } else {
      if (ty != LUA_TNUMBER) {
        char where[64] = "";
        int off = 0;
        for (int k = 0; k <= depth; k++)
          off += snprintf(where + off, sizeof where - (size_t)off, "[%zu]", idx[k] + 1);
        hmL_argerror(L, fn, 1, "number expected at t%s, got %s", where, luaL_typename(L, -1));
      }
      *(*out)++ = (double)lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
  }
}

static int mat_new(lua_State *L) {
  const char *fn = "mat.new";
  hm_mat *src = hmL_testmat(L, 1);
  if (src) {
    hmL_checkmat(L, 1, fn);
    hmL_pushcopy(L, src, fn);
    return 1;
  }
  if (!lua_istable(L, 1))
    hmL_argerror(L, fn, 1, "table or mat expected, got %s", luaL_typename(L, 1));
  int top = lua_gettop(L);
  if (top >= 2) { /* flat table + shape */
    size_t dim[HM_MAXRANK];
    int r = checkdims(L, 2, top, dim, fn);
    hm_mat *m = hmL_newmat(L, r, dim, fn);
    size_t n = lua_rawlen(L, 1);
    if (n != m->size) {
      char b[80];
      hmL_argerror(L, fn, 1, "table of %d numbers expected for shape %s, got %d",
                   (int)m->size, hmL_shapestr(m, b), (int)n);
    }
    for (size_t i = 0; i < n; i++) {
      if (lua_rawgeti(L, 1, (lua_Integer)(i + 1)) != LUA_TNUMBER)
        hmL_argerror(L, fn, 1, "number expected at t[%d], got %s", (int)(i + 1),
                     luaL_typename(L, -1));
      m->data[i] = (double)lua_tonumber(L, -1);
      lua_pop(L, 1);
    }
    return 1;
  }
  nest s;
  nest_shape(L, 1, &s, fn);
  hm_mat *m = hmL_newmat(L, s.rank, s.dim, fn);
  lua_pushvalue(L, 1);
  double *p = m->data;
  size_t idx[HM_MAXRANK];
  nest_fill(L, &s, 0, &p, idx, fn);
  lua_pop(L, 1);
  return 1;
}

/* ------------------------------------------------------------------- shape */

static int mat_shape(lua_State *L) {
  hm_mat *m = hmL_checkmat(L, 1, "mat.shape");
  for (int k = 0; k < m->rank; k++) lua_pushinteger(L, (lua_Integer)m->dim[k]);
  return m->rank;
}

static int mat_ndim(lua_State *L) {
  lua_pushinteger(L, hmL_checkmat(L, 1, "mat.ndim")->rank);
  return 1;
}

static int mat_size(lua_State *L) {
  hm_mat *m = hmL_checkmat(L, 1, "mat.size");
  if (!lua_isnoneornil(L, 2)) {
    int a = hmL_mat_checkaxis(L, 2, m, "mat.size");
    lua_pushinteger(L, (lua_Integer)m->dim[a]);
  } else {
    lua_pushinteger(L, (lua_Integer)m->size);
  }
  return 1;
}

static int mat_len(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)hmL_checkmat(L, 1, "mat.__len")->dim[0]);
  return 1;
}

static int mat_is_view(lua_State *L) {
  hmL_checkmat(L, 1, "mat.is_view");
  lua_pushboolean(L, tolmat(L, 1)->is_view);
  return 1;
}

/* Offset of the element at 1-based indices args first..first+rank-1. */
static size_t checkoffset(lua_State *L, const hm_mat *m, int first, int nidx, const char *fn) {
  if (nidx != m->rank) {
    char b[80];
    hmL_error(L, fn, "%d indices expected for a %s mat, got %d", m->rank, hmL_shapestr(m, b),
              nidx);
  }
  size_t off = 0;
  for (int k = 0; k < m->rank; k++)
    off = off * m->dim[k] + hmL_checkindex(L, first + k, m->dim[k], fn);
  return off;
}

static int mat_get(lua_State *L) {
  hm_mat *m = hmL_checkmat(L, 1, "mat.get");
  size_t off = checkoffset(L, m, 2, lua_gettop(L) - 1, "mat.get");
  lua_pushnumber(L, m->data[off]);
  return 1;
}

static int mat_set(lua_State *L) {
  const char *fn = "mat.set";
  hm_mat *m = hmL_checkmat(L, 1, fn);
  int top = lua_gettop(L);
  if (top < 3) hmL_error(L, fn, "indices and a value expected");
  double v = hmL_mat_checknumber(L, top, fn);
  size_t off = checkoffset(L, m, 2, top - 2, fn);
  m->data[off] = v;
  lua_settop(L, 1);
  return 1;
}

/* Shape for reshape: dims from args (one may be -1). */
static int reshape_dims(lua_State *L, const hm_mat *m, size_t *dim, const char *fn) {
  int top = lua_gettop(L), n = top - 1, infer = -1;
  if (n < 1 || n > HM_MAXRANK) hmL_error(L, fn, "1 to 3 dimensions expected, got %d", n);
  size_t known = 1;
  for (int k = 0; k < n; k++) {
    lua_Integer v = hmL_checkint(L, k + 2, fn);
    if (v == -1 && infer < 0) {
      infer = k;
      dim[k] = 1;
      continue;
    }
    if (v < 0) hmL_argerror(L, fn, k + 2, "non-negative size (or one -1) expected, got %I", v);
    dim[k] = (size_t)v;
    known *= dim[k];
  }
  if (infer >= 0) {
    if (known == 0 || m->size % known != 0) {
      char b[80];
      hmL_error(L, fn, "cannot infer a dimension: %d elements of shape %s", (int)m->size,
                hmL_shapestr(m, b));
    }
    dim[infer] = m->size / known;
  }
  size_t total;
  if (hm_shape_size(n, dim, &total) != HM_OK || total != m->size) {
    char b[80], c[80];
    hm_mat t;
    hm_mat_init(&t, n, dim, NULL);
    hmL_error(L, fn, "cannot reshape %s (%d elements) to %s", hmL_shapestr(m, b), (int)m->size,
              hmL_shapestr(&t, c));
  }
  return n;
}

static int mat_reshape(lua_State *L) {
  hm_mat *m = hmL_checkmat(L, 1, "mat.reshape");
  size_t dim[HM_MAXRANK];
  int r = reshape_dims(L, m, dim, "mat.reshape");
  hm_mat *o = hmL_newmat(L, r, dim, "mat.reshape");
  if (m->size) memcpy(o->data, m->data, m->size * sizeof(double));
  return 1;
}

static int mat_reshape_view(lua_State *L) {
  hm_mat *m = hmL_checkmat(L, 1, "mat.reshape_view");
  size_t dim[HM_MAXRANK];
  int r = reshape_dims(L, m, dim, "mat.reshape_view");
  hmL_pushview(L, 1, r, dim, m->data);
  return 1;
}

static int mat_t(lua_State *L) {
  const char *fn = "mat.t";
  hm_mat *m = hmL_checkmat(L, 1, fn);
  if (m->rank == 1) {
    char b[80];
    hmL_argerror(L, fn, 1, "rank-2 or rank-3 mat expected, got shape %s", hmL_shapestr(m, b));
  }
  if (m->rank == 2) {
    hm_mat *o = hmL_newmat2(L, m->dim[1], m->dim[0], fn);
    hm_transpose(1, m->dim[0], m->dim[1], m->data, o->data);
  } else {
    hm_mat *o = hmL_newmat3(L, m->dim[0], m->dim[2], m->dim[1], fn);
    hm_transpose(m->dim[0], m->dim[1], m->dim[2], m->data, o->data);
  }
  return 1;
}

static int mat_clone(lua_State *L) {
  hmL_pushcopy(L, hmL_checkmat(L, 1, "mat.clone"), "mat.clone");
  return 1;
}

static void push_nested(lua_State *L, const double *d, const size_t *dim, int rank) {
  lua_createtable(L, (int)(dim[0] < 1u << 30 ? dim[0] : 0), 0);
  size_t stride = 1;
  for (int k = 1; k < rank; k++) stride *= dim[k];
  for (size_t i = 0; i < dim[0]; i++) {
    if (rank == 1) lua_pushnumber(L, d[i]);
    else push_nested(L, d + i * stride, dim + 1, rank - 1);
    lua_rawseti(L, -2, (lua_Integer)(i + 1));
  }
}

static int mat_totable(lua_State *L) {
  hm_mat *m = hmL_checkmat(L, 1, "mat.totable");
  luaL_checkstack(L, 8, "mat.totable");
  push_nested(L, m->data, m->dim, m->rank);
  return 1;
}

/* List argument of concat/stack: table of mats. */
static int checklist(lua_State *L, int arg, const char *fn) {
  if (!lua_istable(L, arg))
    hmL_argerror(L, fn, arg, "table of mats expected, got %s", luaL_typename(L, arg));
  int n = (int)lua_rawlen(L, arg);
  if (n < 1) hmL_argerror(L, fn, arg, "non-empty table of mats expected");
  luaL_checkstack(L, n + 4, fn);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, arg, i);
    hm_lmat *u = tolmat(L, -1);
    if (!u) hmL_argerror(L, fn, arg, "mat expected at [%d], got %s", i, luaL_typename(L, -1));
    if (u->closed) hmL_argerror(L, fn, arg, "mat at [%d] was closed", i);
  }
  return n; /* the mats are now on the stack top */
}

static int mat_concat(lua_State *L) {
  const char *fn = "mat.concat";
  lua_settop(L, 2);
  int n = checklist(L, 1, fn), base = 3;
  hm_mat *f = hmL_testmat(L, base);
  int axis = lua_isnil(L, 2) ? 0 : hmL_mat_checkaxis(L, 2, f, fn);
  size_t dim[HM_MAXRANK], total = 0;
  for (int k = 0; k < f->rank; k++) dim[k] = f->dim[k];
  for (int i = 0; i < n; i++) {
    hm_mat *m = hmL_testmat(L, base + i);
    int ok = m->rank == f->rank;
    for (int k = 0; ok && k < f->rank; k++)
      if (k != axis && m->dim[k] != f->dim[k]) ok = 0;
    if (!ok) {
      char a[80], b[80];
      hmL_error(L, fn, "shapes %s and %s do not conform along axis %d", hmL_shapestr(f, a),
                hmL_shapestr(m, b), axis + 1);
    }
    total += m->dim[axis];
  }
  dim[axis] = total;
  hm_mat *o = hmL_newmat(L, f->rank, dim, fn);
  size_t at = 0;
  for (int i = 0; i < n; i++) {
    hm_mat *m = hmL_testmat(L, base + i);
    size_t outer, cnt, inner;
    hm_axis_split(m, axis, &outer, &cnt, &inner);
    hm_put_range(outer, total, inner, at, cnt, m->data, o->data);
    at += cnt;
  }
  return 1;
}

static int mat_stack(lua_State *L) {
  const char *fn = "mat.stack";
  lua_settop(L, 2);
  int n = checklist(L, 1, fn), base = 3;
  hm_mat *f = hmL_testmat(L, base);
  if (f->rank >= HM_MAXRANK) {
    char b[80];
    hmL_error(L, fn, "cannot stack mats of shape %s (rank would exceed 3)", hmL_shapestr(f, b));
  }
  lua_Integer ax = lua_isnil(L, 2) ? 1 : hmL_checkint(L, 2, fn);
  if (ax < 1 || ax > f->rank + 1)
    hmL_argerror(L, fn, 2, "axis in [1, %d] expected, got %I", f->rank + 1, ax);
  int axis = (int)ax - 1;
  for (int i = 1; i < n; i++)
    if (!hmL_mat_same_shape(f, hmL_testmat(L, base + i))) {
      char a[80], b[80];
      hmL_error(L, fn, "shapes %s and %s differ", hmL_shapestr(f, a),
                hmL_shapestr(hmL_testmat(L, base + i), b));
    }
  size_t dim[HM_MAXRANK];
  for (int k = 0, j = 0; k <= f->rank; k++) dim[k] = k == axis ? (size_t)n : f->dim[j++];
  hm_mat *o = hmL_newmat(L, f->rank + 1, dim, fn);
  size_t outer = 1, inner = 1;
  for (int k = 0; k < axis; k++) outer *= f->dim[k];
  for (int k = axis; k < f->rank; k++) inner *= f->dim[k];
  for (int i = 0; i < n; i++)
    hm_put_range(outer, (size_t)n, inner, (size_t)i, 1, hmL_testmat(L, base + i)->data, o->data);
  return 1;
}

static int mat_slice(lua_State *L) {
  const char *fn = "mat.slice";
  hm_mat *m = hmL_checkmat(L, 1, fn);
  int axis = hmL_mat_checkaxis(L, 2, m, fn);
  size_t n = m->dim[axis];
  lua_Integer from = hmL_checkint(L, 3, fn);
  lua_Integer to = lua_isnoneornil(L, 4) ? (lua_Integer)n : hmL_checkint(L, 4, fn);
  if (from < 1 || (lua_Unsigned)from > (lua_Unsigned)n + 1)
    hmL_argerror(L, fn, 3, "index out of range: %I not in [1, %I]", from, (lua_Integer)n);
  if (to < from - 1 || (lua_Unsigned)to > (lua_Unsigned)n)
    hmL_argerror(L, fn, 4, "index out of range: %I not in [%I, %I]", to, from - 1,
                 (lua_Integer)n);
  size_t dim[HM_MAXRANK], outer, nn, inner, cnt = (size_t)(to - from + 1);
  for (int k = 0; k < m->rank; k++) dim[k] = m->dim[k];
  dim[axis] = cnt;
  hm_axis_split(m, axis, &outer, &nn, &inner);
  hm_mat *o = hmL_newmat(L, m->rank, dim, fn);
  hm_take_range(outer, nn, inner, (size_t)(from - 1), cnt, m->data, o->data);
  return 1;
}

/* View of index i along the first axis of the mat at 1 (rank >= 2). */
static void push_subview(lua_State *L, hm_mat *m, size_t i) {
  size_t stride = m->size / (m->dim[0] ? m->dim[0] : 1);
  hmL_pushview(L, 1, m->rank - 1, m->dim + 1, m->data + i * stride);
}

static int mat_view(lua_State *L) {
  const char *fn = "mat.view";
  hm_mat *m = hmL_checkmat(L, 1, fn);
  if (m->rank < 2) hmL_argerror(L, fn, 1, "rank-2 or rank-3 mat expected, got rank 1");
  size_t i = hmL_checkindex(L, 2, m->dim[0], fn);
  push_subview(L, m, i);
  return 1;
}

static int mat_rows_view(lua_State *L) {
  const char *fn = "mat.rows_view";
  hm_mat *m = hmL_checkmat(L, 1, fn);
  size_t n = m->dim[0];
  lua_Integer from = hmL_checkint(L, 2, fn), to = hmL_checkint(L, 3, fn);
  if (from < 1 || (lua_Unsigned)from > (lua_Unsigned)n + 1)
    hmL_argerror(L, fn, 2, "index out of range: %I not in [1, %I]", from, (lua_Integer)n);
  if (to < from - 1 || (lua_Unsigned)to > (lua_Unsigned)n)
    hmL_argerror(L, fn, 3, "index out of range: %I not in [%I, %I]", to, from - 1,
                 (lua_Integer)n);
  size_t dim[HM_MAXRANK], stride = 1;
  for (int k = 0; k < m->rank; k++) dim[k] = m->dim[k];
  for (int k = 1; k < m->rank; k++) stride *= m->dim[k];
  dim[0] = (size_t)(to - from + 1);
  hmL_pushview(L, 1, m->rank, dim, m->data + (size_t)(from - 1) * stride);
  return 1;
}

/* A[i]: an element of a vector, or a view of a sub-array */
static void push_entry(lua_State *L, hm_mat *m, size_t i) {
  if (m->rank == 1) lua_pushnumber(L, m->data[i]);
  else push_subview(L, m, i);
}

static int mat_index(lua_State *L) {
  hm_lmat *u = tolmat(L, 1);
  if (lua_type(L, 2) == LUA_TNUMBER) {
    hm_mat *m = hmL_checkmat(L, 1, "mat.__index");
    /* ipairs(A) stops by reading A[#A + 1]; out-of-range reads are errors, so say what works */
    if (lua_isinteger(L, 2) && lua_tointeger(L, 2) == (lua_Integer)m->dim[0] + 1)
      hmL_argerror(L, "mat.__index", 2, "index out of range: %I not in [1, %I]; to iterate use "
                   "pairs(A) or for i = 1, #A", lua_tointeger(L, 2), (lua_Integer)m->dim[0]);
    push_entry(L, m, hmL_checkindex(L, 2, m->dim[0], "mat.__index"));
    return 1;
  }
  (void)u;
  lua_pushvalue(L, 2);
  lua_rawget(L, lua_upvalueindex(1));
  return 1;
}

/* pairs(A): i, A[i] for i = 1..#A in order (the entries of a vector, the row views of a
 * matrix, the slices of a stack) */
static int mat_next(lua_State *L) {
  hm_mat *m = hmL_checkmat(L, 1, "mat.__pairs");
  lua_Integer i = luaL_checkinteger(L, 2);
  if (i < 0 || i >= (lua_Integer)m->dim[0]) return 0;
  lua_pushinteger(L, i + 1);
  push_entry(L, m, (size_t)i);
  return 2;
}

static int mat_pairs(lua_State *L) {
  hmL_checkmat(L, 1, "mat.__pairs");
  lua_pushcfunction(L, mat_next);
  lua_pushvalue(L, 1);
  lua_pushinteger(L, 0);
  return 3;
}

static int mat_newindex(lua_State *L) {
  const char *fn = "mat.__newindex";
  hm_mat *m = hmL_checkmat(L, 1, fn);
  if (lua_type(L, 2) != LUA_TNUMBER)
    hmL_argerror(L, fn, 2, "integer index expected, got %s", luaL_typename(L, 2));
  size_t i = hmL_checkindex(L, 2, m->dim[0], fn);
  if (m->rank == 1) {
    m->data[i] = hmL_mat_checknumber(L, 3, fn);
    return 0;
  }
  size_t stride = m->size / m->dim[0];
  double *dst = m->data + i * stride;
  if (lua_type(L, 3) == LUA_TNUMBER) {
    double v = (double)lua_tonumber(L, 3);
    for (size_t j = 0; j < stride; j++) dst[j] = v;
    return 0;
  }
  hm_mat *src = hmL_checkmat(L, 3, fn);
  hm_mat row;
  hm_mat_init(&row, m->rank - 1, m->dim + 1, dst);
  if (!hmL_mat_same_shape(&row, src)) {
    char a[80], b[80];
    hmL_error(L, fn, "cannot assign a %s mat to a slice of shape %s", hmL_shapestr(src, a),
              hmL_shapestr(&row, b));
  }
  memmove(dst, src->data, stride * sizeof(double));
  return 0;
}

static int mat_close(lua_State *L) {
  hm_lmat *u = (hm_lmat *)luaL_checkudata(L, 1, HM_MAT_TNAME);
  u->closed = 1;
  return 0;
}

static int mat_is_closed(lua_State *L) {
  hm_lmat *u = tolmat(L, 1);
  if (!u) hmL_argerror(L, "mat.is_closed", 1, "mat expected, got %s", luaL_typename(L, 1));
  lua_pushboolean(L, u->closed);
  return 1;
}

/* -------------------------------------------------------------- arithmetic */

/* mat op ad-node (docs/ad.md): the node's metamethod computes it, so `X * node` is a node
 * as `node * X` is (event: a metamethod, or the name of an element-wise node method).
 * Returns 1 with the result pushed, 0 if neither operand is a node. */
static int defer_to_node(lua_State *L, const char *event) {
  for (int i = 1; i <= 2; i++) {
    if (!luaL_testudata(L, i, "hardmax.ad.node")) continue;
    luaL_getmetafield(L, i, event[0] == '_' ? event : "__index"); /* "__mul" or a method name */
    if (event[0] != '_') lua_getfield(L, -1, event);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_call(L, 2, 1);
    return 1;
  }
  return 0;
}

/* Fresh result of a op b with scalars on either side, same shapes, or a rank-1 operand
 * broadcast over the rows (last axis) of the other. */
static int binop(lua_State *L, hm_binop op, const char *fn) {
  static const char *const events[] = {"__add", "__sub", "mul", "div"}; /* element-wise */
  if (lua_gettop(L) >= 2 && defer_to_node(L, events[op])) return 1;
  hm_mat *a = hmL_testmat(L, 1), *b = hmL_testmat(L, 2);
  if (a) hmL_checkmat(L, 1, fn);
  if (b) hmL_checkmat(L, 2, fn);
  if (a && b) {
    if (hmL_mat_same_shape(a, b)) {
      hm_mat *o = hmL_newmat(L, a->rank, a->dim, fn);
      hm_binop_vv(op, a->size, a->data, b->data, o->data);
    } else if (b->rank == 1 && a->rank >= 2 && b->dim[0] == a->dim[a->rank - 1]) {
      hm_mat *o = hmL_newmat(L, a->rank, a->dim, fn);
      hm_binop_row(op, hm_mat_rows(a), b->size, a->data, b->data, 0, o->data);
    } else if (a->rank == 1 && b->rank >= 2 && a->dim[0] == b->dim[b->rank - 1]) {
      hm_mat *o = hmL_newmat(L, b->rank, b->dim, fn);
      hm_binop_row(op, hm_mat_rows(b), a->size, b->data, a->data, 1, o->data);
    } else {
      hmL_mat_shape_error(L, fn, 1, 2);
    }
  } else if (a) {
    if (lua_type(L, 2) != LUA_TNUMBER)
      hmL_argerror(L, fn, 2, "mat or number expected, got %s", luaL_typename(L, 2));
    hm_mat *o = hmL_newmat(L, a->rank, a->dim, fn);
    hm_binop_vs(op, a->size, a->data, (double)lua_tonumber(L, 2), 0, o->data);
  } else if (b) {
    if (lua_type(L, 1) != LUA_TNUMBER)
      hmL_argerror(L, fn, 1, "mat or number expected, got %s", luaL_typename(L, 1));
    hm_mat *o = hmL_newmat(L, b->rank, b->dim, fn);
    hm_binop_vs(op, b->size, b->data, (double)lua_tonumber(L, 1), 1, o->data);
  } else {
    hmL_argerror(L, fn, 1, "mat expected, got %s", luaL_typename(L, 1));
  }
  return 1;
}

static int mat_add(lua_State *L) { return binop(L, HM_ADD, "mat.add"); }
static int mat_sub(lua_State *L) { return binop(L, HM_SUB, "mat.sub"); }
static int mat_emul(lua_State *L) { return binop(L, HM_MUL, "mat.mul"); }
static int mat_ediv(lua_State *L) { return binop(L, HM_DIV, "mat.div"); }

static int mat_unm(lua_State *L) {
  hm_mat *a = hmL_checkmat(L, 1, "mat.unm");
  hm_mat *o = hmL_newmat(L, a->rank, a->dim, "mat.unm");
  hm_unop_apply(HM_NEG, a->size, a->data, o->data);
  return 1;
}

static int mat_matmul(lua_State *L) {
  const char *fn = "mat.matmul";
  hm_mat *a = hmL_checkmat(L, 1, fn), *b = hmL_checkmat(L, 2, fn);
  int r;
  size_t d[HM_MAXRANK];
  if (hm_matmul_shape(a, b, &r, d) != HM_OK) {
    char x[80], y[80];
    if (a->rank == 1 && b->rank == 1)
      hmL_error(L, fn, "shapes %s and %s do not conform (use mat.dot or mat.outer for two "
                "vectors)", hmL_shapestr(a, x), hmL_shapestr(b, y));
    hmL_mat_shape_error(L, fn, 1, 2);
  }
  hm_mat *o = hmL_newmat(L, r, d, fn);
  hmL_matcheck(L, fn, hm_matmul(a, b, o));
  return 1;
}

static int meta_mul(lua_State *L) {
  if (defer_to_node(L, "__mul")) return 1;
  if (lua_type(L, 1) == LUA_TNUMBER || lua_type(L, 2) == LUA_TNUMBER)
    return binop(L, HM_MUL, "mat.mul");
  return mat_matmul(L);
}

static int meta_div(lua_State *L) {
  if (defer_to_node(L, "__div")) return 1;
  if (hmL_testmat(L, 1) && hmL_testmat(L, 2))
    return hmL_error(L, "mat.div", "'/' needs a number operand (use A:div(B) for element-wise "
                     "division of two mats)");
  return binop(L, HM_DIV, "mat.div");
}

static int mat_eq(lua_State *L) {
  if (!hmL_testmat(L, 1) || !hmL_testmat(L, 2)) { /* a mat never equals another userdata */
    lua_pushboolean(L, 0);
    return 1;
  }
  hm_mat *a = hmL_checkmat(L, 1, "mat.eq"), *b = hmL_checkmat(L, 2, "mat.eq");
  lua_pushboolean(L, hmL_mat_same_shape(a, b) && hm_equal(a->size, a->data, b->data));
  return 1;
}

/* In place: self op= other (mat of the same shape, rank-1 row broadcast, or number). */
static int binop_(lua_State *L, hm_binop op, const char *fn) {
  hm_mat *a = hmL_checkmat(L, 1, fn);
  if (lua_type(L, 2) == LUA_TNUMBER) {
    hm_binop_vs(op, a->size, a->data, (double)lua_tonumber(L, 2), 0, a->data);
  } else {
    hm_mat *b = hmL_testmat(L, 2);
    if (!b) hmL_argerror(L, fn, 2, "mat or number expected, got %s", luaL_typename(L, 2));
    hmL_checkmat(L, 2, fn);
    if (hmL_mat_same_shape(a, b)) hm_binop_vv(op, a->size, a->data, b->data, a->data);
    else if (b->rank == 1 && a->rank >= 2 && b->dim[0] == a->dim[a->rank - 1])
      hm_binop_row(op, hm_mat_rows(a), b->size, a->data, b->data, 0, a->data);
    else hmL_mat_shape_error(L, fn, 1, 2);
  }
  lua_settop(L, 1);
  return 1;
}

static int mat_add_(lua_State *L) { return binop_(L, HM_ADD, "mat.add_"); }
static int mat_sub_(lua_State *L) { return binop_(L, HM_SUB, "mat.sub_"); }
static int mat_mul_(lua_State *L) { return binop_(L, HM_MUL, "mat.mul_"); }
static int mat_div_(lua_State *L) { return binop_(L, HM_DIV, "mat.div_"); }

static int mat_scale_(lua_State *L) {
  hm_mat *a = hmL_checkmat(L, 1, "mat.scale_");
  double s = hmL_mat_checknumber(L, 2, "mat.scale_");
  hm_binop_vs(HM_MUL, a->size, a->data, s, 0, a->data);
  lua_settop(L, 1);
  return 1;
}

static int mat_fill_(lua_State *L) {
  hm_mat *a = hmL_checkmat(L, 1, "mat.fill_");
  double s = hmL_mat_checknumber(L, 2, "mat.fill_");
  for (size_t i = 0; i < a->size; i++) a->data[i] = s;
  lua_settop(L, 1);
  return 1;
}

static int mat_copy_(lua_State *L) {
  hm_mat *a = hmL_checkmat(L, 1, "mat.copy_"), *b = hmL_checkmat(L, 2, "mat.copy_");
  if (!hmL_mat_same_shape(a, b)) hmL_mat_shape_error(L, "mat.copy_", 1, 2);
  if (a->size) memmove(a->data, b->data, a->size * sizeof(double));
  lua_settop(L, 1);
  return 1;
}

static int mat_axpy_(lua_State *L) {
  const char *fn = "mat.axpy_";
  hm_mat *y = hmL_checkmat(L, 1, fn);
  double alpha = hmL_mat_checknumber(L, 2, fn);
  hm_mat *x = hmL_checkmat(L, 3, fn);
  if (!hmL_mat_same_shape(x, y)) hmL_mat_shape_error(L, fn, 1, 3);
  hm_axpy(y->size, alpha, x->data, y->data);
  lua_settop(L, 1);
  return 1;
}

/* ----------------------------------------------------------------- printing */

static hm_printopts *printopts(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, PRINTOPTS_KEY) != LUA_TUSERDATA) {
    lua_pop(L, 1);
    hm_printopts *o = (hm_printopts *)lua_newuserdatauv(L, sizeof(hm_printopts), 0);
    hm_printopts_default(o);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, PRINTOPTS_KEY);
  }
  hm_printopts *o = (hm_printopts *)lua_touserdata(L, -1);
  lua_pop(L, 1); /* anchored in the registry */
  return o;
}

static int mat_printoptions(lua_State *L) {
  const char *fn = "mat.printoptions";
  static const char *const keys[] = {"precision", "edgeitems", "threshold", "linewidth", NULL};
  hm_printopts *o = printopts(L);
  hmL_checkoptions(L, 1, fn, keys);
  hm_printopts n = *o;
  lua_Integer v;
  v = hmL_optinteger(L, 1, "precision", n.precision, fn);
  if (v < 0 || v > 17) hmL_error(L, fn, "option 'precision': integer in [0, 17] expected");
  n.precision = (int)v;
  v = hmL_optinteger(L, 1, "edgeitems", (lua_Integer)n.edgeitems, fn);
  if (v < 1 || v > 1000) hmL_error(L, fn, "option 'edgeitems': integer in [1, 1000] expected");
  n.edgeitems = (size_t)v;
  v = hmL_optinteger(L, 1, "threshold", (lua_Integer)n.threshold, fn);
  if (v < 0) hmL_error(L, fn, "option 'threshold': non-negative integer expected");
  n.threshold = (size_t)v;
  v = hmL_optinteger(L, 1, "linewidth", (lua_Integer)n.linewidth, fn);
  if (v < 10 || v > 100000) hmL_error(L, fn, "option 'linewidth': integer in [10, 100000] expected");
  n.linewidth = (size_t)v;
  *o = n;
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, o->precision);
  lua_setfield(L, -2, "precision");
  lua_pushinteger(L, (lua_Integer)o->edgeitems);
  lua_setfield(L, -2, "edgeitems");
  lua_pushinteger(L, (lua_Integer)o->threshold);
  lua_setfield(L, -2, "threshold");
  lua_pushinteger(L, (lua_Integer)o->linewidth);
  lua_setfield(L, -2, "linewidth");
  return 1;
}

static int mat_tostring(lua_State *L) {
  hm_lmat *u = tolmat(L, 1);
  if (!u) return hmL_argerror(L, "mat.tostring", 1, "mat expected, got %s", luaL_typename(L, 1));
  if (u->closed) {
    lua_pushliteral(L, "[closed mat]");
    return 1;
  }
  hm_printopts *o = printopts(L);
  const char *tag = u->is_view ? "mat view" : "mat";
  size_t n = hm_format(&u->m, o, tag, NULL, 0);
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, n + 1);
  hm_format(&u->m, o, tag, p, n + 1);
  luaL_pushresultsize(&b, n);
  return 1;
}

/* --------------------------------------------------------------- registration */

static const luaL_Reg methods[] = {
  {"shape", mat_shape}, {"ndim", mat_ndim}, {"size", mat_size}, {"get", mat_get},
  {"set", mat_set}, {"reshape", mat_reshape}, {"reshape_view", mat_reshape_view},
  {"t", mat_t}, {"transpose", mat_t}, {"clone", mat_clone}, {"totable", mat_totable},
  {"slice", mat_slice}, {"view", mat_view}, {"rows_view", mat_rows_view},
  {"is_view", mat_is_view}, {"is_closed", mat_is_closed},
  {"add", mat_add}, {"sub", mat_sub}, {"mul", mat_emul}, {"div", mat_ediv},
  {"matmul", mat_matmul},
  {"add_", mat_add_}, {"sub_", mat_sub_}, {"mul_", mat_mul_}, {"div_", mat_div_},
  {"scale_", mat_scale_}, {"fill_", mat_fill_}, {"copy_", mat_copy_}, {"axpy_", mat_axpy_},
    {"tostring", mat_tostring},
  {NULL, NULL}};

static const luaL_Reg funcs[] = {
  {"new", mat_new}, {"from_table", mat_new}, {"zeros", mat_zeros}, {"ones", mat_ones},
  {"full", mat_full}, {"eye", mat_eye}, {"range", mat_range}, {"linspace", mat_linspace},
  {"randn", mat_randn}, {"rand", mat_rand}, {"concat", mat_concat}, {"stack", mat_stack},
  {"printoptions", mat_printoptions}, {NULL, NULL}};

static const luaL_Reg meta[] = {
  {"__tostring", mat_tostring}, {"__close", mat_close}, {"__len", mat_len}, {"__pairs", mat_pairs},
  {"__newindex", mat_newindex}, {"__add", mat_add}, {"__sub", mat_sub},
  {"__mul", meta_mul}, {"__div", meta_div}, {"__unm", mat_unm}, {"__eq", mat_eq},
  {NULL, NULL}};

int luaopen_hardmax_mat(lua_State *L) {
  /* methods table: this file's methods plus linear algebra */
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  luaL_setfuncs(L, hmL_mat_linalg_methods, 0);
  luaL_setfuncs(L, hmL_mat_math_methods, 0);
  int mt = luaL_newmetatable(L, HM_MAT_TNAME);
  (void)mt;
  luaL_setfuncs(L, meta, 0);
  lua_pushliteral(L, HM_MAT_TNAME);
  lua_setfield(L, -2, "__name");
  /* The methods are also copied into the metatable itself and kept as __methods, so that
   * tab completion (which lists the metatable when __index is a function) finds them. */
  luaL_setfuncs(L, methods, 0);
  luaL_setfuncs(L, hmL_mat_linalg_methods, 0);
  luaL_setfuncs(L, hmL_mat_math_methods, 0);
  /* __index: numbers -> elements/views, names -> methods */
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, "__methods");
  lua_pushvalue(L, -2);
  lua_pushcclosure(L, mat_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1); /* metatable */
  /* module table: constructors, I/O and every method as a function mat.f(A, ...) */
  lua_newtable(L);
  lua_pushnil(L);
  while (lua_next(L, -3)) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_settable(L, -4);
  }
  luaL_setfuncs(L, funcs, 0);
  luaL_setfuncs(L, hmL_mat_io_funcs, 0);
  lua_remove(L, -2); /* methods */
  return 1;
}
