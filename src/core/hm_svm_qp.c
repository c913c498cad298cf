/* Hard-margin QPs: min 1/2 |x_pen|^2 s.t. F x >= b (solvers.md 2.1-2.3).
 *
 * Primary: Mehrotra predictor-corrector IPM, on the m-variable dual with the Gram matrix
 * (and the free column as one bordered equality c^T lambda = 0) when m is moderate, or on
 * the N-variable primal (H = P + F^T D F by dsyrk) for tall vector problems. Rows are
 * equilibrated first. Then an active-set polish solves the equality system on the
 * identified support, and the certified bracket decides. The Goldfarb-Idnani active set
 * (hm_svm_activeset.c) is the fallback and the Farkas-certificate engine. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "hm_interrupt.h"
#include "hm_svm_qp_internal.h"

void hm_svm_opts_default(hm_svm_opts *o) {
  o->tol = 1e-9;
  o->max_iter = 100;
  o->method = HM_SVM_AUTO;
  o->form = 0;
  o->wset = 0;
}

static hm_status set_infeasible(const hm_svm_prob *p, const double *cert, hm_svm_result *res,
                                double t0) {
  size_t m = p->m;
  double bl = 0;
  for (size_t k = 0; k < m; k++) bl += p->b[k] * cert[k];
  for (size_t k = 0; k < m; k++) res->farkas[k] = bl > 0 ? cert[k] / bl : cert[k];
  res->farkas_residual = hm_svm_farkas_residual(p, res->farkas);
  res->status = HM_SVM_INFEASIBLE;
  memset(res->x, 0, p->N * sizeof *res->x);
  memset(res->lambda, 0, m * sizeof *res->lambda);
  res->objective = INFINITY;
  res->lower_bound = INFINITY;
  res->dual_objective = INFINITY;
  res->rel_gap = NAN;
  res->margin = 0;
  res->primal_infeas = NAN;
  res->stationarity = NAN;
  res->complementarity = NAN;
  res->seconds = hm_svm_now() - t0;
  return HM_OK;
}

/* Infeasible with a Farkas certificate supported on the rows R[0..mr) (active-set multipliers
 * ls in equilibrated scaling, nrm the row norms), built directly in res->farkas. */
static void set_infeasible_rows(const hm_svm_prob *p, const size_t *R, size_t mr,
                                const double *ls, const double *nrm, hm_svm_result *res,
                                double t0) {
  memset(res->farkas, 0, p->m * sizeof *res->farkas);
  for (size_t i = 0; i < mr; i++) res->farkas[R[i]] = ls[i] / nrm[R[i]];
  res->method_used = HM_SVM_ACTIVESET;
  set_infeasible(p, res->farkas, res, t0); /* normalizes in place */
}

/* ---- working-set IPM for tall vector problems (m >> N) ------------------------------
 *
 * The primal IPM's cost is dominated by H = P + F^T D F over all m rows, although only
 * about N rows end up active. Constraint generation: a cheap dual-coordinate-descent pre-pass
 * (solvers.md 2.1.4, a few epochs on the equilibrated rows, the bias treated as a penalized
 * feature) ranks the rows by slack; the IPM runs on the working set W of the smallest-slack
 * rows; one dgemv checks every row; violated rows join W and the IPM re-runs. The polish and
 * the certificate always work on the FULL problem (multipliers zero off W are a valid dual
 * point), so nothing returned depends on W except speed. An IPM divergence on W means W is
 * infeasible: the Goldfarb-Idnani engine on W's Gram then gives a Farkas certificate, which
 * (zero off W) is one for the full problem, verified from the data. */

enum { WS_NONE = 0, WS_OPTIMAL = 1, WS_INFEASIBLE = 2 };

typedef struct ws_key {
  double v;
  size_t i;
} ws_key;

