/* Equality rows in the QP family (solvers.md table, row (e) W_dir; docs/ntp.md §2):
 *
 *   min 1/2 |x|^2  s.t.  f_k . x >= b_k (k in I),   e_j . x = 0 (j in E).
 *
 * With P the orthogonal projector onto span{e_j}^perp, every feasible x satisfies x = P x, so
 * f_k . x = (P f_k) . x and |x| is unchanged: the problem is the inequality-only QP on the
 * projected rows f~_k = f_k - E^T C_k, C = (E E^T)^+ E F^T (ne x ni), whose solution
 * x = F~^T lambda lies in span{e_j}^perp by construction. It is solved (and certified) by
 * hm_svm_qp_vec; the multipliers of the equalities follow from
 *   F~^T lambda = F^T lambda + E^T mu   with   mu = -C lambda,
 * so (lambda, mu) is a dual point of the full problem with the same dual value and the
 * certified bracket carries over unchanged; a Farkas vector lambda~ of the projected rows
 * gives (lambda~, -C lambda~) for the full rows (F^T lambda + E^T mu = 0, b^T lambda > 0).
 * Residuals (primal infeasibility, equality residual, stationarity, Farkas residual) are
 * recomputed on the original rows. The right-hand sides of equality rows must be 0 (the
 * homogeneous case the SVMs need; the certificate's rescaling x/gamma keeps them exact). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "hm_svm_internal.h"

int hm_svm_pinv_apply(const double *K, size_t n, double *Y, size_t cols) {
  if (n == 0) return 0;
  double *V = malloc(n * n * sizeof *V), *w = malloc(n * sizeof *w);
  double *T = malloc(n * (cols ? cols : 1) * sizeof *T);
  int rank = -1;
  if (!V || !w || !T) goto done;
  memcpy(V, K, n * n * sizeof *V);
  if (LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'L', (lapack_int)n, V, (lapack_int)n, w) != 0)
    goto done;
  double wmax = 0;
  for (size_t i = 0; i < n; i++)
    if (w[i] > wmax) wmax = w[i];
  rank = 0;
  if (cols == 0) {
    for (size_t i = 0; i < n; i++)
      if (w[i] > 1e-12 * wmax) rank++;
    goto done;
  }
  /* T = V^T Y, scale, Y = V T */
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)n, (int)cols, (int)n, 1.0, V, (int)n,
              Y, (int)cols, 0.0, T, (int)cols);
  for (size_t i = 0; i < n; i++) {
    double f = w[i] > 1e-12 * wmax ? 1.0 / w[i] : 0.0;
    if (f != 0) rank++;
    for (size_t j = 0; j < cols; j++) T[i * cols + j] *= f;
  }
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)cols, (int)n, 1.0, V,
              (int)n, T, (int)cols, 0.0, Y, (int)cols);
done:
  free(V);
  free(w);
  free(T);
  return rank;
}

/* Dense row k of p (N entries; vec(a_k z_k^T) row-major for matrix rows). */
static void dense_row(const hm_svm_prob *p, size_t k, double *out) {
  if (p->kind == 0) {
    memcpy(out, p->F + k * p->N, p->N * sizeof *out);
    return;
  }
  size_t d = p->d;
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++) out[i * d + j] = p->A[k * d + i] * p->Zr[k * d + j];
}

/* Residuals of (x, lambda) on the original rows: primal infeasibility, equality residual,
 * stationarity |x - F^T lambda| / max(1, |x|), complementarity, margins. */
