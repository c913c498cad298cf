/* hardmax.data — datasets (X n x T x d, Y n or n x T, optional Z n x d, metadata v, V),
 * the generators of theory.md E and the hand-made examples. Datasets are immutable: every
 * field read returns a fresh copy. */
#include <errno.h>
#include <stdint.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "hm_lsandbox.h"
#include "hm_ldata.h"
#include "hm_lnpz.h"
#include "hm_npy.h"

/* ---- arrays from mats or nested tables ---------------------------------------------- */

static void table_shape(lua_State *L, int idx, int *rank, size_t *dim, const char *fn,
                        const char *what) {
  int r = 0;
  lua_pushvalue(L, idx);
  while (lua_istable(L, -1)) {
    if (r == 3) hmL_error(L, fn, "%s: nested table deeper than 3 levels", what);
    dim[r++] = (size_t)lua_rawlen(L, -1);
    if (dim[r - 1] == 0) hmL_error(L, fn, "%s: empty table", what);
    lua_rawgeti(L, -1, 1);
    lua_remove(L, -2);
  }
  lua_pop(L, 1);
  *rank = r;
}

static void table_fill(lua_State *L, int idx, int level, int rank, const size_t *dim,
                       double **out, const char *fn, const char *what) {
  if (level < 0 || level >= 3 || level >= rank) return;
  if ((size_t)lua_rawlen(L, idx) != dim[level] || !lua_istable(L, idx))
    hmL_error(L, fn, "%s: ragged nested table (level %d should have %d entries)", what,
              level + 1, (int)dim[level]);
  for (size_t j = 1; j <= dim[level]; j++) {
    lua_rawgeti(L, idx, (lua_Integer)j);
    if (level == rank - 1) {
      if (!lua_isnumber(L, -1))
        hmL_error(L, fn, "%s: number expected in nested table, got %s", what, luaL_typename(L, -1));
      *(*out)++ = (double)lua_tonumber(L, -1);
    } else {
      if (!lua_istable(L, -1))
        hmL_error(L, fn, "%s: ragged nested table (table expected, got %s)", what,
                  luaL_typename(L, -1));
      table_fill(L, lua_gettop(L), level + 1, rank, dim, out, fn, what);
    }
    lua_pop(L, 1);
  }
}

hm_mat *hmL_data_toarray(lua_State *L, int idx, const char *fn, const char *what) {
  idx = lua_absindex(L, idx);
  hm_mat *m = hmL_testmat(L, idx);
  if (m) return hmL_checkmat(L, idx, fn);
  if (!lua_istable(L, idx))
    hmL_error(L, fn, "%s: mat or nested table expected, got %s", what, luaL_typename(L, idx));
  int rank;
  size_t dim[3] = {1, 1, 1};
  table_shape(L, idx, &rank, dim, fn, what);
  if (rank == 0) hmL_error(L, fn, "%s: table of numbers expected", what);
  m = hmL_newmat(L, rank, dim, fn);
  double *p = m->data;
  table_fill(L, idx, 0, rank, dim, &p, fn, what);
  lua_replace(L, idx);
  return m;
}

/* ---- the dataset userdata ------------------------------------------------------------- */

hm_ldata *hmL_checkdata(lua_State *L, int idx, const char *fn) {
  hm_ldata *u = (hm_ldata *)luaL_testudata(L, idx, HM_DATA_TNAME);
  if (!u) hmL_argerror(L, fn, idx, "dataset expected, got %s", luaL_typename(L, idx));
  return u;
}

static hm_ldata *new_data(lua_State *L, size_t n, size_t T, size_t d, int seq, int hasZ,
                          size_t nv, size_t Vr, size_t Vc, const char *fn) {
  size_t dims[3] = {n, T, d}, nx;
  if (hm_shape_size(3, dims, &nx) != HM_OK) hmL_error(L, fn, "dataset too large");
  size_t ny = seq ? n * T : n, nz = hasZ ? n * d : 0, nV = Vr * Vc;
  if (Vc && nV / Vc != Vr) hmL_error(L, fn, "dataset too large");
  size_t tot = nx + ny + nz + nv + nV;
  if (tot < nx || tot > ((size_t)-1) / sizeof(double) - 64) hmL_error(L, fn, "dataset too large");
  size_t header = (sizeof(hm_ldata) + 15) & ~(size_t)15;
  hm_ldata *u = (hm_ldata *)hmL_newuserdata(L, header + tot * sizeof(double), 0, fn);
  memset(u, 0, sizeof *u);
  double *p = (double *)(void *)((char *)u + header);
  memset(p, 0, tot * sizeof(double));
  u->ds.n = n;
  u->ds.T = T;
  u->ds.d = d;
  u->ds.seq = seq;
  u->ds.X = p;
  p += nx;
  u->ds.Y = p;
  p += ny;
  u->ds.Z = hasZ ? p : NULL;
  p += nz;
  u->v = nv ? p : NULL;
  u->nv = nv;
  p += nv;
  u->V = nV ? p : NULL;
  u->Vr = Vr;
  u->Vc = Vc;
  luaL_setmetatable(L, HM_DATA_TNAME);
  return u;
}

