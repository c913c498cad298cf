/* Active-set polish of the hard-margin QP (solvers.md 2.1.2) and candidate answers.
 *
 * An IPM ends with multipliers that identify the support but are only accurate to its
 * stopping merit. The polish takes the rows with non-negligible multipliers, solves the
 * equality system K_SS mu = b_S on them (bordered with the free column; Cholesky, or a
 * least-norm SVD solve when the rows are dependent), drops negative multipliers and adds
 * violated rows until nothing changes: the gap then falls to rounding level. Every
 * candidate, polished or not, is certified over ALL rows (x rescaled to exact feasibility,
 * the bracket from its multipliers, hm_svm_cert.c), and the driver keeps the better one, so
 * the answer never depends on which solver produced it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lapacke.h>

#include "hm_svm_qp_internal.h"

/* Polish: solve K_SS mu = b_S (bordered with the free column) on a support guess. Writes
 * the full multiplier vector into lam (zeros off S). Returns 0 on success. */
static int polish(const hm_svm_prob *p, const size_t *S, size_t ns, double *lam) {
  size_t n1 = ns + (p->nfree ? 1 : 0);
  if (ns == 0) return 1;
  double *K = malloc(ns * ns * sizeof *K), *M = malloc(n1 * n1 * sizeof *M);
  double *rhs = malloc(n1 * sizeof *rhs);
  int ret = 1;
  if (!K || !M || !rhs) goto done;
  if (hm_svm_prob_gram(p, S, ns, K) != HM_OK) goto done;
  for (size_t i = 0; i < ns; i++) {
    for (size_t j = 0; j < ns; j++) M[i * n1 + j] = K[i * ns + j];
    if (p->nfree) {
      double c = hm_svm_prob_free(p, S[i]);
      M[i * n1 + ns] = c;
      M[ns * n1 + i] = c;
    }
    rhs[i] = p->b[S[i]];
  }
  if (p->nfree) {
    M[ns * n1 + ns] = 0;
    rhs[ns] = 0;
  }
  int ok = 0;
  if (!p->nfree) {
    double *Lc = malloc(ns * ns * sizeof *Lc);
    if (Lc) {
      memcpy(Lc, M, ns * ns * sizeof *Lc);
      if (LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'U', (lapack_int)ns, Lc, (lapack_int)ns) == 0) {
        /* reject a numerically singular factor */
        double dmin = INFINITY, dmax = 0;
        for (size_t i = 0; i < ns; i++) {
          double v = Lc[i * ns + i];
          if (v < dmin) dmin = v;
          if (v > dmax) dmax = v;
        }
        if (dmin > 1e-7 * dmax) {
          LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, 'U', (lapack_int)ns, 1, Lc, (lapack_int)ns, rhs,
                              (lapack_int)ns);
          ok = 1;
        }
      }
      free(Lc);
    }
  }
  if (!ok) {
    /* least-norm solution via SVD (handles duplicate/dependent rows and the border) */
    double *sv = malloc(n1 * sizeof *sv);
    lapack_int rank;
    if (sv && LAPACKE_dgelsd(LAPACK_ROW_MAJOR, (lapack_int)n1, (lapack_int)n1, 1, M,
                             (lapack_int)n1, rhs, 1, sv, 1e-12, &rank) == 0)
      ok = 1;
    free(sv);
  }
  if (ok) {
    memset(lam, 0, p->m * sizeof *lam);
    for (size_t i = 0; i < ns; i++) lam[S[i]] = rhs[i];
    ret = 0;
  }
done:
  free(K);
  free(M);
  free(rhs);
  return ret;
}

/* x from multipliers: x_pen = F_pen^T lambda; the free entry from the active rows
 * (beta_in when given). */