static int ws_cmp(const void *a, const void *b) {
  const ws_key *x = a, *y = b;
  if (x->v < y->v) return -1;
  if (x->v > y->v) return 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

/* DCD on rows f_k / nrm_k (unit norm, so Q_kk = 1), rhs b_k / nrm_k; w has N entries. */
static void ws_dcd(const hm_svm_prob *p, const size_t *R, size_t mr, const double *nrm,
                   int epochs, double *w, double *alpha, size_t *perm) {
  size_t N = p->N;
  uint64_t st = 0x9e3779b97f4a7c15ULL;
  memset(w, 0, N * sizeof *w);
  for (size_t i = 0; i < mr; i++) {
    alpha[i] = 0;
    perm[i] = i;
  }
  for (int e = 0; e < epochs; e++) {
    for (size_t i = mr; i > 1; i--) { /* Fisher-Yates with a fixed xorshift stream */
      st ^= st << 13;
      st ^= st >> 7;
      st ^= st << 17;
      size_t j = (size_t)(st % i), t = perm[i - 1];
      perm[i - 1] = perm[j];
      perm[j] = t;
    }
    for (size_t q = 0; q < mr; q++) {
      size_t i = perm[q], k = R[i];
      const double *f = p->F + k * N;
      double inv = 1.0 / nrm[k];
      double g = cblas_ddot((int)N, f, 1, w, 1) * inv - p->b[k] * inv;
      double a = alpha[i] - g;
      if (a < 0) a = 0;
      if (a != alpha[i]) {
        cblas_daxpy((int)N, (a - alpha[i]) * inv, f, 1, w, 1);
        alpha[i] = a;
      }
    }
  }
}

static hm_status ws_solve(const hm_svm_prob *p, const size_t *R, size_t mr, const double *nrm,
                          int maxit, double tol, hm_qp_cand *cur, hm_qp_cand *best, double *lam,
                          size_t *S, double *cert, int *iters, int *outcome) {
  size_t m = p->m, N = p->N;
  hm_status st = HM_OK;
  *outcome = WS_NONE;
  size_t M0 = 2 * N + N / 2 + 50, M1 = N + 7 * N / 10 + 50;
  if (M0 > mr) M0 = mr;
  if (M1 > mr) M1 = mr;
  ws_key *key = malloc(mr * sizeof *key);
  double *w = malloc(N * sizeof *w), *al = malloc(mr * sizeof *al), *mg = malloc(m * sizeof *mg);
  size_t *perm = malloc(mr * sizeof *perm), *W = malloc(mr * sizeof *W);
  long *pos = malloc(mr * sizeof *pos); /* position in W of row i, -1 when not in W */
  /* warm-start state per row of R (valid where pos >= 0): slack and multiplier */
  double *sr_ = malloc(mr * sizeof *sr_), *zr_ = malloc(mr * sizeof *zr_);
  double *Fs = NULL, *bs = NULL, *xs = malloc(N * sizeof *xs), *zs = NULL, *ss = NULL;
  if (!key || !w || !al || !mg || !perm || !W || !pos || !sr_ || !zr_ || !xs) {
    st = HM_ENOMEM;
    goto done;
  }
  ws_dcd(p, R, mr, nrm, 20, w, al, perm);
  cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)N, 1.0, p->F, (int)N, w, 1, 0.0, mg, 1);
  for (size_t i = 0; i < mr; i++) {
    key[i].v = (mg[R[i]] - p->b[R[i]]) / nrm[R[i]];
    key[i].i = i;
    pos[i] = -1;
  }
  qsort(key, mr, sizeof *key, ws_cmp);
  size_t nw = 0;
  for (size_t q = 0; q < M0; q++) {
    W[nw] = key[q].i;
    pos[key[q].i] = (long)nw++;
    sr_[key[q].i] = 1;
    zr_[key[q].i] = 1;
  }
  memset(xs, 0, N * sizeof *xs); /* round 0: cold start (x = 0, s = z = 1) */
  for (int round = 0; round < 8; round++) {
    if (hm_interrupted()) {
      st = HM_EINTR;
      goto done;
    }
    free(Fs);
    free(bs);
    free(zs);
    free(ss);
    Fs = malloc(nw * N * sizeof *Fs);
    bs = malloc(nw * sizeof *bs);
    zs = malloc(nw * sizeof *zs);
    ss = malloc(nw * sizeof *ss);
    if (!Fs || !bs || !zs || !ss) {
      st = HM_ENOMEM;
      goto done;
    }
    for (size_t j = 0; j < nw; j++) {
      size_t k = R[W[j]];
      double inv = 1.0 / nrm[k];
      for (size_t c = 0; c < N; c++) Fs[j * N + c] = p->F[k * N + c] * inv;
      bs[j] = p->b[k] * inv;
      ss[j] = sr_[W[j]];
      zs[j] = zr_[W[j]];
    }
    int it = 0;
    hm_qp_shrink sr = {nw > N + N / 4, 4, 1e-8, 1};
    /* round 0 only needs a rough solution: its x ranks the rows for the next working set */
    double stop = round == 0 && M0 > M1 ? 1e-3 : 1e-9;
    int ips = hm_qp_ipm_primal(nw, N, p->nfree, Fs, bs, maxit, &sr, stop, ss, xs, zs, &it);
    *iters += it;
    if (ips == HM_QP_IPM_NOMEM) {
      st = HM_ENOMEM;
      goto done;
    }
    if (ips == HM_QP_IPM_INTR) {
      st = HM_EINTR;
      goto done;
    }
    if (ips == HM_QP_IPM_DIVERGED) {
      /* W looks infeasible: certify it with the active set on W's Gram (free column
       * included as a penalized feature: same feasibility) */
      if ((double)nw * (double)nw > 4e8) goto done;
      double *Kw = malloc(nw * nw * sizeof *Kw);
      if (!Kw) {
        st = HM_ENOMEM;
        goto done;
      }
      cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)nw, (int)N, 1.0, Fs, (int)N, 0.0,
                  Kw, (int)nw);
      for (size_t i = 0; i < nw; i++)
        for (size_t j = i + 1; j < nw; j++) Kw[i * nw + j] = Kw[j * nw + i];
      int steps = 0;
      int gi = hm_svm_activeset_gram(nw, Kw, bs, 50 * (int)nw + 1000, zs, &steps);
      free(Kw);
      if (gi == -1) {
        st = HM_ENOMEM;
        goto done;
      }
      *iters += steps;
      if (gi == 1) {
        memset(cert, 0, m * sizeof *cert);
        for (size_t j = 0; j < nw; j++) cert[R[W[j]]] = zs[j] / nrm[R[W[j]]];
        if (hm_svm_farkas_residual(p, cert) <= 1e-9) *outcome = WS_INFEASIBLE;
      }
      goto done;
    }
    double mu = 0, zmax = 0;
    for (size_t j = 0; j < nw; j++) {
      mu += ss[j] * zs[j];
      if (zs[j] > zmax) zmax = zs[j];
      sr_[W[j]] = ss[j];
      zr_[W[j]] = zs[j];
    }
    mu /= (double)(nw ? nw : 1);
    /* slacks of every row under the IPM's x (one dgemv over all rows) */
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)N, 1.0, p->F, (int)N, xs, 1, 0.0, mg, 1);
    if (stop > 1e-9) {
      /* re-select: the M1 rows of smallest slack under the rough x; cold start (a warm
       * start from the rough iterate measured worse: 79 vs 18 iterations at n=1e4, d=1e3) */
      for (size_t i = 0; i < mr; i++) {
        key[i].v = (mg[R[i]] - p->b[R[i]]) / nrm[R[i]];
        key[i].i = i;
      }
      qsort(key, mr, sizeof *key, ws_cmp);
      for (size_t j = 0; j < nw; j++) pos[W[j]] = -1;
      size_t nn = 0;
      for (size_t q = 0; q < M1; q++) {
        size_t i = key[q].i;
        sr_[i] = 1;
        zr_[i] = 1;
        W[nn] = i;
        pos[i] = (long)nn++;
      }
      nw = nn;
      memset(xs, 0, N * sizeof *xs);
      continue;
    }
    if (ips != HM_QP_IPM_OK && ips != HM_QP_IPM_FAILED) goto done;
    /* multipliers on the full row set (zero off W) and the IPM candidate */
    memset(lam, 0, m * sizeof *lam);
    for (size_t j = 0; j < nw; j++) lam[R[W[j]]] = zs[j] / nrm[R[W[j]]];
    st = hm_qp_eval_cand(p, cur, lam, p->nfree ? xs[N - 1] : 0, 1);
    if (st != HM_OK) goto done;
    if (hm_qp_better(cur, best)) {
      hm_qp_cand t = *best;
      *best = *cur;
      *cur = t;
    }
    size_t nv = 0;
    for (size_t i = 0; i < mr; i++) {
      if (pos[i] >= 0) continue;
      size_t k = R[i];
      double v = (p->b[k] - mg[k]) / nrm[k];
      if (v > 1e-9 * fmax(1.0, fabs(p->b[k]) / nrm[k])) {
        key[nv].v = -v;
        key[nv].i = i;
        nv++;
      }
    }
    if (nv == 0) {
      /* every row satisfied: W's optimum is the problem's; polish and certify on all rows */
      size_t ns = 0;
      for (size_t j = 0; j < nw; j++)
        if (zs[j] > 1e-6 * zmax) S[ns++] = R[W[j]];
      int imp = 0;
      st = hm_qp_polish_rounds(p, R, mr, S, ns, N + N / 2 + 10, lam, cur, best, &imp);
      if (st != HM_OK) goto done;
      if (best->valid && best->r.rel_gap <= tol) *outcome = WS_OPTIMAL;
      goto done;
    }
    /* grow W by the most violated rows; warm start from the current iterate with the new
     * rows' slacks lifted to a centred level */
    qsort(key, nv, sizeof *key, ws_cmp);
    size_t cap = N + 10;
    size_t add = nv < cap ? nv : cap;
    double mw = fmax(mu, 1e-4);
    for (size_t j = 0; j < nw; j++) {
      sr_[W[j]] = fmax(sr_[W[j]], sqrt(mw)) ;
      zr_[W[j]] = fmax(zr_[W[j]], mw / sr_[W[j]]);
    }
    for (size_t q = 0; q < add; q++) {
      size_t i = key[q].i;
      sr_[i] = sqrt(mw);
      zr_[i] = sqrt(mw);
      W[nw] = i;
      pos[i] = (long)nw++;
    }
  }