#define MUT(p) ((double *)(p))

static void validate(lua_State *L, hm_ldata *u, const char *fn) {
  size_t bad;
  const char *what;
  hm_status s = hm_data_validate(&u->ds, &bad, &what);
  if (s == HM_OK) {
    if (u->v && !hm_all_finite(u->v, u->nv)) hmL_error(L, fn, "v contains NaN or Inf");
    if (u->V && !hm_all_finite(u->V, u->Vr * u->Vc)) hmL_error(L, fn, "V contains NaN or Inf");
    return;
  }
  if (what[0] == 'Y')
    hmL_error(L, fn, "labels Y must be +1 or -1, got %f at element %d", u->ds.Y[bad],
              (int)bad + 1);
  hmL_error(L, fn, "%s contains NaN or Inf (element %d)", what, (int)bad + 1);
}

static const char *const new_opts[] = {"X", "Y", "Z", "v", "V", "seed", NULL};

static int data_new(lua_State *L) {
  const char *fn = "data.new";
  if (!lua_istable(L, 1)) hmL_argerror(L, fn, 1, "table {X=, Y=, ...} expected, got %s", luaL_typename(L, 1));
  hmL_checkoptions(L, 1, fn, new_opts);
  lua_settop(L, 1);
  char b1[80], b2[80];
  const char *names[5] = {"X", "Y", "Z", "v", "V"};
  hm_mat *a[5] = {NULL, NULL, NULL, NULL, NULL};
  for (int k = 0; k < 5; k++) {
    if (lua_getfield(L, 1, names[k]) == LUA_TNIL) {
      if (k < 2) hmL_error(L, fn, "option '%s' is required", names[k]);
      continue;
    }
    a[k] = hmL_data_toarray(L, -1, fn, names[k]);
  }
  /* stack: 1 opts, then the present arrays in order */
  hm_mat *X = a[0], *Y = a[1], *Z = a[2], *v = a[3], *V = a[4];
  if (X->rank != 3) hmL_error(L, fn, "X must be n x T x d (rank 3), got shape %s", hmL_shapestr(X, b1));
  size_t n = X->dim[0], T = X->dim[1], d = X->dim[2];
  if (n == 0 || T == 0 || d == 0) hmL_error(L, fn, "X must be non-empty, got shape %s", hmL_shapestr(X, b1));
  int seq;
  if (Y->rank == 1 && Y->dim[0] == n) seq = 0;
  else if (Y->rank == 2 && Y->dim[0] == n && Y->dim[1] == T) seq = 1;
  else {
    hmL_error(L, fn, "Y must have length n=%d or shape %dx%d (n x T) to match X of shape %s, got shape %s",
              (int)n, (int)n, (int)T, hmL_shapestr(X, b1), hmL_shapestr(Y, b2));
    return 0;
  }
  if (Z && !(Z->rank == 2 && Z->dim[0] == n && Z->dim[1] == d))
    hmL_error(L, fn, "Z must be n x d = %dx%d, got shape %s", (int)n, (int)d, hmL_shapestr(Z, b1));
  if (v && v->rank != 1) hmL_error(L, fn, "v must be a vector, got shape %s", hmL_shapestr(v, b1));
  if (V && !(V->rank == 2 && V->dim[0] == d))
    hmL_error(L, fn, "V must be d x d' with d=%d, got shape %s", (int)d, hmL_shapestr(V, b1));
  int has_seed = 0;
  lua_Integer seed = 0;
  if (lua_getfield(L, 1, "seed") != LUA_TNIL) {
    has_seed = 1;
    seed = hmL_optinteger(L, 1, "seed", 0, fn);
  }
  lua_pop(L, 1);
  hm_ldata *u = new_data(L, n, T, d, seq, Z != NULL, v ? v->size : 0, V ? V->dim[0] : 0,
                         V ? V->dim[1] : 0, fn);
  memcpy(MUT(u->ds.X), X->data, X->size * sizeof(double));
  memcpy(MUT(u->ds.Y), Y->data, Y->size * sizeof(double));
  if (Z) memcpy(MUT(u->ds.Z), Z->data, Z->size * sizeof(double));
  if (v) memcpy(u->v, v->data, v->size * sizeof(double));
  if (V) memcpy(u->V, V->data, V->size * sizeof(double));
  u->has_seed = has_seed;
  u->seed = seed;
  validate(L, u, fn);
  return 1;
}

