/* hardmax.mat — linear algebra methods (LAPACKE through the core's hm_linalg). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hm_linalg.h"
#include "hm_lmat.h"

/* A rank-2 argument with finite entries. */
static hm_mat *checkfinitematrix(lua_State *L, int arg, const char *fn) {
  hm_mat *m = hmL_checkmatrix(L, arg, fn);
  hmL_checkallfinite(L, arg, m, fn);
  return m;
}

static hm_mat *checkfinitesquare(lua_State *L, int arg, const char *fn) {
  hm_mat *m = hmL_checksquare(L, arg, fn);
  hmL_checkallfinite(L, arg, m, fn);
  return m;
}

/* Status -> message with the routine-specific meaning of HM_ESINGULAR / HM_ENOCONV. */
static void check(lua_State *L, const char *fn, hm_status s, const char *singular) {
  if (s == HM_ESINGULAR) hmL_error(L, fn, "%s", singular);
  if (s == HM_ENOCONV) hmL_error(L, fn, "LAPACK iteration did not converge");
  hmL_matcheck(L, fn, s);
}

static double max_abs(const hm_mat *m) {
  double r = 0;
  for (size_t i = 0; i < m->size; i++)
    if (fabs(m->data[i]) > r) r = fabs(m->data[i]);
  return r;
}

/* Symmetry check for eigh / chol: |A - A^T| <= symtol * max(1, max|A|). */
static void checksymmetric(lua_State *L, int arg, const hm_mat *m, double tol, const char *fn) {
  double asym = hm_asymmetry(m->dim[0], m->data), scale = max_abs(m);
  if (!(asym <= tol * (scale > 1 ? scale : 1))) {
    char b[32];
    snprintf(b, sizeof b, "%.3g", asym);
    hmL_argerror(L, fn, arg, "symmetric matrix expected, got max |A - A^T| = %s", b);
  }
}

static int mat_svd(lua_State *L) {
  const char *fn = "mat.svd";
  static const char *const opts[] = {"full", NULL};
  hm_mat *a = checkfinitematrix(L, 1, fn);
  hmL_checkoptions(L, 2, fn, opts);
  int full = hmL_optboolean(L, 2, "full", 0, fn);
  size_t m = a->dim[0], n = a->dim[1], k = m < n ? m : n;
  hm_mat *U = hmL_newmat2(L, m, full ? m : k, fn);
  hm_mat *S = hmL_newvec(L, k, fn);
  hm_mat *Vt = hmL_newmat2(L, full ? n : k, n, fn);
  check(L, fn, hm_svd(m, n, a->data, full, U->data, S->data, Vt->data), "");
  return 3;
}

static int mat_svdvals(lua_State *L) {
  const char *fn = "mat.svdvals";
  hm_mat *a = checkfinitematrix(L, 1, fn);
  size_t m = a->dim[0], n = a->dim[1], k = m < n ? m : n;
  hm_mat *S = hmL_newvec(L, k, fn);
  check(L, fn, hm_svd(m, n, a->data, 0, NULL, S->data, NULL), "");
  return 1;
}

static int mat_eigh(lua_State *L) {
  const char *fn = "mat.eigh";
  static const char *const opts[] = {"symtol", NULL};
  hm_mat *a = checkfinitesquare(L, 1, fn);
  hmL_checkoptions(L, 2, fn, opts);
  double tol = hmL_optnumber(L, 2, "symtol", 1e-10, fn);
  checksymmetric(L, 1, a, tol, fn);
  size_t n = a->dim[0];
  hm_mat *w = hmL_newvec(L, n, fn);
  hm_mat *V = hmL_newmat2(L, n, n, fn);
  check(L, fn, hm_eigh(n, a->data, w->data, V->data), "");
  return 2;
}

/* Right-hand side of solve/lstsq: rank 1 (m) or rank 2 (m x k) with m rows. */
static size_t checkrhs(lua_State *L, int arg, const hm_mat *a, const hm_mat *b,
                       const char *fn) {
  if (b->rank > 2 || b->dim[0] != a->dim[0]) {
    char x[80], y[80];
    hmL_error(L, fn, "shapes %s and %s do not conform", hmL_shapestr(a, x),
              hmL_shapestr(b, y));
  }
  hmL_checkallfinite(L, arg, b, fn);
  return b->rank == 1 ? 1 : b->dim[1];
}

static int mat_solve(lua_State *L) {
  const char *fn = "mat.solve";
  hm_mat *a = checkfinitesquare(L, 1, fn);
  hm_mat *b = hmL_checkmat(L, 2, fn);
  size_t nrhs = checkrhs(L, 2, a, b, fn);
  hm_mat *x = hmL_newmat(L, b->rank, b->dim, fn);
  double rcond = 0;
  hm_status s = hm_solve(a->dim[0], nrhs, a->data, b->data, x->data, &rcond);
  if (s == HM_ESINGULAR) {
    char c[32];
    snprintf(c, sizeof c, "%.3g", rcond);
    hmL_error(L, fn, "matrix is singular to working precision (rcond = %s)", c);
  }
  check(L, fn, s, "");
  return 1;
}

static int mat_inv(lua_State *L) {
  const char *fn = "mat.inv";
  hm_mat *a = checkfinitesquare(L, 1, fn);
  size_t n = a->dim[0];
  hm_mat *x = hmL_newmat2(L, n, n, fn);
  double rcond = 0;
  hm_status s = hm_inv(n, a->data, x->data, &rcond);
  if (s == HM_ESINGULAR) {
    char b[32];
    snprintf(b, sizeof b, "%.3g", rcond);
    hmL_error(L, fn, "matrix is singular to working precision (rcond = %s)", b);
  }
  check(L, fn, s, "");
  return 1;
}

