/* Hard-margin QPs: min 1/2 |x_pen|^2 s.t. F x >= b (solvers.md 2.1-2.3): the driver.
 *
 * hm_svm_solve_prob checks the data, drops zero rows (a zero row with b > 0 is infeasible at
 * once, e_k the certificate; no row with b > 0 makes x = 0 optimal), equilibrates the rows,
 * then picks the solvers: the working-set primal IPM for tall vector problems
 * (hm_svm_wset.c); the exact Goldfarb-Idnani active set first for small problems without a
 * free variable (hm_svm_activeset.c); otherwise a Mehrotra IPM (hm_svm_ipm.c), on the
 * m-variable dual with the Gram matrix when m is moderate or on the N-variable primal for
 * tall vector problems, followed by the active-set polish (hm_svm_polish.c). When nothing is
 * certified yet the active set runs as the fallback and as the Farkas-certificate engine.
 * Every candidate is certified on all rows and the best one is returned. hm_svm_qp_vec /
 * hm_svm_qp_w wrap it for the two data layouts (hm_svm_prob, hm_svm_cert.c) and route
 * problems with equality rows to hm_svm_eq.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hm_svm_qp_internal.h"

void hm_svm_opts_default(hm_svm_opts *o) {
  o->tol = 1e-9;
  o->max_iter = 100;
  o->method = HM_SVM_AUTO;
  o->form = 0;
  o->wset = 0;
}

/* Infeasible with the Farkas vector cert (m; it may be res->farkas itself): normalized to
 * b^T farkas = 1 into res->farkas, its residual computed from the data. */
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
    int outcome = HM_QP_WS_NONE, wit = 0;
    if (!cert) {
      st = HM_ENOMEM;
      goto out;
    }
    st = hm_qp_ws_solve(p, R, mr, nrm, maxit, tol, &cur, &best, lam, S, cert, &wit, &outcome);
    res->iterations += wit;
    if (st == HM_OK && outcome == HM_QP_WS_INFEASIBLE) {
      res->method_used = HM_SVM_ACTIVESET;
      set_infeasible(p, cert, res, t0);
    }
    free(cert);
    if (st != HM_OK || outcome == HM_QP_WS_INFEASIBLE) goto out;
    if (outcome == HM_QP_WS_OPTIMAL) {
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
    st = hm_qp_ipm_error(ipm_status);
    if (st != HM_OK) goto out;
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

static int any_eq(const unsigned char *eq, size_t m) {
  if (eq)
    for (size_t k = 0; k < m; k++)
      if (eq[k]) return 1;
  return 0;
}

hm_status hm_svm_qp_vec(const hm_vcons *c, const hm_svm_opts *o, hm_svm_result *res) {
  if (!c || !res || (c->m && (!c->F || !c->b)) || !res->x || (c->m && (!res->lambda || !res->farkas)))
    return HM_EARG;
  hm_svm_prob p;
  hm_svm_prob_vec(&p, c);
  if (any_eq(c->eq, c->m)) return hm_svm_solve_eq(&p, c->eq, o, res);
  res->eq_residual = 0;
  return hm_svm_solve_prob(&p, o, res);
}

hm_status hm_svm_qp_w(const hm_wcons *c, const hm_svm_opts *o, hm_svm_result *res) {
  if (!c || !res || (c->m && (!c->A || !c->Zr || !c->b)) || !res->x ||
      (c->m && (!res->lambda || !res->farkas)))
    return HM_EARG;
  hm_svm_prob p;
  hm_svm_prob_w(&p, c);
  if (any_eq(c->eq, c->m)) return hm_svm_solve_eq(&p, c->eq, o, res);
  res->eq_residual = 0;
  return hm_svm_solve_prob(&p, o, res);
}