/* rng from options: rng= (generator) or seed= (integer); default generator otherwise. */
static hm_rng *opt_rng(lua_State *L, int opts, const char *fn, hm_rng *local, int *has_seed,
                       lua_Integer *seed) {
  *has_seed = 0;
  if (lua_isnoneornil(L, opts)) return hmL_optrng(L, lua_gettop(L) + 1, fn);
  int t = lua_getfield(L, opts, "rng");
  lua_pop(L, 1);
  int ts = lua_getfield(L, opts, "seed");
  lua_pop(L, 1);
  if (t != LUA_TNIL && ts != LUA_TNIL) hmL_error(L, fn, "give either 'rng' or 'seed', not both");
  if (ts != LUA_TNIL) {
    *seed = hmL_optinteger(L, opts, "seed", 0, fn);
    *has_seed = 1;
    hm_rng_seed(local, (uint64_t)*seed);
    return local;
  }
  if (t != LUA_TNIL) {
    lua_getfield(L, opts, "rng");
    if (!luaL_testudata(L, -1, HM_RNG_TNAME))
      hmL_error(L, fn, "option 'rng': rng expected, got %s", luaL_typename(L, -1));
    hm_rng *g = (hm_rng *)lua_touserdata(L, -1);
    lua_pop(L, 1); /* anchored in the options table */
    return g;
  }
  return hmL_optrng(L, lua_gettop(L) + 1, fn);
}

static void check_sizes(lua_State *L, const char *fn, size_t *n, size_t *T, size_t *d) {
  *n = hmL_checksize(L, 1, fn);
  *T = hmL_checksize(L, 2, fn);
  *d = hmL_checksize(L, 3, fn);
  if (*n == 0) hmL_argerror(L, fn, 1, "n >= 1 expected, got 0");
  if (*T == 0) hmL_argerror(L, fn, 2, "T >= 1 expected, got 0");
  if (*d == 0) hmL_argerror(L, fn, 3, "d >= 1 expected, got 0");
}

static const char *const gen_opts[] = {"rng", "seed", NULL};

static int grand_common(lua_State *L, const char *fn) {
  size_t n, T, d;
  check_sizes(L, fn, &n, &T, &d);
  hmL_checkoptions(L, 4, fn, gen_opts);
  hm_rng local;
  int has_seed;
  lua_Integer seed = 0;
  hm_rng *g = opt_rng(L, 4, fn, &local, &has_seed, &seed);
  hm_ldata *u = new_data(L, n, T, d, 0, 1, d, 0, 0, fn);
  hm_data_grand(g, n, T, d, u->v, MUT(u->ds.Y), MUT(u->ds.X), MUT(u->ds.Z));
  u->has_seed = has_seed;
  u->seed = seed;
  return 1;
}

static int data_grand(lua_State *L) { return grand_common(L, "data.grand"); }
static int data_gmd(lua_State *L) { return grand_common(L, "data.gmd"); }

static int data_relu_mode(lua_State *L) {
  const char *fn = "data.relu_mode";
  size_t n, T, d;
  check_sizes(L, fn, &n, &T, &d);
  hmL_checkoptions(L, 4, fn, gen_opts);
  hm_rng local;
  int has_seed;
  lua_Integer seed = 0;
  hm_rng *g = opt_rng(L, 4, fn, &local, &has_seed, &seed);
  hm_ldata *u = new_data(L, n, T, d, 0, 1, d, d, d, fn);
  hm_data_relu_mode(g, n, T, d, u->V, MUT(u->ds.Y), MUT(u->ds.X), MUT(u->ds.Z));
  for (size_t j = 0; j < d; j++) u->v[j] = 1.0;
  u->has_seed = has_seed;
  u->seed = seed;
  return 1;
}

static const char *const fr_opts[] = {"rng", "seed", "mu", NULL};

static int data_fr_joint(lua_State *L) {
  const char *fn = "data.fr_joint";
  size_t n, T, d;
  check_sizes(L, fn, &n, &T, &d);
  hmL_checkoptions(L, 4, fn, fr_opts);
  double mu = hmL_optnumber(L, 4, "mu", 1.0, fn);
  if (!isfinite(mu)) hmL_error(L, fn, "option 'mu': finite number expected");
  hm_rng local;
  int has_seed;
  lua_Integer seed = 0;
  hm_rng *g = opt_rng(L, 4, fn, &local, &has_seed, &seed);
  hm_ldata *u = new_data(L, n, T, d, 0, 1, d, 0, 0, fn);
  hm_data_fr_joint(g, n, T, d, mu, MUT(u->ds.Y), MUT(u->ds.X), MUT(u->ds.Z));
  u->v[0] = mu; /* the label direction mu e_1 */
  u->has_seed = has_seed;
  u->seed = seed;
  return 1;
}

