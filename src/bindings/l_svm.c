/* hardmax.svm — certified max-margin solvers: the QP family, and nuclear / l_p norms through
 * the conic core when present. This file owns the module table; the theory checks
 * (l_svm_checks.c) and the raw conic entry points (l_svm_conic.c) add theirs. Argument and
 * result helpers: hm_lsvm_args.h. See docs/svm.md. */
#include <math.h>
#include <string.h>

#include "hm_lsvm.h"
#include "hm_lsvm_args.h"

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
/* solver routing by norm: QP core (Frobenius / Euclidean) or conic core (nuclear, l_p)    */

#if HM_HAVE_CONIC
/* The fields the conic solvers leave to the caller: margin 1/norm and the dual bound. */
static void conic_bounds(hm_svm_result *r) {
  r->margin = r->objective > 0 ? 1.0 / r->objective : INFINITY;
  r->lower_bound = r->dual_objective;
}
#endif

static hm_status solve_w(lua_State *L, const char *fn, const hm_wcons *c, const svm_norm *ns,
                         const hm_svm_opts *o, hm_svm_result *r) {
  if (o->form == 2)
    hmL_error(L, fn,
              "option form: \"primal\" applies to vector problems only (svm.hard_margin, "
              "svm.prompt, svm.head)");
  if (ns->kind == 0) return hm_svm_qp_w(c, o, r);
#if HM_HAVE_CONIC
  hm_svm_opts oc = *o;
  hm_status st;
  if (ns->kind == 1) {
    if (oc.tol == 1e-9) oc.tol = 1e-6;
    st = hm_svm_nuclear(c, &oc, r);
    r->method_used = 10;
  } else if (ns->kind == 3 || ns->kind == 4) {
    st = ns->kind == 3 ? hm_svm_linf_w(c, &oc, r, NULL) : hm_svm_l1_w(c, &oc, r, NULL);
    r->method_used = 12;
  } else if (ns->kind == 5) {
    if (oc.tol == 1e-9) oc.tol = 1e-8;
    st = hm_svm_spectral_w(c, &oc, r, NULL);
    r->method_used = 13;
  } else {
    st = hm_svm_lp_w(c, ns->p, &oc, r, NULL);
    r->method_used = 11;
  }
  if (st == HM_OK && r->status != HM_SVM_INFEASIBLE) {
    conic_bounds(r);
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

static hm_status solve_vec(lua_State *L, const char *fn, const hm_vcons *c, const svm_norm *ns,
                           const hm_svm_opts *o, hm_svm_result *r) {
  if (ns->kind == 0) return hm_svm_qp_vec(c, o, r);
#if HM_HAVE_CONIC
  if (c->nfree) hmL_error(L, fn, "the l_p SVM has no bias option");
  hm_status st = ns->kind == 3   ? hm_svm_linf_vec(c, o, r)
                 : ns->kind == 4 ? hm_svm_l1_vec(c, o, r)
                                 : hm_svm_lp_vec(c, ns->p, o, r);
  r->method_used = ns->kind == 2 ? 11 : 12;
  if (st == HM_OK && r->status != HM_SVM_INFEASIBLE) {
    conic_bounds(r);
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
  hmL_error(
      L, fn,
      "l_p norms (p = %f) are not available yet (the conic solvers have not landed in this build)",
      ns->p);
  return HM_EARG;
#endif
}

/* The labelled vector SVM on m rows of length N0 (labels y, NULL: all +1; with bias, a free
 * offset): min norm(x) s.t. y_i (x^T rows_i + beta) >= 1. Pushes the result table with the
 * solution without the bias entry as field solname, and the offset as field bias. */
static int solve_labelled(lua_State *L, const char *fn, const char *solname,
                          const double *rows, const double *y, size_t m, size_t N0, int bias,
                          const svm_norm *ns, const svm_sopts *so) {
  size_t N = N0 + (bias ? 1 : 0);
  double *F = hmL_svm_scratch(L, m * N * sizeof *F), *b = hmL_svm_scratch(L, m * sizeof *b);
  for (size_t i = 0; i < m; i++) {
    double yi = y ? y[i] : 1.0;
    for (size_t j = 0; j < N0; j++) F[i * N + j] = yi * rows[i * N0 + j];
    if (bias) F[i * N + N0] = yi;
    b[i] = 1;
  }
  hm_mat *xm = hmL_newvec(L, N, fn);
  svm_out o;
  hmL_svm_outputs(L, fn, xm, m, m, &o);
  hm_vcons c = {m, N, bias ? 1u : 0u, F, b, NULL};
  hmL_check(L, fn, solve_vec(L, fn, &c, ns, &so->o, &o.r));
  hm_mat *wm = hmL_newvec(L, N0, fn); /* the solution without the bias entry */
  memcpy(wm->data, xm->data, N0 * sizeof(double));
  int wi = lua_gettop(L);
  svm_rowinfo ri = {0, m, 1, NULL, NULL, NULL};
  hmL_svm_push_result(L, solname, wi, o.li, o.fi, &o.r, o.mg, b, m, &ri, so->support_tol);
  if (bias && o.r.status != HM_SVM_INFEASIBLE) hmL_svm_setnum(L, "bias", xm->data[N0]);
  return 1;
}

/* The W-SVM on rows c (margins scratch for cap rows); pushes the result table (field W). */
static int solve_rows_w(lua_State *L, const char *fn, const hm_wcons *c, size_t cap,
                        const svm_rowinfo *ri, const svm_norm *ns, const svm_sopts *so) {
  hm_mat *xm = hmL_newmat2(L, c->d, c->d, fn);
  svm_out o;
  hmL_svm_outputs(L, fn, xm, c->m, cap, &o);
  hmL_check(L, fn, solve_w(L, fn, c, ns, &so->o, &o.r));
  hmL_svm_push_result(L, "W", o.xi, o.li, o.fi, &o.r, o.mg, c->b, c->m, ri, so->support_tol);
  return 1;
}

/* ------------------------------------------------------------------------------------ */
/* svm.hard_margin(X, y, opts)                                                          */

static int l_hard_margin(lua_State *L) {
  const char *fn = "svm.hard_margin";
  static const char *const allowed[] = {"bias", "p", HM_LSVM_COMMON_OPTS, "working_set", NULL};
  hmL_svm_enter(L, fn, 3, allowed);
  svm_arr X, y;
  hmL_svm_checkarr(L, 1, fn, 1, "X", &X);
  hmL_svm_checkarr(L, 2, fn, 2, "y", &y);
  char b1[80], b2[80];
  if (X.rank != 2)
    hmL_argerror(L, fn, 1, "m x N matrix expected, got shape %s", hmL_svm_arrshape(&X, b1));
  size_t m = X.dim[0], N0 = X.dim[1];
  if (y.size != m || y.rank != 1)
    hmL_argerror(L, fn, 2, "%d labels expected, got shape %s (X is %s)", (int)m,
                 hmL_svm_arrshape(&y, b2), hmL_svm_arrshape(&X, b1));
  hmL_svm_finite(L, &X, fn, "X");
  for (size_t i = 0; i < m; i++)
    if (y.data[i] != 1 && y.data[i] != -1)
      hmL_argerror(L, fn, 2, "labels must be +1 or -1, got %f at %d", y.data[i], (int)i + 1);
  int bias = hmL_optboolean(L, 3, "bias", 0, fn);
  svm_norm ns;
  hmL_svm_getnorm(L, 3, "p", fn, 0, &ns);
  svm_sopts so;
  hmL_svm_getsopts(L, 3, fn, &so);
  return solve_labelled(L, fn, "w", X.data, y.data, m, N0, bias, &ns, &so);
}

/* ------------------------------------------------------------------------------------ */
/* svm.prompt(ds_or_X, alpha, opts)                                                     */

static int l_prompt(lua_State *L) {
  const char *fn = "svm.prompt";
  static const char *const allowed[] = {"W", "rhs", "relax", "p", HM_LSVM_COMMON_OPTS, "working_set", NULL};
  hmL_svm_enter(L, fn, 3, allowed);
  svm_ds ds;
  hmL_svm_getds(L, 1, fn, &ds);
  size_t n = ds.n, T = ds.T, d = ds.d;
  size_t *al = hmL_svm_getalpha(L, 2, n, T, fn, 2);
  svm_sopts so;
  hmL_svm_getsopts(L, 3, fn, &so);
  svm_norm ns;
  hmL_svm_getnorm(L, 3, "p", fn, 0, &ns);
  double *rhs = hmL_svm_getrhs(L, 3, n, fn);
  /* keys k_it = W^T x_it: the row x^T W */
  size_t dk = d;
  const double *keys = ds.X.data;
  if (hmL_optfield(L, 3, "W") != LUA_TNIL) {
    int vi = lua_gettop(L);
    svm_arr W;
    char b[80];
    int isarr = hmL_svm_toarr(L, vi, fn, "W", &W);
    if (!isarr || W.rank != 2 || W.dim[0] != d)
      hmL_error(L, fn, "option W: %dxk key matrix expected, got %s", (int)d,
                isarr ? hmL_svm_arrshape(&W, b) : luaL_typename(L, vi));
    hmL_svm_finite(L, &W, fn, "W");
    dk = W.dim[1];
    double *kx = hmL_svm_scratch(L, n * T * dk * sizeof *kx);
    for (size_t r = 0; r < n * T; r++)
      for (size_t j = 0; j < dk; j++) {
        double s = 0;
        for (size_t q = 0; q < d; q++) s += ds.X.data[r * d + q] * W.data[q * dk + j];
        kx[r * dk + j] = s;
      }
    keys = kx;
  }
  size_t mmax = (n * (T - 1) > 0) ? n * (T - 1) : 1;
  double *F = hmL_svm_scratch(L, mmax * dk * sizeof *F), *b = hmL_svm_scratch(L, mmax * sizeof *b);
  size_t *smp = hmL_svm_scratch(L, mmax * sizeof *smp),
         *tok = hmL_svm_scratch(L, mmax * sizeof *tok);
  size_t m;
  hmL_check(L, fn, hm_svm_build_p(keys, n, T, dk, al, rhs, F, b, smp, tok, &m));
  hm_mat *xm = hmL_newvec(L, dk, fn);
  svm_out o;
  hmL_svm_outputs(L, fn, xm, m, mmax, &o);
  hm_vcons c = {m, dk, 0, F, b, NULL};
  hmL_check(L, fn, solve_vec(L, fn, &c, &ns, &so.o, &o.r));
  svm_rowinfo ri = {1, n, T, smp, NULL, tok};
  hmL_svm_push_result(L, "p", o.xi, o.li, o.fi, &o.r, o.mg, b, m, &ri, so.support_tol);
  return 1;
}

/* ------------------------------------------------------------------------------------ */
/* svm.head(ds_or_X, alpha, opts): v-SVM on the selected tokens                         */

static int l_head(lua_State *L) {
  const char *fn = "svm.head";
  static const char *const allowed[] = {"y", "bias", "p", HM_LSVM_COMMON_OPTS, "working_set", NULL};
  hmL_svm_enter(L, fn, 3, allowed);
  svm_ds ds;
  hmL_svm_getds(L, 1, fn, &ds);
  size_t n = ds.n, T = ds.T, d = ds.d;
  size_t *al = hmL_svm_getalpha(L, 2, n, T, fn, 2);
  const double *Y = hmL_svm_getY(L, 3, &ds, fn);
  int bias = hmL_optboolean(L, 3, "bias", 0, fn);
  svm_norm ns;
  hmL_svm_getnorm(L, 3, "p", fn, 0, &ns);
  svm_sopts so;
  hmL_svm_getsopts(L, 3, fn, &so);
  double *sel = hmL_svm_scratch(L, n * d * sizeof *sel); /* the selected tokens x_{i alpha_i} */
  for (size_t i = 0; i < n; i++)
    memcpy(sel + i * d, ds.X.data + (i * T + al[i]) * d, d * sizeof *sel);
  return solve_labelled(L, fn, "v", sel, Y, n, d, bias, &ns, &so);
}

/* ------------------------------------------------------------------------------------ */
/* svm.att(ds_or_X, alpha, opts): W-SVM                                                 */

static int l_att(lua_State *L) {
  const char *fn = "svm.att";
  static const char *const allowed[] = {"Z", "query", "norm", "rhs", "relax", HM_LSVM_COMMON_OPTS,
                                        NULL};
  hmL_svm_enter(L, fn, 3, allowed);
  svm_ds ds;
  hmL_svm_getds(L, 1, fn, &ds);
  size_t n = ds.n, T = ds.T, d = ds.d;
  size_t *al = hmL_svm_getalpha(L, 2, n, T, fn, 2);
  size_t query;
  const double *Z = hmL_svm_getZ(L, 3, &ds, fn, &query);
  svm_norm ns;
  hmL_svm_getnorm(L, 3, "norm", fn, 1, &ns);
  svm_sopts so;
  hmL_svm_getsopts(L, 3, fn, &so);
  double *rhs = hmL_svm_getrhs(L, 3, n, fn);
  svm_attrows w;
  hmL_svm_attrows(L, fn, &ds, al, Z, query, rhs, &w);
  hm_wcons c = {w.m, d, w.A, w.Zr, w.b, NULL};
  svm_rowinfo ri = {1, n, T, w.smp, NULL, w.tok};
  return solve_rows_w(L, fn, &c, w.cap, &ri, &ns, &so);
}

/* ------------------------------------------------------------------------------------ */
/* svm.seq(ds_or_X, alpha (n x T), opts): SAtt-SVM                                      */

static int l_seq(lua_State *L) {
  const char *fn = "svm.seq";
  static const char *const allowed[] = {"mask", "norm", HM_LSVM_COMMON_OPTS, NULL};
  hmL_svm_enter(L, fn, 3, allowed);
  svm_ds ds;
  hmL_svm_getds(L, 1, fn, &ds);
  size_t n = ds.n, T = ds.T, d = ds.d;
  size_t *al = hmL_svm_getalpha2(L, 2, n, T, fn, 2);
  const char *mask = hmL_optstring(L, 3, "mask", "full", fn);
  int causal;
  if (!strcmp(mask, "full")) causal = 0;
  else if (!strcmp(mask, "causal")) causal = 1;
  else return hmL_error(L, fn, "option mask: \"full\" or \"causal\" expected, got \"%s\"", mask);
  if (causal)
    for (size_t i = 0; i < n; i++)
      for (size_t k = 0; k < T; k++)
        if (al[i * T + k] > k)
          hmL_argerror(L, fn, 2,
                       "alpha[%d][%d] = %d is not visible under the causal mask (must be <= %d)",
                       (int)i + 1, (int)k + 1, (int)al[i * T + k] + 1, (int)k + 1);
  svm_norm ns;
  hmL_svm_getnorm(L, 3, "norm", fn, 1, &ns);
  svm_sopts so;
  hmL_svm_getsopts(L, 3, fn, &so);
  size_t mmax = (n * T * (T - 1) > 0) ? n * T * (T - 1) : 1;
  double *A = hmL_svm_scratch(L, mmax * d * sizeof *A),
         *Zr = hmL_svm_scratch(L, mmax * d * sizeof *Zr);
  double *b = hmL_svm_scratch(L, mmax * sizeof *b);
  size_t *smp = hmL_svm_scratch(L, mmax * sizeof *smp),
         *pos = hmL_svm_scratch(L, mmax * sizeof *pos),
         *tok = hmL_svm_scratch(L, mmax * sizeof *tok);
  size_t m;
  hmL_check(L, fn, hm_svm_build_seq(ds.X.data, n, T, d, al, causal, A, Zr, b, smp, pos, tok, &m));
  hm_wcons c = {m, d, A, Zr, b, NULL};
  svm_rowinfo ri = {2, n, T, smp, pos, tok};
  return solve_rows_w(L, fn, &c, mmax, &ri, &ns, &so);
}

/* ------------------------------------------------------------------------------------ */
/* svm.gen: attention probabilities s_i = softmax(X_i W z_i)                              */

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
static void gen_nuclear(lua_State *L, const char *fn, const svm_ds *ds, const double *Z,
                        size_t query, const unsigned char *sel, const double *Wgd,
                        const double *logit, const hm_svm_opts *o, hm_svm_gen_result *gr) {
#if HM_HAVE_CONIC
  size_t n = ds->n, T = ds->T, d = ds->d, re = n * T, ri = n * T * T, dd = d * d;
  double *AE = hmL_svm_scratch(L, re * d * sizeof *AE),
         *ZE = hmL_svm_scratch(L, re * d * sizeof *ZE);
  double *c = hmL_svm_scratch(L, re * sizeof *c);
  double *A = hmL_svm_scratch(L, (ri + re) * d * sizeof *A),
         *Zr = hmL_svm_scratch(L, (ri + re) * d * sizeof *Zr);
  double *b = hmL_svm_scratch(L, (ri + re) * sizeof *b);
  unsigned char *eq = hmL_svm_scratch(L, ri + re);
  size_t ne, ni;
  hmL_check(L, fn, hm_svm_gen_rows(ds->X.data, n, T, d, Z, query, sel, Wgd, Wgd ? NULL : logit,
                                   AE, ZE, c, &ne, A, Zr, &ni));
  gr->n_eq = ne;
  gr->n_ineq = ni;
  gr->eq_rank = -1;
  hm_svm_opts oc = *o;
  if (oc.tol == 1e-9) oc.tol = 1e-6;
  /* W_fin */
  double *lf = hmL_svm_scratch(L, (ne ? ne : 1) * sizeof *lf),
         *ff = hmL_svm_scratch(L, (ne ? ne : 1) * sizeof *ff);
  memset(gr->Wfin, 0, dd * sizeof(double));
  gr->fin_residual = 0;
  if (ne) {
    memset(eq, 1, ne);
    hm_wcons cf = {ne, d, AE, ZE, c, eq};
    hm_svm_result rf;
    hmL_svm_init_result(&rf, gr->Wfin, lf, ff, NULL);
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
  conic_bounds(&gr->dir);
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
  static const char *const allowed[] = {"tau_h", "tau_l", "norm", "Z", "query", "probs",
                                        HM_LSVM_COMMON_OPTS, NULL};
  hmL_svm_enter(L, fn, 3, allowed);
  svm_ds ds;
  hmL_svm_getds(L, 1, fn, &ds);
  size_t n = ds.n, T = ds.T, d = ds.d;
  svm_arr in;
  hmL_svm_checkarr(L, 2, fn, 2, "W_gd or probs", &in);
  hmL_svm_finite(L, &in, fn, "argument #2");
  double tau_h = hmL_optnumber(L, 3, "tau_h", 1e-3, fn);
  double tau_l = hmL_optnumber(L, 3, "tau_l", 1e-6, fn);
  if (!(tau_l > 0 && tau_h > tau_l && tau_h < 1))
    hmL_error(L, fn, "thresholds must satisfy 0 < tau_l < tau_h < 1 (got %f, %f)", tau_l, tau_h);
  svm_norm ns;
  hmL_svm_getnorm(L, 3, "norm", fn, 1, &ns);
  if (ns.kind >= 2 || (ns.kind == 1 && !HM_HAVE_CONIC))
    hmL_error(L, fn, "norm %s is not available for the generalized SVM in this build",
              ns.kind == 1 ? "\"nuc\"" : ns.kind == 5 ? "\"spec\"" : "l_p");
  int probs_flag = hmL_optboolean(L, 3, "probs", 0, fn);
  size_t query;
  const double *Z = hmL_svm_getZ(L, 3, &ds, fn, &query);
  svm_sopts so;
  hmL_svm_getsopts(L, 3, fn, &so);
  int isW = in.rank == 2 && in.dim[0] == d && in.dim[1] == d && !probs_flag;
  int isP = in.rank == 2 && in.dim[0] == n && in.dim[1] == T;
  char b[80];
  if (!isW && !isP)
    hmL_argerror(L, fn, 2, "%dx%d W_gd or %dx%d probabilities expected, got %s", (int)d, (int)d,
                 (int)n, (int)T, hmL_svm_arrshape(&in, b));
  double *logit = hmL_svm_scratch(L, n * T * sizeof *logit),
         *s = hmL_svm_scratch(L, n * T * sizeof *s);
  if (isW) {
    hmL_svm_logits(&ds, in.data, Z, query, logit);
    softmax_rows(logit, n, T, s);
  } else {
    for (size_t k = 0; k < n * T; k++) {
      if (!(in.data[k] >= 0)) hmL_argerror(L, fn, 2, "probabilities must be >= 0");
      s[k] = in.data[k];
      logit[k] = log(in.data[k]);
    }
  }
  unsigned char *sel = hmL_svm_scratch(L, n * T);
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
  hmL_svm_init_result(&gr.dir, Wdir->data, lm->data, fm->data, NULL);
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
  hmL_svm_push_result(L, "W", wdi, l2i, f2i, &gr.dir, NULL, NULL, mdir, NULL, so.support_tol);
  lua_setfield(L, -2, "dir");
  lua_pushstring(L, hmL_svm_status_name(gr.dir.status));
  lua_setfield(L, -2, "status");
  if (gr.dir.status != HM_SVM_INFEASIBLE) {
    lua_pushvalue(L, wdi);
    lua_setfield(L, -2, "W_dir");
  }
  if (!isnan(gr.R)) {
    hmL_svm_setnum(L, "R", gr.R);
    lua_pushvalue(L, wei);
    lua_setfield(L, -2, "W_eq");
  }
  hmL_svm_setnum(L, "fin_residual", gr.fin_residual);
  hmL_svm_setnum(L, "dir_eq_residual", gr.dir_eq_residual);
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
  hmL_svm_setnum(L, "masked_max", mmax);
  lua_setfield(L, -2, "accept");
  return 1;
}

static const luaL_Reg funcs[] = {
    {"hard_margin", l_hard_margin},
    {"prompt", l_prompt},
    {"head", l_head},
    {"att", l_att},
    {"seq", l_seq},
    {"gen", l_gen},
    {NULL, NULL}};

int luaopen_hardmax_svm(lua_State *L) {
  luaL_newlib(L, funcs);
  hmL_svm_open_checks(L);
  hmL_svm_open_conic(L);
  lua_pushboolean(L, HM_HAVE_CONIC);
  lua_setfield(L, -2, "has_conic");
  return 1;
}