static hm_status full_residuals(const hm_svm_prob *p, const unsigned char *eq, const double *x,
                                const double *lambda, hm_svm_result *res) {
  size_t m = p->m, N = p->N;
  double *mg = malloc((m ? m : 1) * sizeof *mg), *u = malloc((N ? N : 1) * sizeof *u);
  hm_status st = HM_ENOMEM;
  if (!mg || !u) goto done;
  if ((st = hm_svm_prob_margins(p, x, mg)) != HM_OK) goto done;
  if ((st = hm_svm_prob_adjoint(p, lambda, u)) != HM_OK) goto done;
  double xn = 0, maxf = 0, viol = 0, eqr = 0, comp = 0, bl = 0, lmax = 0, sres = 0;
  for (size_t j = 0; j < N; j++) {
    xn += x[j] * x[j];
    sres += (x[j] - u[j]) * (x[j] - u[j]);
  }
  xn = sqrt(xn);
  for (size_t k = 0; k < m; k++) {
    maxf = fmax(maxf, sqrt(hm_svm_prob_rownorm2(p, k)));
    if (eq[k]) {
      eqr = fmax(eqr, fabs(mg[k] - p->b[k]));
    } else {
      viol = fmax(viol, p->b[k] - mg[k]);
      comp = fmax(comp, fabs(lambda[k] * (mg[k] - p->b[k])));
      bl += p->b[k] * lambda[k];
      lmax = fmax(lmax, fabs(lambda[k]));
    }
  }
  double sc = fmax(1.0, xn * maxf);
  res->primal_infeas = fmax(viol, eqr) / sc;
  res->eq_residual = eqr / sc;
  res->stationarity = sqrt(sres) / fmax(1.0, xn);
  res->complementarity = comp / fmax(1.0, fmax(bl, lmax));
  if (res->margins) memcpy(res->margins, mg, m * sizeof *mg);
done:
  free(mg);
  free(u);
  return st;
}