/* ---- hand-made examples ---------------------------------------------------------------- */

static void set_tokens(double *X, const double *vals, size_t count) {
  memcpy(X, vals, count * sizeof(double));
}

/* Push the info table {W=diag(...)} etc. */
static void push_diagW(lua_State *L, size_t d, const double *diag, const char *fn) {
  hm_mat *W = hmL_newmat2(L, d, d, fn);
  for (size_t j = 0; j < d; j++) W->data[j * d + j] = diag[j];
}

static const char *const ex_opts[] = {"rng", "seed", "C", NULL};

static int data_example(lua_State *L) {
  const char *fn = "data.example";
  if (lua_type(L, 1) != LUA_TSTRING) hmL_argerror(L, fn, 1, "example name expected, got %s", luaL_typename(L, 1));
  const char *name = lua_tostring(L, 1);
  hmL_checkoptions(L, 2, fn, ex_opts);
  lua_settop(L, 2);
  hm_rng local;
  int has_seed = 0;
  lua_Integer seed = 0;
  lua_newtable(L); /* 3: info */
  static const double d110[3] = {1, 1, 0}, d11[2] = {1, 1};
  hm_ldata *u;
  if (strcmp(name, "mm_f1a") == 0 || strcmp(name, "mm_f1b") == 0) {
    u = new_data(L, 1, 3, 3, 0, 0, 3, 0, 0, fn);
    double x3 = name[5] == 'a' ? 0.9 : 0.0;
    const double X[9] = {-0.1, 1, 1, 1, 0, 0.9, 0, 0, x3};
    set_tokens(MUT(u->ds.X), X, 9);
    MUT(u->ds.Y)[0] = 1;
    u->v[2] = 1;
    push_diagW(L, 3, d110, fn);
    lua_setfield(L, 3, "W");
  } else if (strcmp(name, "mm_f1c") == 0) {
    hm_rng *g = opt_rng(L, 2, fn, &local, &has_seed, &seed);
    u = new_data(L, 3, 7, 3, 0, 0, 3, 0, 0, fn);
    double *X = MUT(u->ds.X);
    hm_rng_fill_normal(g, X, 3 * 7 * 3);
    for (size_t i = 0; i < 3; i++) {
      MUT(u->ds.Y)[i] = 1;
      for (size_t t = 0; t < 7; t++) {
        double *x = X + (i * 7 + t) * 3;
        for (int j = 0; j < 3; j++) x[j] *= 0.2;
        if (t == 0) x[0] += 1;
        else if (t <= 3) x[0] -= 1, x[1] += 1;
        else x[0] -= 0.5, x[1] -= 0.5;
        x[2] = t == 0 ? 1.0 : 0.5;
      }
    }
    u->v[2] = 1;
    push_diagW(L, 3, d110, fn);
    lua_setfield(L, 3, "W");
  } else if (strcmp(name, "mm_f3_tight") == 0 || strcmp(name, "mm_f3_nontight") == 0) {
    u = new_data(L, 3, 2, 2, 0, 0, 0, 0, 0, fn);
    double x32 = name[6] == 't' ? 1.0 : 1.5;
    const double X[12] = {0, 0, 1, 1, 0, 0, 1, -1, 0, 0, 0.5, x32};
    set_tokens(MUT(u->ds.X), X, 12);
    const double Y[3] = {1, -1, 1};
    memcpy(MUT(u->ds.Y), Y, sizeof Y);
    push_diagW(L, 2, d11, fn);
    lua_setfield(L, 3, "W");
    hm_mat *p0 = hmL_newvec(L, 2, fn);
    p0->data[1] = -1;
    lua_setfield(L, 3, "p0");
    hm_mat *v0 = hmL_newvec(L, 2, fn);
    v0->data[0] = -1;
    lua_setfield(L, 3, "v0");
  } else if (strcmp(name, "mm_f4") == 0) {
    double C = hmL_optnumber(L, 2, "C", 1.0, fn);
    if (!isfinite(C)) hmL_error(L, fn, "option 'C': finite number expected");
    u = new_data(L, 2, 2, 3, 0, 0, 3, 0, 0, fn);
    const double X[12] = {0, 0, 0, 1, 1, C, 0, 0, 0, 1, -1, 1};
    set_tokens(MUT(u->ds.X), X, 12);
    MUT(u->ds.Y)[0] = MUT(u->ds.Y)[1] = 1;
    u->v[2] = 1;
    push_diagW(L, 3, d110, fn);
    lua_setfield(L, 3, "W");
  } else if (strcmp(name, "svm_f1a") == 0 || strcmp(name, "svm_f1b") == 0) {
    hm_rng *g = opt_rng(L, 2, fn, &local, &has_seed, &seed);
    int a = name[6] == 'a';
    size_t T = a ? 3 : 5;
    u = new_data(L, 2, T, 2, 0, 1, 2, 0, 0, fn);
    double *X = MUT(u->ds.X), *Z = MUT(u->ds.Z);
    hm_rng_fill_normal(g, u->v, 2);
    hm_rows_normalize(u->v, 1, 2);
    MUT(u->ds.Y)[0] = MUT(u->ds.Y)[1] = 1;
    hm_rng_fill_normal(g, X, 2 * T * 2);
    for (size_t j = 0; j < 2 * T * 2; j++) X[j] *= a ? 0.3 : 0.5;
    if (a) {
      for (size_t t = 0; t < T; t++) X[t * 2] -= 1, X[(T + t) * 2] += 1;
    } else {
      X[0] = 1, X[1] = 0.5;
      X[T * 2] = 1, X[T * 2 + 1] = -0.5;
      for (size_t i = 0; i < 2; i++)
        for (size_t t = 1; t < T; t++) X[(i * T + t) * 2] -= 1;
    }
    hm_rng_fill_normal(g, Z, 4);
    hm_rows_normalize(Z, 2, 2);
  } else if (strcmp(name, "md_f3") == 0) {
    u = new_data(L, 2, 3, 2, 0, 0, 0, 0, 0, fn);
    const double X[12] = {-2.7, 1.2, 1.4, 2.1, 1.3, -0.1, 0.4, -2.2, -1.1, -0.4, 0.9, 0.1};
    set_tokens(MUT(u->ds.X), X, 12);
    MUT(u->ds.Y)[0] = 1;
    MUT(u->ds.Y)[1] = -1;
    lua_pushinteger(L, 1);
    lua_setfield(L, 3, "query");
  } else {
    return hmL_argerror(L, fn, 1,
                        "unknown example '%s' (expected mm_f1a, mm_f1b, mm_f1c, mm_f3_tight, "
                        "mm_f3_nontight, mm_f4, svm_f1a, svm_f1b, md_f3)", name);
  }
  u->has_seed = has_seed;
  u->seed = seed;
  lua_pushvalue(L, 3);
  return 2;
}