static int mat_lstsq(lua_State *L) {
  const char *fn = "mat.lstsq";
  static const char *const opts[] = {"rcond", NULL};
  hm_mat *a = checkfinitematrix(L, 1, fn);
  hm_mat *b = hmL_checkmat(L, 2, fn);
  size_t nrhs = checkrhs(L, 2, a, b, fn);
  hmL_checkoptions(L, 3, fn, opts);
  double rcond = hmL_optnumber(L, 3, "rcond", -1, fn);
  size_t m = a->dim[0], n = a->dim[1], k = m < n ? m : n, rank = 0;
  hm_mat *x = b->rank == 1 ? hmL_newvec(L, n, fn) : hmL_newmat2(L, n, nrhs, fn);
  hm_mat *S = hmL_newvec(L, k, fn);
  check(L, fn, hm_lstsq(m, n, nrhs, a->data, b->data, rcond, x->data, S->data, &rank), "");
  lua_pushinteger(L, (lua_Integer)rank);
  lua_insert(L, -2);
  return 3; /* x, rank, singular values */
}

static int mat_pinv(lua_State *L) {
  const char *fn = "mat.pinv";
  static const char *const opts[] = {"rtol", NULL};
  hm_mat *a = checkfinitematrix(L, 1, fn);
  hmL_checkoptions(L, 2, fn, opts);
  size_t m = a->dim[0], n = a->dim[1];
  double def = (double)(m > n ? m : n) * DBL_EPSILON;
  double rtol = hmL_optnumber(L, 2, "rtol", def, fn);
  if (rtol < 0) hmL_error(L, fn, "option 'rtol': non-negative number expected");
  hm_mat *P = hmL_newmat2(L, n, m, fn);
  check(L, fn, hm_pinv(m, n, a->data, rtol, P->data), "");
  return 1;
}

static int mat_rank(lua_State *L) {
  const char *fn = "mat.rank";
  static const char *const opts[] = {"rtol", "atol", NULL};
  hm_mat *a = hmL_checkmat(L, 1, fn);
  if (a->rank == 3) {
    char b[80];
    hmL_argerror(L, fn, 1, "rank-1 or rank-2 mat expected, got shape %s", hmL_shapestr(a, b));
  }
  hmL_checkallfinite(L, 1, a, fn);
  hmL_checkoptions(L, 2, fn, opts);
  double rtol = hmL_optnumber(L, 2, "rtol", 1e-6, fn);
  double atol = hmL_optnumber(L, 2, "atol", 0, fn);
  if (rtol < 0) hmL_error(L, fn, "option 'rtol': non-negative number expected");
  if (atol < 0) hmL_error(L, fn, "option 'atol': non-negative number expected");
  size_t m = hm_mat_rows(a), n = hm_mat_cols(a), k = m < n ? m : n;
  hm_mat *S = hmL_newvec(L, k, fn);
  check(L, fn, hm_svd(m, n, a->data, 0, NULL, S->data, NULL), "");
  double tol = k ? rtol * S->data[0] : 0;
  if (atol > tol) tol = atol;
  size_t r = 0;
  while (r < k && S->data[r] > tol) r++;
  lua_pushinteger(L, (lua_Integer)r);
  lua_insert(L, -2);
  lua_pushnumber(L, tol);
  return 3; /* rank, singular values, threshold */
}

static int mat_qr(lua_State *L) {
  const char *fn = "mat.qr";
  hm_mat *a = checkfinitematrix(L, 1, fn);
  size_t m = a->dim[0], n = a->dim[1], k = m < n ? m : n;
  hm_mat *Q = hmL_newmat2(L, m, k, fn);
  hm_mat *R = hmL_newmat2(L, k, n, fn);
  check(L, fn, hm_qr(m, n, a->data, Q->data, R->data), "");
  return 2;
}

static int mat_chol(lua_State *L) {
  const char *fn = "mat.chol";
  static const char *const opts[] = {"symtol", NULL};
  hm_mat *a = checkfinitesquare(L, 1, fn);
  hmL_checkoptions(L, 2, fn, opts);
  checksymmetric(L, 1, a, hmL_optnumber(L, 2, "symtol", 1e-10, fn), fn);
  size_t n = a->dim[0];
  hm_mat *Lm = hmL_newmat2(L, n, n, fn);
  check(L, fn, hm_chol(n, a->data, Lm->data), "matrix is not positive definite");
  return 1;
}

static int mat_det(lua_State *L) {
  const char *fn = "mat.det";
  hm_mat *a = checkfinitesquare(L, 1, fn);
  double d;
  check(L, fn, hm_det(a->dim[0], a->data, &d), "");
  lua_pushnumber(L, d);
  return 1;
}

const luaL_Reg hmL_mat_linalg_methods[] = {
  {"svd", mat_svd}, {"svdvals", mat_svdvals}, {"eigh", mat_eigh}, {"solve", mat_solve},
  {"inv", mat_inv}, {"lstsq", mat_lstsq}, {"pinv", mat_pinv}, {"rank", mat_rank},
  {"qr", mat_qr}, {"chol", mat_chol}, {"det", mat_det}, {NULL, NULL}};