hm_status hm_svm_solve_eq(const hm_svm_prob *p, const unsigned char *eq, const hm_svm_opts *o,
                          hm_svm_result *res) {
  double t0 = hm_svm_now();
  size_t m = p->m, N = p->N, ne = 0, ni = 0;
  if (p->nfree) return HM_EARG;
  if (!hm_all_finite(p->b, m)) return HM_ENONFINITE;
  if (p->kind == 0 && !hm_all_finite(p->F, m * N)) return HM_ENONFINITE;
  if (p->kind == 1 && (!hm_all_finite(p->A, m * p->d) || !hm_all_finite(p->Zr, m * p->d)))
    return HM_ENONFINITE;
  for (size_t k = 0; k < m; k++) {
    if (eq[k] && p->b[k] != 0) return HM_EARG;
    if (eq[k]) ne++;
    else ni++;
  }
  size_t *Ei = malloc((ne ? ne : 1) * sizeof *Ei), *Ii = malloc((ni ? ni : 1) * sizeof *Ii);
  double *Fe = malloc((ne ? ne : 1) * N * sizeof *Fe), *Fi = malloc((ni ? ni : 1) * N * sizeof *Fi);
  double *KE = malloc((ne ? ne * ne : 1) * sizeof *KE), *C = malloc((ne && ni ? ne * ni : 1) * sizeof *C);
  double *bi = malloc((ni ? ni : 1) * sizeof *bi), *li = malloc((ni ? ni : 1) * sizeof *li);
  double *fi = malloc((ni ? ni : 1) * sizeof *fi), *mu = malloc((ne ? ne : 1) * sizeof *mu);
  hm_status st = HM_ENOMEM;
  if (!Ei || !Ii || !Fe || !Fi || !KE || !C || !bi || !li || !fi || !mu) goto done;
  ne = ni = 0;
  for (size_t k = 0; k < m; k++) {
    if (eq[k]) {
      dense_row(p, k, Fe + ne * N);
      Ei[ne++] = k;
    } else {
      dense_row(p, k, Fi + ni * N);
      bi[ni] = p->b[k];
      Ii[ni++] = k;
    }
  }
  /* project the inequality rows off span{e_j}: C = (E E^T)^+ E F^T, F~ = F - C^T E */
  if (ne && ni) {
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)ne, (int)N, 1.0, Fe, (int)N, 0.0,
                KE, (int)ne);
    for (size_t i = 0; i < ne; i++)
      for (size_t j = i + 1; j < ne; j++) KE[i * ne + j] = KE[j * ne + i];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)ne, (int)ni, (int)N, 1.0, Fe, (int)N,
                Fi, (int)N, 0.0, C, (int)ni);
    if (hm_svm_pinv_apply(KE, ne, C, ni) < 0) {
      st = HM_ELAPACK;
      goto done;
    }
    for (size_t k = 0; k < ni; k++) {
      double n0 = cblas_dnrm2((int)N, Fi + k * N, 1);
      for (size_t j = 0; j < ne; j++)
        if (C[j * ni + k] != 0) cblas_daxpy((int)N, -C[j * ni + k], Fe + j * N, 1, Fi + k * N, 1);
      /* a row inside the equality span is zero up to rounding: make it exactly zero so the
       * QP driver treats it as such (b > 0: infeasible at once, b <= 0: dropped) */
      if (cblas_dnrm2((int)N, Fi + k * N, 1) <= 1e-12 * n0) memset(Fi + k * N, 0, N * sizeof *Fi);
    }
  }
  hm_svm_result rs;
  memset(&rs, 0, sizeof rs);
  rs.x = res->x;
  rs.lambda = li;
  rs.farkas = fi;
  hm_vcons vc = {ni, N, 0, Fi, bi, NULL};
  if ((st = hm_svm_qp_vec(&vc, o, &rs)) != HM_OK) goto done;
  int infeas = rs.status == HM_SVM_INFEASIBLE;
  const double *lsrc = infeas ? fi : li;
  for (size_t j = 0; j < ne; j++) {
    double s = 0;
    for (size_t k = 0; k < ni; k++) s += C[j * ni + k] * lsrc[k];
    mu[j] = ni ? -s : 0;
  }
  {
    double *xo = res->x, *lo = res->lambda, *fo = res->farkas, *mgo = res->margins;
    *res = rs;
    res->x = xo;
    res->lambda = lo;
    res->farkas = fo;
    res->margins = mgo;
  }
  double *dst = infeas ? res->farkas : res->lambda;
  memset(res->lambda, 0, m * sizeof *res->lambda);
  memset(res->farkas, 0, m * sizeof *res->farkas);
  for (size_t k = 0; k < ni; k++) dst[Ii[k]] = lsrc[k];
  for (size_t j = 0; j < ne; j++) dst[Ei[j]] = mu[j];
  if (infeas) {
    res->farkas_residual = hm_svm_farkas_residual_eq(p, eq, res->farkas);
    res->eq_residual = NAN;
  } else {
    st = full_residuals(p, eq, res->x, res->lambda, res);
  }
  res->seconds = hm_svm_now() - t0;
done:
  free(Ei);
  free(Ii);
  free(Fe);
  free(Fi);
  free(KE);
  free(C);
  free(bi);
  free(li);
  free(fi);
  free(mu);
  return st;
}

double hm_svm_eq_residual_w(const hm_wcons *c, const double *W) {
  if (!c->eq) return 0;
  size_t d = c->d;
  double r = 0, maxf = 0, wn = 0;
  for (size_t j = 0; j < d * d; j++) wn += W[j] * W[j];
  wn = sqrt(wn);
  for (size_t k = 0; k < c->m; k++) {
    double sa = 0, sz = 0, s = 0;
    for (size_t i = 0; i < d; i++) {
      sa += c->A[k * d + i] * c->A[k * d + i];
      sz += c->Zr[k * d + i] * c->Zr[k * d + i];
      double t = 0;
      for (size_t j = 0; j < d; j++) t += W[i * d + j] * c->Zr[k * d + j];
      s += c->A[k * d + i] * t;
    }
    maxf = fmax(maxf, sqrt(sa * sz));
    if (c->eq[k]) r = fmax(r, fabs(s - c->b[k]));
  }
  return r / fmax(1.0, wn * maxf);
}