/* ---- methods ---------------------------------------------------------------------------- */

static int data_index(lua_State *L) {
  hm_ldata *u = hmL_checkdata(L, 1, "data.__index");
  const hm_dataset *ds = &u->ds;
  if (lua_type(L, 2) == LUA_TSTRING) {
    const char *k = lua_tostring(L, 2);
    hm_mat *m;
    if (strcmp(k, "X") == 0) {
      m = hmL_newmat3(L, ds->n, ds->T, ds->d, "data.X");
      memcpy(m->data, ds->X, m->size * sizeof(double));
      return 1;
    }
    if (strcmp(k, "Y") == 0) {
      m = ds->seq ? hmL_newmat2(L, ds->n, ds->T, "data.Y") : hmL_newvec(L, ds->n, "data.Y");
      memcpy(m->data, ds->Y, m->size * sizeof(double));
      return 1;
    }
    if (strcmp(k, "Z") == 0) {
      if (!ds->Z) return lua_pushnil(L), 1;
      m = hmL_newmat2(L, ds->n, ds->d, "data.Z");
      memcpy(m->data, ds->Z, m->size * sizeof(double));
      return 1;
    }
    if (strcmp(k, "v") == 0) {
      if (!u->v) return lua_pushnil(L), 1;
      m = hmL_newvec(L, u->nv, "data.v");
      memcpy(m->data, u->v, m->size * sizeof(double));
      return 1;
    }
    if (strcmp(k, "V") == 0) {
      if (!u->V) return lua_pushnil(L), 1;
      m = hmL_newmat2(L, u->Vr, u->Vc, "data.V");
      memcpy(m->data, u->V, m->size * sizeof(double));
      return 1;
    }
    if (strcmp(k, "n") == 0) return lua_pushinteger(L, (lua_Integer)ds->n), 1;
    if (strcmp(k, "T") == 0) return lua_pushinteger(L, (lua_Integer)ds->T), 1;
    if (strcmp(k, "d") == 0) return lua_pushinteger(L, (lua_Integer)ds->d), 1;
    if (strcmp(k, "sequence") == 0) return lua_pushboolean(L, ds->seq), 1;
    if (strcmp(k, "seed") == 0) {
      if (u->has_seed) lua_pushinteger(L, u->seed);
      else lua_pushnil(L);
      return 1;
    }
  }
  luaL_getmetatable(L, HM_DATA_TNAME);
  lua_getfield(L, -1, "__methods");
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  return 1;
}

static int data_newindex(lua_State *L) {
  return hmL_error(L, "data.__newindex", "datasets are immutable (cannot set field '%s')",
                   luaL_tolstring(L, 2, NULL));
}

