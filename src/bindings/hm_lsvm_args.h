/* Internals shared by the files of the svm binding (l_svm.c: solvers, l_svm_checks.c: theory
 * checks): Lua arguments -> C inputs (arrays, datasets, selections, options, constraint rows)
 * and C results -> Lua result tables. Implemented in hm_lsvm_args.c. Not for other modules. */
#ifndef HM_LSVM_ARGS_H
#define HM_LSVM_ARGS_H

#include "hm_lua.h"
#include "hm_svm.h"

/* ---- arrays: a mat, or a nested Lua table of numbers ---------------------------------- */

typedef struct svm_arr {
  const double *data;
  int rank;
  size_t dim[3];
  size_t size;
} svm_arr;

/* A scratch buffer of `bytes` bytes owned by a userdata pushed on the stack. */
void *hmL_svm_scratch(lua_State *L, size_t bytes);
/* Value at idx as an array; tables are converted (a new mat is left on the stack). Returns 0
 * (and leaves *a untouched) when the value is neither a mat nor a table. */
int hmL_svm_toarr(lua_State *L, int idx, const char *fn, const char *what, svm_arr *a);
/* As toarr, raising "fn: bad argument #argn (what: mat or table expected, got T)" instead. */
void hmL_svm_checkarr(lua_State *L, int idx, const char *fn, int argn, const char *what,
                      svm_arr *a);
/* "3", "3x4" or "2x3x4" in buf (80 bytes); returns buf. */
const char *hmL_svm_arrshape(const svm_arr *a, char *buf);
/* Raise "fn: what contains NaN or Inf" unless every entry is finite. */
void hmL_svm_finite(lua_State *L, const svm_arr *a, const char *fn, const char *what);

/* ---- datasets: a token array X (n x T x d), or anything with fields X, Y, Z, v -------- */

typedef struct svm_ds {
  svm_arr X;
  int hasY, hasZ, hasv;
  svm_arr Y, Z, v;
  size_t n, T, d;
} svm_ds;

/* The dataset argument at idx (argument #1 in messages); fields stay referenced on the stack. */
void hmL_svm_getds(lua_State *L, int idx, const char *fn, svm_ds *ds);
/* Labels: opts.y, else ds.Y, else NULL (all +1); each must be +1 or -1. */
const double *hmL_svm_getY(lua_State *L, int oi, const svm_ds *ds, const char *fn);
/* Query vectors: opts.Z, else opts.query (*query, 0-based), else ds.Z, else NULL with
 * *query = 0 (self-attention, first token). NULL means z_i = x_{i,query}. */
const double *hmL_svm_getZ(lua_State *L, int oi, const svm_ds *ds, const char *fn,
                           size_t *query);

/* ---- selections ----------------------------------------------------------------------- */

/* alpha: Lua array (or mat) of n 1-based token indices in [1, T] -> 0-based scratch array. */
size_t *hmL_svm_getalpha(lua_State *L, int idx, size_t n, size_t T, const char *fn, int argn);
/* Sequence selections: n x T (table of tables or mat) -> 0-based row-major scratch array. */
size_t *hmL_svm_getalpha2(lua_State *L, int idx, size_t n, size_t T, const char *fn, int argn);

/* ---- entry and options ---------------------------------------------------------------- */

/* Common entry of the functions with an options table at argument #oi: stack room, absent
 * options made nil (so they cannot alias pushed values), unknown option keys rejected. */
void hmL_svm_enter(lua_State *L, const char *fn, int oi, const char *const allowed[]);

/* The options common to all solvers (docs/svm.md). */
typedef struct svm_sopts {
  hm_svm_opts o;
  double support_tol;
} svm_sopts;

#define HM_LSVM_COMMON_OPTS "tol", "max_iter", "method", "support_tol", "form"
void hmL_svm_getsopts(lua_State *L, int oi, const char *fn, svm_sopts *so);

/* Norm option: kind 0 = Frobenius / Euclidean, 1 = nuclear, 2 = l_p (entrywise, 1 < p < inf,
 * p != 2), 3 = l_inf, 4 = l_1 (entrywise; LPs), 5 = spectral (W problems). */
typedef struct svm_norm {
  int kind;
  double p;
} svm_norm;

void hmL_svm_getnorm(lua_State *L, int oi, const char *key, const char *fn, int allow_nuc,
                     svm_norm *ns);
/* Per-sample right-hand sides: opts.rhs (n numbers, default 1), opts.relax (1-based sample
 * list whose rhs become 0). */
double *hmL_svm_getrhs(lua_State *L, int oi, size_t n, const char *fn);

/* ---- constraint rows ------------------------------------------------------------------ */

/* Rows (sample, token) of the attention W-SVM for selection al: a_k^T W z_k >= b_k. */
typedef struct svm_attrows {
  double *A, *Zr, *b;
  size_t *smp, *tok;
  size_t m;   /* rows built */
  size_t cap; /* rows allocated: max(1, n (T - 1)) */
} svm_attrows;

/* Scratch for the rows and hm_svm_build_w (rhs NULL: all 1). */
void hmL_svm_attrows(lua_State *L, const char *fn, const svm_ds *ds, const size_t *al,
                     const double *Z, size_t query, const double *rhs, svm_attrows *w);

/* Attention logits X_i W z_i (n x T) of W (d x d). */
void hmL_svm_logits(const svm_ds *ds, const double *W, const double *Z, size_t query,
                    double *logit);

/* ---- results -------------------------------------------------------------------------- */

void hmL_svm_setnum(lua_State *L, const char *k, double v);
/* A Lua array of the 1-based values v[i] + 1. */
void hmL_svm_push_int_array(lua_State *L, const size_t *v, size_t n);
const char *hmL_svm_status_name(hm_svm_status s);
/* Zeroed result pointing at the given arrays, NaN for the fields a solver may leave unset. */
void hmL_svm_init_result(hm_svm_result *r, double *x, double *l, double *f, double *mg);

/* The arrays of one solve, pushed in the order x, lambda, farkas, margins scratch. */
typedef struct svm_out {
  int xi, li, fi; /* stack indices of x, lambda, farkas */
  double *mg;     /* margins (cap entries) */
  hm_svm_result r;
} svm_out;

/* With the solution mat x just pushed: pushes lambda and farkas (m) and the margins scratch
 * (cap) and initializes o->r on them. */
void hmL_svm_outputs(lua_State *L, const char *fn, const hm_mat *x, size_t m, size_t cap,
                     svm_out *o);

/* Row bookkeeping: how rows map back to samples / positions / tokens. kind 0: one row per
 * sample (head / hard margin), 1: (sample, token), 2: (sample, pos, token). */
typedef struct svm_rowinfo {
  int kind;
  size_t n, T;
  const size_t *sample, *pos, *token;
} svm_rowinfo;

/* Pushes the result table (docs/svm.md). Stack: x mat at xi (field solname), lambda mat at li,
 * farkas mat at fi. margins / b / ri may be NULL (then no support field). */
void hmL_svm_push_result(lua_State *L, const char *solname, int xi, int li, int fi,
                         const hm_svm_result *r, const double *margins, const double *b,
                         size_t m, const svm_rowinfo *ri, double support_tol);

#endif
