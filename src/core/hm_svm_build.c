/* Constraint builders of the Att-SVM family (theory.md §C): rows a_k z_k^T (matrix
 * problems) or f_k (vector problems) from a token array X (n x T x d) and a selection. */
#include <string.h>

#include "hm_svm.h"

hm_status hm_svm_build_w(const double *X, size_t n, size_t T, size_t d, const double *Z,
                         size_t query, const size_t *alpha, const double *rhs, double *A,
                         double *Zr, double *b, size_t *sample, size_t *token, size_t *m_out) {
  if (!Z && query >= T) return HM_EARG;
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (alpha[i] >= T) return HM_EARG;
  for (size_t i = 0; i < n; i++) {
    const double *Xi = X + i * T * d, *xa = Xi + alpha[i] * d;
    const double *z = Z ? Z + i * d : Xi + query * d;
    for (size_t t = 0; t < T; t++) {
      if (t == alpha[i]) continue;
      for (size_t j = 0; j < d; j++) {
        A[m * d + j] = xa[j] - Xi[t * d + j];
        Zr[m * d + j] = z[j];
      }
      b[m] = rhs ? rhs[i] : 1.0;
      if (sample) sample[m] = i;
      if (token) token[m] = t;
      m++;
    }
  }
  *m_out = m;
  return HM_OK;
}

hm_status hm_svm_build_p(const double *Kx, size_t n, size_t T, size_t dk, const size_t *alpha,
                         const double *rhs, double *F, double *b, size_t *sample, size_t *token,
                         size_t *m_out) {
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (alpha[i] >= T) return HM_EARG;
  for (size_t i = 0; i < n; i++) {
    const double *Ki = Kx + i * T * dk, *ka = Ki + alpha[i] * dk;
    for (size_t t = 0; t < T; t++) {
      if (t == alpha[i]) continue;
      for (size_t j = 0; j < dk; j++) F[m * dk + j] = ka[j] - Ki[t * dk + j];
      b[m] = rhs ? rhs[i] : 1.0;
      if (sample) sample[m] = i;
      if (token) token[m] = t;
      m++;
    }
  }
  *m_out = m;
  return HM_OK;
}

hm_status hm_svm_build_seq(const double *X, size_t n, size_t T, size_t d, const size_t *alpha,
                           int causal, double *A, double *Zr, double *b, size_t *sample,
                           size_t *pos, size_t *token, size_t *m_out) {
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < T; k++) {
      size_t a = alpha[i * T + k];
      if (a >= T || (causal && a > k)) return HM_EARG;
    }
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    const double *Xi = X + i * T * d;
    for (size_t k = 0; k < T; k++) {
      size_t nv = causal ? k + 1 : T;
      if (nv < 2) continue;
      const double *xa = Xi + alpha[i * T + k] * d, *z = Xi + k * d;
      for (size_t t = 0; t < nv; t++) {
        if (t == alpha[i * T + k]) continue;
        for (size_t j = 0; j < d; j++) {
          A[m * d + j] = xa[j] - Xi[t * d + j];
          Zr[m * d + j] = z[j];
        }
        b[m] = 1.0;
        if (sample) sample[m] = i;
        if (pos) pos[m] = k;
        if (token) token[m] = t;
        m++;
      }
    }
  }
  *m_out = m;
  return HM_OK;
}