static int data_tostring(lua_State *L) {
  hm_ldata *u = hmL_checkdata(L, 1, "data.__tostring");
  lua_pushfstring(L, "dataset(n=%d, T=%d, d=%d%s%s)", (int)u->ds.n, (int)u->ds.T, (int)u->ds.d,
                  u->ds.Z ? ", Z" : "", u->ds.seq ? ", sequence labels" : "");
  return 1;
}

/* scores / optimal: argument is a vector v, a model (its head), or nil (dataset's v). */
extern int hmL_model_scores(lua_State *L, int model_idx, const hm_dataset *ds, double *gamma);

/* Head values psi(x_it) (n*T, unsigned) into a scratch userdata left on the stack. The
 * argument at 2 is a vector v, a model (its head) or nil (the dataset's v). */
static double *push_headvals(lua_State *L, hm_ldata *u, const char *fn) {
  const hm_dataset *ds = &u->ds;
  const int arg = 2;
  size_t nT = ds->n * ds->T;
  if (!lua_isnoneornil(L, arg) && luaL_testudata(L, arg, HM_MODEL_TNAME)) {
    double *P = (double *)lua_newuserdatauv(L, nT * sizeof(double) + 1, 0);
    hmL_model_scores(L, arg, ds, P);
    return P;
  }
  const double *v;
  if (lua_isnoneornil(L, arg)) {
    if (!u->v) hmL_argerror(L, fn, arg, "head vector v or model expected (the dataset has no v)");
    if (u->nv != ds->d)
      hmL_error(L, fn, "dataset's v has length %d but d=%d", (int)u->nv, (int)ds->d);
    v = u->v;
  } else {
    hm_mat *vm = hmL_data_toarray(L, arg, fn, "v");
    if (vm->rank != 1 || vm->size != ds->d)
      hmL_argerror(L, fn, arg, "vector of length d=%d expected", (int)ds->d);
    if (!hm_all_finite(vm->data, vm->size)) hmL_argerror(L, fn, arg, "v contains NaN or Inf");
    v = vm->data;
  }
  double *P = (double *)lua_newuserdatauv(L, nT * sizeof(double) + 1, 0);
  for (size_t j = 0; j < nT; j++) {
    const double *x = ds->X + j * ds->d;
    double acc = 0.0;
    for (size_t a = 0; a < ds->d; a++) acc += v[a] * x[a];
    P[j] = acc;
  }
  return P;
}

/* gamma: n x T (single output, Y_i psi(x_it)) or n x T x T (sequence: [i][k][t] =
 * Y_ik psi(x_it)). */
static double *push_scores(lua_State *L, hm_ldata *u, const char *fn) {
  const hm_dataset *ds = &u->ds;
  size_t n = ds->n, T = ds->T;
  double *P = push_headvals(L, u, fn);
  hm_mat *g = ds->seq ? hmL_newmat3(L, n, T, T, fn) : hmL_newmat2(L, n, T, fn);
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < (ds->seq ? T : 1); k++) {
      double y = ds->seq ? ds->Y[i * T + k] : ds->Y[i];
      double *row = g->data + (i * (ds->seq ? T : 1) + k) * T;
      for (size_t t = 0; t < T; t++) row[t] = y * P[i * T + t];
    }
  lua_remove(L, -2); /* scratch */
  return g->data;
}

static const char *const score_opts[] = {"mask", NULL};

static int data_scores(lua_State *L) {
  hm_ldata *u = hmL_checkdata(L, 1, "data.scores");
  push_scores(L, u, "data.scores");
  return 1;
}

static int data_optimal(lua_State *L) {
  const char *fn = "data.optimal";
  hm_ldata *u = hmL_checkdata(L, 1, fn);
  hmL_checkoptions(L, 3, fn, score_opts);
  const char *mask = hmL_optstring(L, 3, "mask", "full", fn);
  int causal = strcmp(mask, "causal") == 0;
  if (!causal && strcmp(mask, "full") != 0)
    hmL_error(L, fn, "option 'mask': expected full or causal, got '%s'", mask);
  if (causal && !u->ds.seq) hmL_error(L, fn, "option 'mask' needs sequence labels (Y n x T)");
  lua_settop(L, 3);
  double *g = push_scores(L, u, fn);
  size_t n = u->ds.n, T = u->ds.T, rows = u->ds.seq ? T : 1;
  lua_createtable(L, (int)n, 0); /* opt */
  lua_newtable(L);               /* ties */
  int nt = 0;
  for (size_t i = 0; i < n; i++) {
    if (u->ds.seq) lua_createtable(L, (int)T, 0);
    for (size_t k = 0; k < rows; k++) {
      const double *row = g + (i * rows + k) * T;
      size_t L2 = causal ? k + 1 : T, best = 0;
      int tied = 0;
      for (size_t t = 1; t < L2; t++)
        if (row[t] > row[best]) best = t;
      double tol = 1e-12 * fmax(1.0, fabs(row[best]));
      for (size_t t = 0; t < L2; t++)
        if (t != best && row[best] - row[t] <= tol) tied = 1;
      lua_pushinteger(L, (lua_Integer)best + 1);
      if (u->ds.seq) {
        lua_rawseti(L, -2, (lua_Integer)k + 1);
        if (tied) {
          lua_createtable(L, 2, 0);
          lua_pushinteger(L, (lua_Integer)i + 1);
          lua_rawseti(L, -2, 1);
          lua_pushinteger(L, (lua_Integer)k + 1);
          lua_rawseti(L, -2, 2);
          lua_rawseti(L, -3, ++nt);
        }
      } else {
        lua_rawseti(L, -3, (lua_Integer)i + 1);
        if (tied) {
          lua_pushinteger(L, (lua_Integer)i + 1);
          lua_rawseti(L, -2, ++nt);
        }
      }
    }
    if (u->ds.seq) lua_rawseti(L, -3, (lua_Integer)i + 1);
  }
  return 2;
}