done:
  free(key);
  free(w);
  free(al);
  free(mg);
  free(perm);
  free(W);
  free(pos);
  free(sr_);
  free(zr_);
  free(Fs);
  free(bs);
  free(xs);
  free(zs);
  free(ss);
  return st;
}

hm_status hm_svm_solve_prob(const hm_svm_prob *p, const hm_svm_opts *o, hm_svm_result *res) {
  double t0 = hm_svm_now();
  hm_svm_opts def;
  if (!o) {
    hm_svm_opts_default(&def);
    o = &def;
  }
  size_t m = p->m, N = p->N;
  if (p->nfree > 1 || (p->kind == 0 && p->nfree > N)) return HM_EARG;
  if (o->method == HM_SVM_ACTIVESET && p->nfree) return HM_EARG;
  /* finite data */
  if (!hm_all_finite(p->b, m)) return HM_ENONFINITE;
  if (p->kind == 0 && !hm_all_finite(p->F, m * N)) return HM_ENONFINITE;
  if (p->kind == 1 && (!hm_all_finite(p->A, m * p->d) || !hm_all_finite(p->Zr, m * p->d)))
    return HM_ENONFINITE;
  int maxit = o->max_iter > 0 ? o->max_iter : 100;
  double tol = o->tol > 0 ? o->tol : 1e-9;

  res->iterations = 0;
  res->farkas_residual = NAN;
  res->method_used = HM_SVM_IPM;
  if (res->farkas) memset(res->farkas, 0, m * sizeof *res->farkas);

  /* row norms, zero rows */
  double *nrm = malloc((m ? m : 1) * sizeof *nrm);
  size_t *R = malloc((m ? m : 1) * sizeof *R);
  if (!nrm || !R) {
    free(nrm);
    free(R);
    return HM_ENOMEM;
  }
  double maxn = 0;
  for (size_t k = 0; k < m; k++) {
    double c = hm_svm_prob_free(p, k);
    nrm[k] = sqrt(hm_svm_prob_rownorm2(p, k) + c * c);
    if (nrm[k] > maxn) maxn = nrm[k];
  }
  size_t mr = 0;
  int anypos = 0;
  hm_status st = HM_OK;
  for (size_t k = 0; k < m; k++) {
    if (nrm[k] <= 1e-14 * maxn || nrm[k] == 0) {
      if (p->b[k] > 0) { /* a zero row with b > 0: e_k is the certificate */
        memset(res->farkas, 0, m * sizeof *res->farkas);
        res->farkas[k] = 1;
        res->method_used = HM_SVM_ACTIVESET;
        set_infeasible(p, res->farkas, res, t0);
        goto out0;
      }
      continue;
    }
    if (p->b[k] > 0) anypos = 1;
    R[mr++] = k;
  }
  if (!anypos) {
    /* x = 0 satisfies every row with b <= 0 */
    memset(res->x, 0, N * sizeof *res->x);
    memset(res->lambda, 0, m * sizeof *res->lambda);
    hm_svm_certify(p, res->x, res->lambda, res);
    res->status = res->primal_infeas <= 1e-12 ? HM_SVM_OPTIMAL : HM_SVM_INACCURATE;
    res->objective = 0;
    res->lower_bound = 0;
    res->rel_gap = 0;
    res->margin = INFINITY;
    res->seconds = hm_svm_now() - t0;
    goto out0;
  }

  hm_qp_cand best = {0}, cur = {0};
  best.x = malloc(N * sizeof(double));
  best.lam = malloc(m * sizeof(double));
  cur.x = malloc(N * sizeof(double));
  cur.lam = malloc(m * sizeof(double));
  double *lam = calloc(m, sizeof(double));
  double *Ks = NULL, *cs = NULL, *bs = NULL, *ls = NULL, *Fs = NULL, *xs = NULL;
  size_t *S = malloc(mr * sizeof *S);
  if (!best.x || !best.lam || !cur.x || !cur.lam || !lam || !S) {
    st = HM_ENOMEM;
    goto out;
  }
  if (o->form == 2 && p->kind != 0) {
    st = HM_EARG;
    goto out;
  }
  int use_primal = p->kind == 0 && (o->form == 2 || (o->form == 0 && mr > N && mr > 500));
  int ipm_status = HM_QP_IPM_FAILED, iters = 0;
  int run_ipm = o->method != HM_SVM_ACTIVESET;
  if (!use_primal && (double)mr * (double)mr > 4e8) {
    st = HM_ENOMEM;
    goto out;
  }
  bs = malloc(mr * sizeof *bs);
  ls = malloc(mr * sizeof *ls);
  if (!bs || !ls) {
    st = HM_ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < mr; i++) bs[i] = p->b[R[i]] / nrm[R[i]];
  if (!use_primal) {
    Ks = malloc(mr * mr * sizeof *Ks);
    if (!Ks) {
      st = HM_ENOMEM;
      goto out;
    }
    st = hm_svm_prob_gram(p, R, mr, Ks);
    if (st != HM_OK) goto out;
    for (size_t i = 0; i < mr; i++)
      for (size_t j = 0; j < mr; j++) Ks[i * mr + j] /= nrm[R[i]] * nrm[R[j]];
    if (p->nfree) {
      cs = malloc(mr * sizeof *cs);
      if (!cs) {
        st = HM_ENOMEM;
        goto out;
      }
      for (size_t i = 0; i < mr; i++) cs[i] = hm_svm_prob_free(p, R[i]) / nrm[R[i]];
    }
  }
  int as_done = 0;
  if (p->kind == 0 && o->method != HM_SVM_ACTIVESET && o->form != 1 &&
      (o->wset == 2 || (o->wset == 0 && use_primal && mr >= 4 * N && mr >= 2000))) {
    double *cert = malloc(m * sizeof *cert);
    int outcome = WS_NONE, wit = 0;
    if (!cert) {
      st = HM_ENOMEM;
      goto out;
    }
    st = ws_solve(p, R, mr, nrm, maxit, tol, &cur, &best, lam, S, cert, &wit, &outcome);
    res->iterations += wit;
    if (st == HM_OK && outcome == WS_INFEASIBLE) {
      res->method_used = HM_SVM_ACTIVESET;
      set_infeasible(p, cert, res, t0);
    }
    free(cert);
    if (st != HM_OK || outcome == WS_INFEASIBLE) goto out;
    if (outcome == WS_OPTIMAL) {
      res->method_used = HM_SVM_IPM;
      run_ipm = 0;
      as_done = 1;
    }
  }
  if (o->method == HM_SVM_AUTO && !p->nfree && Ks && mr <= 300) {
    /* small problems: the exact active set first (cheaper than the IPM at this size) */
    int steps = 0;
    int gi = hm_svm_activeset_gram(mr, Ks, bs, 50 * (int)mr + 1000, ls, &steps);
    if (gi == -1) {
      st = HM_ENOMEM;
      goto out;
    }
    res->iterations += steps;
    as_done = 1;
    if (gi == 1) {
      set_infeasible_rows(p, R, mr, ls, nrm, res, t0);
      goto out;
    }
    if (gi == 0) {
      memset(lam, 0, m * sizeof *lam);
      for (size_t i = 0; i < mr; i++) lam[R[i]] = ls[i] / nrm[R[i]];
      st = hm_qp_eval_cand(p, &best, lam, 0, 1);
      if (st != HM_OK) goto out;
      res->method_used = HM_SVM_ACTIVESET;
      if (best.valid && best.r.rel_gap <= tol) run_ipm = 0;
    }
  }
  if (run_ipm) {
    double beta = 0;
    if (use_primal) {
      Fs = malloc(mr * N * sizeof *Fs);
      xs = malloc(N * sizeof *xs);
      if (!Fs || !xs) {
        st = HM_ENOMEM;
        goto out;
      }
      for (size_t i = 0; i < mr; i++)
        for (size_t j = 0; j < N; j++) Fs[i * N + j] = p->F[R[i] * N + j] / nrm[R[i]];
      hm_qp_shrink sr = {mr > 2 * N, 4, 1e-8, 0};
      ipm_status =
          hm_qp_ipm_primal(mr, N, p->nfree, Fs, bs, maxit, &sr, 1e-9, NULL, xs, ls, &iters);
      if (p->nfree) beta = xs[N - 1];
    } else {
      ipm_status = hm_qp_ipm_dual(mr, Ks, cs, bs, maxit, ls, &beta, &iters);
    }
    res->iterations = iters;
    if (ipm_status == HM_QP_IPM_NOMEM) {
      st = HM_ENOMEM;
      goto out;
    }
    if (ipm_status == HM_QP_IPM_INTR) {
      st = HM_EINTR;
      goto out;
    }
    if (ipm_status == HM_QP_IPM_OK || ipm_status == HM_QP_IPM_FAILED) {
      memset(lam, 0, m * sizeof *lam);
      for (size_t i = 0; i < mr; i++) lam[R[i]] = ls[i] / nrm[R[i]];
      st = hm_qp_eval_cand(p, &cur, lam, beta, 1);
      if (st != HM_OK) goto out;
      if (hm_qp_better(&cur, &best)) {
        hm_qp_cand t = best;
        best = cur;
        cur = t;
        res->method_used = HM_SVM_IPM;
      }
      /* support guess: multiplier larger than slack (scaled) */
      double lmax = 0;
      for (size_t i = 0; i < mr; i++)
        if (ls[i] > lmax) lmax = ls[i];
      size_t ns = 0;
      for (size_t i = 0; i < mr; i++)
        if (ls[i] > 1e-6 * lmax) S[ns++] = R[i];
      int imp = 0;
      st = hm_qp_polish_rounds(p, R, mr, S, ns, mr, lam, &cur, &best, &imp);
      if (imp) res->method_used = HM_SVM_IPM;
      if (st != HM_OK) goto out;
    }
  }
  /* active set: requested, or the IPM did not certify (no free variable, Gram available) */
  int need_as = !as_done && (o->method == HM_SVM_ACTIVESET ||
                             ((!best.valid || best.r.rel_gap > tol) && mr <= 5000));
  if (need_as) {
    double *Kf = Ks;
    int own = 0;
    if (p->nfree || !Ks) {
      /* feasibility only (or no Gram yet): Gram of the full rows, equilibrated */
      if ((double)mr * (double)mr > 4e8) goto after_as;
      Kf = malloc(mr * mr * sizeof *Kf);
      if (!Kf) {
        st = HM_ENOMEM;
        goto out;
      }
      own = 1;
      st = hm_svm_prob_gram(p, R, mr, Kf);
      if (st != HM_OK) {
        free(Kf);
        goto out;
      }
      for (size_t i = 0; i < mr; i++)
        for (size_t j = 0; j < mr; j++) {
          double ci = hm_svm_prob_free(p, R[i]), cj = hm_svm_prob_free(p, R[j]);
          Kf[i * mr + j] = (Kf[i * mr + j] + ci * cj) / (nrm[R[i]] * nrm[R[j]]);
        }
    }
    int steps = 0;
    int gi = hm_svm_activeset_gram(mr, Kf, bs, 50 * (int)mr + 1000, ls, &steps);
    if (own) free(Kf);
    if (gi == -1) {
      st = HM_ENOMEM;
      goto out;
    }
    res->iterations += steps;
    if (gi == 1) {
      set_infeasible_rows(p, R, mr, ls, nrm, res, t0);
      goto out;
    }
    if (gi == 0 && !p->nfree && o->method != HM_SVM_IPM) {
      memset(lam, 0, m * sizeof *lam);
      for (size_t i = 0; i < mr; i++) lam[R[i]] = ls[i] / nrm[R[i]];
      st = hm_qp_eval_cand(p, &cur, lam, 0, 1);
      if (st != HM_OK) goto out;
      if (hm_qp_better(&cur, &best) || o->method == HM_SVM_ACTIVESET) {
        hm_qp_cand t = best;
        best = cur;
        cur = t;
        res->method_used = HM_SVM_ACTIVESET;
      }
    }
  }
after_as:
  if (!best.filled) {
    /* The IPM diverged and the active set could not run: no certificate. */
    res->status = HM_SVM_INACCURATE;
    memset(res->x, 0, N * sizeof *res->x);
    memset(res->lambda, 0, m * sizeof *res->lambda);
    res->objective = NAN;
    res->rel_gap = NAN;
    res->seconds = hm_svm_now() - t0;
    goto out;
  }
  {
    int keep_it = res->iterations, mu = res->method_used;
    double *mgs = res->margins;
    double *xo = res->x, *lo = res->lambda, *fo = res->farkas;
    *res = best.r;
    res->x = xo;
    res->lambda = lo;
    res->farkas = fo;
    res->margins = mgs;
    res->iterations = keep_it;
    res->method_used = mu;
    memcpy(res->x, best.x, N * sizeof *res->x);
    memcpy(res->lambda, best.lam, m * sizeof *res->lambda);
    if (mgs) hm_svm_prob_margins(p, res->x, mgs);
    res->farkas_residual = NAN;
    res->status = best.valid && best.r.rel_gap <= tol ? HM_SVM_OPTIMAL : HM_SVM_INACCURATE;
    res->seconds = hm_svm_now() - t0;
  }
out:
  free(best.x);
  free(best.lam);
  free(cur.x);
  free(cur.lam);
  free(lam);
  free(Ks);
  free(cs);
  free(bs);
  free(ls);
  free(Fs);
  free(xs);
  free(S);
out0:
  free(nrm);
  free(R);
  return st;
}

hm_status hm_svm_qp_vec(const hm_vcons *c, const hm_svm_opts *o, hm_svm_result *res) {
  if (!c || !res || (c->m && (!c->F || !c->b)) || !res->x || (c->m && (!res->lambda || !res->farkas)))
    return HM_EARG;
  if (c->eq)
    for (size_t k = 0; k < c->m; k++)
      if (c->eq[k]) return HM_EARG;
  hm_svm_prob p;
  hm_svm_prob_vec(&p, c);
  return hm_svm_solve_prob(&p, o, res);
}

hm_status hm_svm_qp_w(const hm_wcons *c, const hm_svm_opts *o, hm_svm_result *res) {
  if (!c || !res || (c->m && (!c->A || !c->Zr || !c->b)) || !res->x ||
      (c->m && (!res->lambda || !res->farkas)))
    return HM_EARG;
  if (c->eq)
    for (size_t k = 0; k < c->m; k++)
      if (c->eq[k]) return HM_EARG;
  hm_svm_prob p;
  hm_svm_prob_w(&p, c);
  return hm_svm_solve_prob(&p, o, res);
}
