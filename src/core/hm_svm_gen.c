/* Generalized SVM equivalence (theory.md C.4, solvers.md 2.6), Frobenius norm:
 *   W_fin: least-norm W with <B_k, W> = c_k, B_k = (x_{i tau} - x_{i r_i}) z_i^T, one row per
 *          non-reference selected token (the all-pairs system is dependent);
 *   W_dir: min |W|_F s.t. <B_k, W> = 0 and (x_{i tau} - x_{it})^T W z_i >= 1 (tau selected,
 *          t masked), solved by projecting the inequality rows off span{B_k};
 *   R = <W_GD - W_fin, W_dir> / |W_dir|_F^2 and W_eq = W_fin + R W_dir. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "hm_svm_internal.h"

hm_status hm_svm_gen_rows(const double *X, size_t n, size_t T, size_t d, const double *Z,
                          size_t query, const unsigned char *sel, const double *Wgd,
                          const double *logits, double *AE, double *ZE, double *c, size_t *ne_out,
                          double *AI, double *ZI, size_t *ni_out) {
  if (!Z && query >= T) return HM_EARG;
  if (!Wgd && !logits) return HM_EARG;
  size_t ke = 0, ki = 0;
  for (size_t i = 0; i < n; i++) {
    size_t ref = T;
    for (size_t t = 0; t < T; t++)
      if (sel[i * T + t]) {
        ref = t;
        break;
      }
    if (ref == T) return HM_EARG;
    const double *Xi = X + i * T * d, *xr = Xi + ref * d;
    const double *z = Z ? Z + i * d : Xi + query * d;
    for (size_t t = 0; t < T; t++) {
      if (sel[i * T + t] && t != ref) {
        for (size_t j = 0; j < d; j++) {
          AE[ke * d + j] = Xi[t * d + j] - xr[j];
          ZE[ke * d + j] = z[j];
        }
        if (Wgd) {
          double s = 0;
          for (size_t j1 = 0; j1 < d; j1++)
            for (size_t j2 = 0; j2 < d; j2++) s += AE[ke * d + j1] * Wgd[j1 * d + j2] * z[j2];
          c[ke] = s;
        } else {
          c[ke] = logits[i * T + t] - logits[i * T + ref];
        }
        ke++;
      }
      if (sel[i * T + t])
        for (size_t u = 0; u < T; u++) {
          if (sel[i * T + u]) continue;
          for (size_t j = 0; j < d; j++) {
            AI[ki * d + j] = Xi[t * d + j] - Xi[u * d + j];
            ZI[ki * d + j] = z[j];
          }
          ki++;
        }
    }
  }
  *ne_out = ke;
  *ni_out = ki;
  return hm_all_finite(c, ke) ? HM_OK : HM_ENONFINITE;
}

hm_status hm_svm_gen(const double *X, size_t n, size_t T, size_t d, const double *Z,
                     size_t query, const unsigned char *sel, const double *Wgd,
                     const double *logits, const hm_svm_opts *o, hm_svm_gen_result *res) {
  if (!Z && query >= T) return HM_EARG;
  if (!Wgd && !logits) return HM_EARG;
  size_t dd = d * d;
  size_t *ref = malloc((n ? n : 1) * sizeof *ref);
  size_t ne = 0, ni = 0;
  if (!ref) return HM_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    size_t cnt = 0;
    ref[i] = T;
    for (size_t t = 0; t < T; t++)
      if (sel[i * T + t]) {
        if (ref[i] == T) ref[i] = t;
        cnt++;
      }
    if (cnt == 0) {
      free(ref);
      return HM_EARG;
    }
    ne += cnt - 1;
    ni += cnt * (T - cnt);
  }
  hm_status st = HM_OK;
  double *AE = malloc((ne ? ne : 1) * d * sizeof *AE), *ZE = malloc((ne ? ne : 1) * d * sizeof *ZE);
  double *c = malloc((ne ? ne : 1) * sizeof *c), *mu = malloc((ne ? ne : 1) * sizeof *mu);
  double *AI = malloc((ni ? ni : 1) * d * sizeof *AI), *ZI = malloc((ni ? ni : 1) * d * sizeof *ZI);
  double *bI = malloc((ni ? ni : 1) * sizeof *bI);
  double *KE = malloc((ne ? ne * ne : 1) * sizeof *KE);
  double *tmp = malloc((ne ? ne : 1) * sizeof *tmp);
  double *Fv = NULL, *CE = NULL;
  if (!AE || !ZE || !c || !mu || !AI || !ZI || !bI || !KE || !tmp) {
    st = HM_ENOMEM;
    goto done;
  }
  {
    size_t ke, ki;
    st = hm_svm_gen_rows(X, n, T, d, Z, query, sel, Wgd, logits, AE, ZE, c, &ke, AI, ZI, &ki);
    if (st != HM_OK) goto done;
    for (size_t k = 0; k < ki; k++) bI[k] = 1;
  }
  res->n_eq = ne;
  res->n_ineq = ni;
  hm_svm_prob pe = {1, ne, dd, 0, d, NULL, AE, ZE, c};
  /* W_fin */
  st = hm_svm_prob_gram(&pe, NULL, ne, KE);
  if (st != HM_OK) goto done;
  memcpy(mu, c, ne * sizeof *mu);
  int rk = hm_svm_pinv_apply(KE, ne, mu, 1);
  if (rk < 0) {
    st = HM_ELAPACK;
    goto done;
  }
  res->eq_rank = rk;
  st = hm_svm_prob_adjoint(&pe, mu, res->Wfin);
  if (st != HM_OK) goto done;
  st = hm_svm_prob_margins(&pe, res->Wfin, tmp);
  if (st != HM_OK) goto done;
  double cmax = 0, rmax = 0;
  for (size_t k = 0; k < ne; k++) {
    if (fabs(c[k]) > cmax) cmax = fabs(c[k]);
    if (fabs(tmp[k] - c[k]) > rmax) rmax = fabs(tmp[k] - c[k]);
  }
  res->fin_residual = rmax / fmax(1.0, cmax);

  /* W_dir */
  hm_svm_result *dr = &res->dir;
  dr->x = res->Wdir;
  if (ne == 0) {
    hm_wcons wc = {ni, d, AI, ZI, bI, NULL};
    st = hm_svm_qp_w(&wc, o, dr);
  } else {
    /* projected rows f~_k = vec(a_k z_k^T) - sum_j C_jk vec(B_j), C = K_E^+ K_EI */
    Fv = malloc((ni ? ni : 1) * dd * sizeof *Fv);
    CE = malloc(ne * (ni ? ni : 1) * sizeof *CE);
    if (!Fv || !CE) {
      st = HM_ENOMEM;
      goto done;
    }
    for (size_t j = 0; j < ne; j++)
      for (size_t k = 0; k < ni; k++) {
        double ax = 0, zz = 0;
        for (size_t q = 0; q < d; q++) {
          ax += AE[j * d + q] * AI[k * d + q];
          zz += ZE[j * d + q] * ZI[k * d + q];
        }
        CE[j * ni + k] = ax * zz;
      }
    if (ni && hm_svm_pinv_apply(KE, ne, CE, ni) < 0) {
      st = HM_ELAPACK;
      goto done;
    }
    for (size_t k = 0; k < ni; k++) {
      double *f = Fv + k * dd;
      for (size_t j1 = 0; j1 < d; j1++)
        for (size_t j2 = 0; j2 < d; j2++) f[j1 * d + j2] = AI[k * d + j1] * ZI[k * d + j2];
      for (size_t j = 0; j < ne; j++) {
        double cj = CE[j * ni + k];
        if (cj == 0) continue;
        for (size_t j1 = 0; j1 < d; j1++)
          for (size_t j2 = 0; j2 < d; j2++) f[j1 * d + j2] -= cj * AE[j * d + j1] * ZE[j * d + j2];
      }
    }
    hm_vcons vc = {ni, dd, 0, Fv, bI, NULL};
    st = hm_svm_qp_vec(&vc, o, dr);
  }
  if (st != HM_OK) goto done;
  double wn2 = 0;
  for (size_t j = 0; j < dd; j++) wn2 += res->Wdir[j] * res->Wdir[j];
  res->dir_eq_residual = 0;
  if (ne && wn2 > 0) {
    st = hm_svm_prob_margins(&pe, res->Wdir, tmp);
    if (st != HM_OK) goto done;
    double e = 0;
    for (size_t k = 0; k < ne; k++)
      if (fabs(tmp[k]) > e) e = fabs(tmp[k]);
    res->dir_eq_residual = e / sqrt(wn2);
  }
  res->R = NAN;
  if (Wgd && dr->status != HM_SVM_INFEASIBLE && wn2 > 0) {
    double s = 0;
    for (size_t j = 0; j < dd; j++) s += (Wgd[j] - res->Wfin[j]) * res->Wdir[j];
    res->R = s / wn2;
  }
  for (size_t j = 0; j < dd; j++)
    res->Weq[j] = isnan(res->R) ? NAN : res->Wfin[j] + res->R * res->Wdir[j];
done:
  free(ref);
  free(AE);
  free(ZE);
  free(c);
  free(mu);
  free(AI);
  free(ZI);
  free(bI);
  free(KE);
  free(tmp);
  free(Fv);
  free(CE);
  return st;
}