static int data_subset(lua_State *L) {
  const char *fn = "data.subset";
  hm_ldata *u = hmL_checkdata(L, 1, fn);
  if (!lua_istable(L, 2)) hmL_argerror(L, fn, 2, "array of sample indices expected, got %s", luaL_typename(L, 2));
  size_t k = (size_t)lua_rawlen(L, 2);
  if (k == 0) hmL_argerror(L, fn, 2, "non-empty array of sample indices expected");
  const hm_dataset *ds = &u->ds;
  size_t T = ds->T, d = ds->d;
  hm_ldata *w = new_data(L, k, T, d, ds->seq, ds->Z != NULL, u->nv, u->Vr, u->Vc, fn);
  size_t ny = ds->seq ? T : 1;
  for (size_t j = 0; j < k; j++) {
    lua_rawgeti(L, 2, (lua_Integer)j + 1);
    int isnum;
    lua_Integer i = lua_tointegerx(L, -1, &isnum);
    lua_pop(L, 1);
    if (!isnum || i < 1 || (size_t)i > ds->n)
      hmL_argerror(L, fn, 2, "entry %d: sample index in [1, %d] expected", (int)j + 1, (int)ds->n);
    size_t s = (size_t)i - 1;
    memcpy(MUT(w->ds.X) + j * T * d, ds->X + s * T * d, T * d * sizeof(double));
    memcpy(MUT(w->ds.Y) + j * ny, ds->Y + s * ny, ny * sizeof(double));
    if (ds->Z) memcpy(MUT(w->ds.Z) + j * d, ds->Z + s * d, d * sizeof(double));
  }
  if (u->v) memcpy(w->v, u->v, u->nv * sizeof(double));
  if (u->V) memcpy(w->V, u->V, u->Vr * u->Vc * sizeof(double));
  w->has_seed = u->has_seed;
  w->seed = u->seed;
  return 1;
}

static int data_save(lua_State *L) {
  const char *fn = "data.save";
  static const char *const opts[] = {"compress", NULL};
  hm_ldata *u = hmL_checkdata(L, 1, fn);
  if (lua_type(L, 2) != LUA_TSTRING)
    hmL_argerror(L, fn, 2, "directory or .npz path expected, got %s", luaL_typename(L, 2));
  hmL_checkoptions(L, 3, fn, opts);
  const char *dir = lua_tostring(L, 2);
  int npz = hmL_is_npz_path(dir);
  int compress = hmL_optboolean(L, 3, "compress", 0, fn);
  if (compress && !npz)
    hmL_error(L, fn, "option 'compress' applies to .npz archives only, got directory '%s'",
              dir);
  const hm_dataset *ds = &u->ds;
  size_t dx[3] = {ds->n, ds->T, ds->d}, dy[2] = {ds->n, ds->T}, dz[2] = {ds->n, ds->d};
  size_t dv[1] = {u->nv}, dV[2] = {u->Vr, u->Vc};
  struct { const char *f; int rank; size_t *dim; const double *data; } items[5] = {
    {"X", 3, dx, ds->X}, {"Y", ds->seq ? 2 : 1, dy, ds->Y}, {"Z", 2, dz, ds->Z},
    {"v", 1, dv, u->v}, {"V", 2, dV, u->V}};
  hm_mat am[5];
  if (npz) {
    hm_npz_item it[5];
    size_t n = 0;
    for (int k = 0; k < 5; k++) {
      if (!items[k].data) continue;
      hm_mat_init(&am[k], items[k].rank, items[k].dim, (double *)(uintptr_t)items[k].data);
      it[n].name = items[k].f;
      it[n++].m = &am[k];
    }
    hmL_npz_save(L, dir, it, n, compress, fn);
    lua_settop(L, 1);
    return 1;
  }
  hmL_sandbox_check(L, fn, dir, HM_SANDBOX_WRITE);
  if (mkdir(dir, 0777) != 0 && errno != EEXIST)
    hmL_error(L, fn, "cannot create directory '%s': %s", dir, strerror(errno));
  char path[4096];
  for (int k = 0; k < 5; k++) {
    snprintf(path, sizeof path, "%s/%s.npy", dir, items[k].f);
    hmL_sandbox_check(L, fn, path, HM_SANDBOX_WRITE);
    if (!items[k].data) {
      remove(path); /* a stale file from an earlier save would be read back */
      continue;
    }
    char err[256];
    hm_mat_init(&am[k], items[k].rank, items[k].dim, (double *)(uintptr_t)items[k].data);
    if (hm_npy_save(path, &am[k], err, sizeof err) != HM_OK)
      hmL_error(L, fn, "cannot write '%s': %s", path, err);
  }
  lua_settop(L, 1);
  return 1;
}