static hm_status primal_from_dual(const hm_svm_prob *p, const double *lam, double beta,
                                  int have_beta, double *x) {
  hm_status st = hm_svm_prob_adjoint(p, lam, x);
  if (st != HM_OK) return st;
  if (p->nfree) {
    size_t N = p->N;
    x[N - 1] = 0;
    if (!have_beta) {
      /* beta: average of (b_k - f_k,pen . x_pen)/c_k over rows with lambda > 0 */
      double *mg = malloc(p->m * sizeof *mg);
      if (!mg) return HM_ENOMEM;
      st = hm_svm_prob_margins(p, x, mg);
      if (st != HM_OK) {
        free(mg);
        return st;
      }
      double lmax = 0, num = 0, den = 0;
      for (size_t k = 0; k < p->m; k++)
        if (lam[k] > lmax) lmax = lam[k];
      for (size_t k = 0; k < p->m; k++) {
        double c = hm_svm_prob_free(p, k);
        if (lam[k] > 1e-9 * lmax && c != 0) {
          num += (p->b[k] - mg[k]) / c;
          den += 1;
        }
      }
      free(mg);
      beta = den > 0 ? num / den : 0;
    }
    x[N - 1] = beta;
  }
  return HM_OK;
}

hm_status hm_qp_eval_cand(const hm_svm_prob *p, hm_qp_cand *c, const double *lam, double beta,
                          int have_beta) {
  memcpy(c->lam, lam, p->m * sizeof *lam);
  hm_status st = primal_from_dual(p, lam, beta, have_beta, c->x);
  if (st != HM_OK) return st;
  memset(&c->r, 0, sizeof c->r);
  st = hm_svm_certify(p, c->x, c->lam, &c->r);
  c->filled = st == HM_OK;
  c->valid = st == HM_OK && isfinite(c->r.rel_gap) && c->r.primal_infeas <= 1e-9;
  return st;
}

int hm_qp_better(const hm_qp_cand *a, const hm_qp_cand *b) {
  if (!b->filled) return a->filled;
  if (!b->valid) return a->valid || (a->filled && a->r.primal_infeas < b->r.primal_infeas);
  if (!a->valid) return 0;
  return a->r.rel_gap < b->r.rel_gap;
}

/* Each round solves the equality system on S, drops the rows with negative multipliers and
 * adds the rows of R that the polished x violates; a round that changes nothing is the fixed
 * point, certified over all rows. At most 20 rounds. */
hm_status hm_qp_polish_rounds(const hm_svm_prob *p, const size_t *R, size_t mr, size_t *S,
                              size_t ns, size_t ns_cap, double *lam, hm_qp_cand *cur,
                              hm_qp_cand *best, int *improved) {
  size_t m = p->m;
  hm_status st = HM_OK;
  double *mg = malloc((m ? m : 1) * sizeof *mg);
  unsigned char *inS = calloc(m ? m : 1, 1);
  if (!mg || !inS) {
    free(mg);
    free(inS);
    return HM_ENOMEM;
  }
  for (size_t i = 0; i < ns; i++) inS[S[i]] = 1;
  for (int round = 0; round < 20 && ns > 0 && ns <= ns_cap; round++) {
    if (polish(p, S, ns, lam) != 0) break;
    st = primal_from_dual(p, lam, 0, 0, cur->x);
    if (st == HM_OK) st = hm_svm_prob_margins(p, cur->x, mg);
    if (st != HM_OK) break;
    double pm = 0;
    for (size_t k = 0; k < m; k++)
      if (lam[k] > pm) pm = lam[k];
    int changed = 0;
    size_t nn = 0;
    for (size_t i = 0; i < ns; i++) {
      if (lam[S[i]] < -1e-12 * pm) {
        inS[S[i]] = 0;
        changed = 1;
      } else {
        S[nn++] = S[i];
      }
    }
    ns = nn;
    for (size_t i = 0; i < mr; i++) {
      size_t k = R[i];
      if (!inS[k] && p->b[k] - mg[k] > 1e-12 * fmax(1.0, fabs(p->b[k]))) {
        inS[k] = 1;
        S[ns++] = k;
        changed = 1;
      }
    }
    if (!changed) {
      st = hm_qp_eval_cand(p, cur, lam, 0, 0);
      if (st != HM_OK) break;
      if (hm_qp_better(cur, best)) {
        hm_qp_cand t = *best;
        *best = *cur;
        *cur = t;
        *improved = 1;
      }
      break;
    }
  }
  free(mg);
  free(inS);
  return st;
}