static int read_npy(lua_State *L, const char *dir, const char *file, int required, const char *fn) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  hmL_sandbox_check(L, fn, path, HM_SANDBOX_READ);
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    if (required) hmL_error(L, fn, "cannot open '%s': %s", path, strerror(errno));
    lua_pushnil(L);
    return 0;
  }
  fclose(fp);
  hm_npy_header h;
  char err[256];
  if (hm_npy_read_header(path, &h, err, sizeof err) != HM_OK)
    hmL_error(L, fn, "'%s': %s", path, err);
  hm_mat *m = hmL_newmat(L, h.rank, h.dim, fn);
  if (hm_npy_read_data(path, &h, m->data, err, sizeof err) != HM_OK)
    hmL_error(L, fn, "'%s': %s", path, err);
  return 1;
}

/* Read as a .npz archive: any existing non-directory, or a missing path ending in ".npz". */
static int load_is_npz(const char *path) {
  struct stat st;
  if (stat(path, &st) == 0) return !S_ISDIR(st.st_mode);
  return hmL_is_npz_path(path);
}

static int data_load(lua_State *L) {
  const char *fn = "data.load";
  if (lua_type(L, 1) != LUA_TSTRING)
    hmL_argerror(L, fn, 1, "directory or .npz path expected, got %s", luaL_typename(L, 1));
  const char *dir = lua_tostring(L, 1);
  hmL_sandbox_check(L, fn, dir, HM_SANDBOX_READ);
  lua_settop(L, 1);
  lua_newtable(L); /* 2: options for data.new */
  const char *files[5] = {"X.npy", "Y.npy", "Z.npy", "v.npy", "V.npy"};
  const char *keys[5] = {"X", "Y", "Z", "v", "V"};
  if (load_is_npz(dir)) {
    hm_npz *z = hmL_npz_open(L, dir, fn); /* 3 */
    for (int k = 0; k < 5; k++) {
      size_t i = hm_npz_find(z, files[k]);
      if (i == HM_NPZ_NONE) {
        if (k < 2) hmL_error(L, fn, "'%s': the archive has no member '%s'", dir, files[k]);
        continue;
      }
      hmL_npz_pushmember(L, z, i, dir, fn);
      lua_setfield(L, 2, keys[k]);
    }
    hmL_npz_close(L, 3);
    lua_settop(L, 2);
  } else {
    for (int k = 0; k < 5; k++) {
      read_npy(L, dir, files[k], k < 2, fn);
      lua_setfield(L, 2, keys[k]);
    }
  }
  lua_pushcfunction(L, data_new);
  lua_pushvalue(L, 2);
  lua_call(L, 1, 1);
  return 1;
}

static const luaL_Reg meta[] = {{"__index", data_index},
                                {"__newindex", data_newindex},
                                {"__tostring", data_tostring},
                                {NULL, NULL}};
static const luaL_Reg methods[] = {{"scores", data_scores},   {"optimal", data_optimal},
                                   {"subset", data_subset},   {"save", data_save},
                                   {NULL, NULL}};
static const luaL_Reg funcs[] = {{"new", data_new},           {"grand", data_grand},
                                 {"gmd", data_gmd},           {"relu_mode", data_relu_mode},
                                 {"fr_joint", data_fr_joint}, {"example", data_example},
                                 {"load", data_load},         {NULL, NULL}};

int luaopen_hardmax_data(lua_State *L) {
  luaL_newmetatable(L, HM_DATA_TNAME);
  luaL_setfuncs(L, meta, 0);
  luaL_setfuncs(L, methods, 0); /* also in the metatable: the REPL completer lists it */
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__methods");
  lua_pushstring(L, HM_DATA_TNAME);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  return 1;
}
