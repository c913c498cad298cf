/* Token-priority graphs and what the theory builds on them (hm_ntp.h, docs/ntp.md §3-§6):
 * iterative Tarjan SCCs, the graph-SVM rows (deduplicated), the finite subspace S_fin and
 * W_fin (Newton on the reduced loss). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "hm_ntp_internal.h"

static int is_sel(const hm_ntp_data *D, size_t i, size_t t) {
  return D->sel ? D->sel[i * D->T + t] != 0 : D->tok[i * D->T + t] == D->lab[i];
}

static int is_excl(const hm_ntp_data *D, size_t i, size_t t) {
  return D->excl && D->excl[i * D->T + t];
}

/* ---- strongly connected components ---------------------------------------------------- */

hm_status hm_ntp_scc(size_t nv, const size_t *start, const size_t *adj, size_t *comp,
                     size_t *ncomp) {
  const size_t UNSET = SIZE_MAX;
  size_t *index = malloc((nv ? nv : 1) * sizeof *index), *low = malloc((nv ? nv : 1) * sizeof *low);
  size_t *stk = malloc((nv ? nv : 1) * sizeof *stk), *cu = malloc((nv ? nv : 1) * sizeof *cu);
  size_t *ce = malloc((nv ? nv : 1) * sizeof *ce);
  unsigned char *on = calloc(nv ? nv : 1, 1);
  if (!index || !low || !stk || !cu || !ce || !on) {
    free(index), free(low), free(stk), free(cu), free(ce), free(on);
    return HM_ENOMEM;
  }
  size_t counter = 0, sp = 0, nc = 0;
  for (size_t u = 0; u < nv; u++) index[u] = UNSET;
  for (size_t r = 0; r < nv; r++) {
    if (index[r] != UNSET) continue;
    /* explicit call stack: node cu[.] and its next edge ce[.] */
    size_t cp = 0;
    index[r] = low[r] = counter++;
    stk[sp++] = r;
    on[r] = 1;
    cu[cp] = r;
    ce[cp++] = start[r];
    while (cp) {
      size_t u = cu[cp - 1];
      if (ce[cp - 1] < start[u + 1]) {
        size_t v = adj[ce[cp - 1]++];
        if (index[v] == UNSET) {
          index[v] = low[v] = counter++;
          stk[sp++] = v;
          on[v] = 1;
          cu[cp] = v;
          ce[cp++] = start[v];
        } else if (on[v] && index[v] < low[u]) {
          low[u] = index[v];
        }
        continue;
      }
      cp--;
      if (cp && low[u] < low[cu[cp - 1]]) low[cu[cp - 1]] = low[u];
      if (low[u] == index[u]) {
        size_t w;
        do {
          w = stk[--sp];
          on[w] = 0;
          comp[w] = nc;
        } while (w != u);
        nc++;
      }
    }
  }
  *ncomp = nc;
  free(index), free(low), free(stk), free(cu), free(ce), free(on);
  return HM_OK;
}

hm_status hm_ntp_graph(const hm_ntp_data *D, size_t *comp, size_t *ncomp, size_t *present) {
  size_t n = D->n, T = D->T, K = D->K;
  size_t cap = n * T * T > 0 ? n * T * T : 1;
  size_t *start = malloc((K + 1) * sizeof *start), *adj = malloc(cap * sizeof *adj);
  size_t *fill = malloc(K * sizeof *fill);
  hm_status st = HM_ENOMEM;
  if (!start || !adj || !fill) goto done;
  st = HM_OK;
  for (size_t k = 0; k < K; k++) {
    memset(start, 0, (K + 1) * sizeof *start);
    present[k] = 0;
    for (int pass = 0; pass < 2; pass++) {
      if (pass == 1) {
        for (size_t v = 0; v < K; v++) start[v + 1] += start[v];
        memcpy(fill, start, K * sizeof *fill);
      }
      for (size_t i = 0; i < n; i++) {
        const size_t *x = D->tok + i * T;
        if (x[T - 1] != k) continue;
        if (pass == 0) present[k]++;
        for (size_t c = 0; c < T; c++) {
          if (!is_sel(D, i, c)) continue;
          for (size_t t = 0; t < T; t++) {
            if (x[t] == x[c] || is_excl(D, i, t)) continue;
            if (pass == 0) start[x[c] + 1]++;
            else adj[fill[x[c]]++] = x[t];
          }
        }
      }
    }
    if ((st = hm_ntp_scc(K, start, adj, comp + k * K, ncomp + k)) != HM_OK) goto done;
  }
done:
  free(start);
  free(adj);
  free(fill);
  return st;
}

/* ---- graph-SVM rows and S_fin ---------------------------------------------------------- */

typedef struct row_key {
  size_t key, idx, i, t, y, j;
} row_key;

static int cmp_key(const void *pa, const void *pb) {
  const row_key *a = pa, *b = pb;
  if (a->key != b->key) return a->key < b->key ? -1 : 1;
  return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int cmp_idx(const void *pa, const void *pb) {
  const row_key *a = pa, *b = pb;
  return a->idx < b->idx ? -1 : a->idx > b->idx;
}

hm_status hm_ntp_rows(const hm_ntp_data *D, const size_t *comp, double *A, double *Zr,
                      double *b, unsigned char *eq, size_t *sample, size_t *token,
                      size_t *m_out) {
  size_t n = D->n, T = D->T, K = D->K, d = D->d, nc = 0, m = 0;
  row_key *c = malloc((n * T * T > 0 ? n * T * T : 1) * sizeof *c);
  if (!c) return HM_ENOMEM;
  /* candidates (k, y, j) in data order; a pair is identified by (k, min, max): an inequality
   * pair has one orientation only (both edges would put y and j in one component), an
   * equality pair is unordered */
  for (size_t i = 0; i < n; i++)
    for (size_t s = 0; s < T; s++) {
      if (!is_sel(D, i, s)) continue;
      size_t k = D->tok[i * T + T - 1], y = D->tok[i * T + s];
      for (size_t t = 0; t < T; t++) {
        size_t j = D->tok[i * T + t];
        if (j == y) continue;
        size_t lo = y < j ? y : j, hi = y < j ? j : y;
        c[nc] = (row_key){(k * K + lo) * K + hi, nc, i, t, y, j};
        nc++;
      }
    }
  qsort(c, nc, sizeof *c, cmp_key);
  size_t keep = 0;
  for (size_t q = 0; q < nc; q++)
    if (q == 0 || c[q].key != c[q - 1].key) c[keep++] = c[q];
  qsort(c, keep, sizeof *c, cmp_idx); /* back to data order */
  for (size_t q = 0; q < keep; q++) {
    size_t i = c[q].i, y = c[q].y, j = c[q].j, k = D->tok[i * T + T - 1];
    int same = comp[k * K + y] == comp[k * K + j];
    for (size_t p = 0; p < d; p++) {
      A[m * d + p] = D->E[y * d + p] - D->E[j * d + p];
      Zr[m * d + p] = D->E[k * d + p];
    }
    b[m] = same ? 0 : 1;
    eq[m] = (unsigned char)same;
    if (sample) sample[m] = i;
    if (token) token[m] = c[q].t;
    m++;
  }
  free(c);
  *m_out = m;
  return HM_OK;
}

size_t hm_ntp_sfin_generators(const size_t *comp, const size_t *present, size_t K) {
  size_t cap = 0; /* one per token that is not its component's first, for every present k */
  for (size_t k = 0; k < K; k++)
    if (present[k])
      for (size_t v = 0; v < K; v++)
        for (size_t u = 0; u < v; u++)
          if (comp[k * K + u] == comp[k * K + v]) {
            cap++;
            break;
          }
  return cap;
}

hm_status hm_ntp_sfin(const hm_ntp_data *D, const size_t *comp, const size_t *present,
                      double *B, size_t *r) {
  size_t K = D->K, d = D->d, dd = d * d, ng = 0, cap = hm_ntp_sfin_generators(comp, present, K);
  *r = 0;
  if (cap == 0) return HM_OK;
  double *G = malloc(cap * dd * sizeof *G);
  if (!G) return HM_ENOMEM;
  for (size_t k = 0; k < K; k++) {
    if (!present[k]) continue;
    const size_t *c = comp + k * K;
    for (size_t v = 0; v < K; v++) {
      size_t ref = K;
      for (size_t u = 0; u < v; u++)
        if (c[u] == c[v]) {
          ref = u;
          break;
        }
      if (ref == K) continue; /* v is its component's first token: the reference */
      double *g = G + ng * dd;
      for (size_t p = 0; p < d; p++)
        for (size_t q = 0; q < d; q++)
          g[p * d + q] = (D->E[v * d + p] - D->E[ref * d + p]) * D->E[k * d + q];
      ng++;
    }
  }
  hm_status st = HM_OK;
  if (ng) {
    size_t mn = ng < dd ? ng : dd;
    double *s = malloc(mn * sizeof *s), *Vt = malloc(mn * dd * sizeof *Vt);
    double *sup = malloc(mn * sizeof *sup);
    if (!s || !Vt || !sup) {
      st = HM_ENOMEM;
    } else if (LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'S', (lapack_int)ng, (lapack_int)dd, G,
                              (lapack_int)dd, s, NULL, 1, Vt, (lapack_int)dd, sup) != 0) {
      st = HM_ELAPACK;
    } else {
      for (size_t i = 0; i < mn; i++)
        if (s[i] > 1e-10 * s[0]) {
          memcpy(B + *r * dd, Vt + i * dd, dd * sizeof *B);
          (*r)++;
        }
    }
    free(s);
    free(Vt);
    free(sup);
  }
  free(G);
  return st;
}

/* ---- W_fin ----------------------------------------------------------------------------- */

typedef struct red_set {
  size_t nsamp, npos, r;
  size_t *off;        /* nsamp + 1 position offsets */
  double *phi;        /* npos x r features <e_x e_k^T, B_b> */
  unsigned char *lab; /* npos */
} red_set;

static double red_eval(const red_set *R, const double *c, double *grad, double *H, double *a,
                       double *g) {
  size_t r = R->r;
  double f = 0;
  if (grad) memset(grad, 0, r * sizeof *grad);
  if (H) memset(H, 0, r * r * sizeof *H);
  double *mean = H ? malloc(r * sizeof *mean) : NULL;
  for (size_t s = 0; s < R->nsamp; s++) {
    size_t o = R->off[s], nt = R->off[s + 1] - o;
    for (size_t t = 0; t < nt; t++) a[t] = cblas_ddot((int)r, R->phi + (o + t) * r, 1, c, 1);
    f += hm_ntp_sample_terms(a, R->lab + o, nt, g, NULL);
    if (grad)
      for (size_t t = 0; t < nt; t++) cblas_daxpy((int)r, g[t], R->phi + (o + t) * r, 1, grad, 1);
    if (H && mean) {
      /* Hessian of LSE_all (softmax covariance) minus that of LSE_label (label softmax
       * covariance; zero for a single label position) */
      for (int pass = 0; pass < 2; pass++) {
        double mx = -INFINITY, z = 0;
        for (size_t t = 0; t < nt; t++)
          if (pass == 0 || R->lab[o + t]) mx = fmax(mx, a[t]);
        for (size_t t = 0; t < nt; t++)
          if (pass == 0 || R->lab[o + t]) z += exp(a[t] - mx);
        memset(mean, 0, r * sizeof *mean);
        double sg = pass == 0 ? 1.0 : -1.0;
        for (size_t t = 0; t < nt; t++) {
          if (pass == 1 && !R->lab[o + t]) continue;
          double p = exp(a[t] - mx) / z;
          const double *ph = R->phi + (o + t) * r;
          cblas_dsyr(CblasRowMajor, CblasLower, (int)r, sg * p, ph, 1, H, (int)r);
          cblas_daxpy((int)r, p, ph, 1, mean, 1);
        }
        cblas_dsyr(CblasRowMajor, CblasLower, (int)r, -sg, mean, 1, H, (int)r);
      }
    }
  }
  free(mean);
  double inv = R->nsamp ? 1.0 / (double)R->nsamp : 0;
  if (grad) cblas_dscal((int)r, inv, grad, 1);
  if (H) {
    for (size_t i = 0; i < r; i++)
      for (size_t j = 0; j <= i; j++) H[j * r + i] = H[i * r + j] *= inv;
  }
  return f * inv;
}

hm_status hm_ntp_wfin(const hm_ntp_data *D, const size_t *comp, const double *B, size_t r,
                      double *Wfin, double *grad_norm, int *iters) {
  size_t n = D->n, T = D->T, K = D->K, d = D->d, dd = d * d;
  memset(Wfin, 0, dd * sizeof *Wfin);
  *grad_norm = 0;
  *iters = 0;
  if (r == 0) return HM_OK;
  red_set R = {0, 0, r, NULL, NULL, NULL};
  R.off = malloc((n + 1) * sizeof *R.off);
  R.phi = malloc(n * T * r * sizeof *R.phi);
  R.lab = malloc(n * T);
  double *c = calloc(r, sizeof *c), *gr = malloc(r * sizeof *gr), *H = malloc(r * r * sizeof *H);
  double *dc = malloc(r * sizeof *dc), *ct = malloc(r * sizeof *ct), *a = malloc(T * sizeof *a);
  double *g = malloc(T * sizeof *g), *u = malloc(d * sizeof *u), *Hs = malloc(r * r * sizeof *Hs);
  hm_status st = HM_ENOMEM;
  if (!R.off || !R.phi || !R.lab || !c || !gr || !H || !dc || !ct || !a || !g || !u || !Hs)
    goto done;
  R.off[0] = 0;
  unsigned char *keep = malloc(T);
  if (!keep) goto done;
  for (size_t i = 0; i < n; i++) {
    const size_t *x = D->tok + i * T;
    size_t k = x[T - 1], other = 0;
    /* positions sharing a component with some selected position */
    for (size_t t = 0; t < T; t++) {
      keep[t] = 0;
      for (size_t q = 0; q < T && !keep[t]; q++)
        keep[t] = is_sel(D, i, q) && comp[k * K + x[t]] == comp[k * K + x[q]];
      other += keep[t] && !is_sel(D, i, t);
    }
    if (!other) continue;
    for (size_t t = 0; t < T; t++) {
      if (!keep[t]) continue;
      size_t pidx = R.npos++;
      R.lab[pidx] = (unsigned char)is_sel(D, i, t);
      /* phi_b = e_x^T B_b e_k */
      for (size_t b = 0; b < r; b++) {
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)d, (int)d, 1.0, B + b * dd, (int)d,
                    D->E + k * d, 1, 0.0, u, 1);
        R.phi[pidx * r + b] = cblas_ddot((int)d, D->E + x[t] * d, 1, u, 1);
      }
    }
    R.off[++R.nsamp] = R.npos;
  }
  free(keep);
  st = HM_OK;
  double f = red_eval(&R, c, gr, H, a, g);
  double gn = cblas_dnrm2((int)r, gr, 1), dec = INFINITY;
  int it;
  for (it = 0; it < 200 && gn > 1e-14; it++) {
    /* Newton direction; Levenberg shift if H is not numerically positive definite */
    double tr = 0;
    for (size_t i = 0; i < r; i++) tr += H[i * r + i];
    double shift = 0;
    lapack_int info = 1;
    for (int tries = 0; tries < 30 && info != 0; tries++) {
      memcpy(Hs, H, r * r * sizeof *Hs);
      for (size_t i = 0; i < r; i++) Hs[i * r + i] += shift;
      for (size_t i = 0; i < r; i++) dc[i] = -gr[i];
      info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'L', (lapack_int)r, 1, Hs, (lapack_int)r, dc, 1);
      shift = shift == 0 ? 1e-14 * fmax(tr, 1e-300) : 10 * shift;
    }
    if (info != 0) break;
    dec = -cblas_ddot((int)r, gr, 1, dc, 1); /* squared Newton decrement g^T H^-1 g */
    if (!(dec > 0)) break;
    double step = 1;
    /* far from the minimizer: Armijo backtracking. Close to it (predicted decrease dec/2
     * below ~1e-10 |f|) the loss no longer resolves the progress, the full Newton step is
     * taken (quadratic convergence region) */
    if (dec > 1e-10 * fmax(1.0, fabs(f))) {
      int ok = 0;
      for (int ls = 0; ls < 60 && !ok; ls++) {
        for (size_t i = 0; i < r; i++) ct[i] = c[i] + step * dc[i];
        ok = red_eval(&R, ct, NULL, NULL, a, g) <= f - 1e-4 * step * dec;
        if (!ok) step *= 0.5;
      }
      if (!ok) break;
    }
    for (size_t i = 0; i < r; i++) ct[i] = c[i] + step * dc[i];
    double fn = red_eval(&R, ct, gr, H, a, g), gn_new = cblas_dnrm2((int)r, gr, 1);
    if (step == 1 && dec <= 1e-10 * fmax(1.0, fabs(f)) && !(gn_new < 0.5 * gn)) {
      /* the gradient stopped shrinking: its rounding floor; keep the better point */
      if (gn_new < gn) memcpy(c, ct, r * sizeof *c), f = fn, gn = gn_new;
      else red_eval(&R, c, gr, H, a, g);
      it++;
      break;
    }
    memcpy(c, ct, r * sizeof *c);
    f = fn;
    gn = gn_new;
  }
  *grad_norm = gn;
  *iters = it;
  /* converged: gradient at zero, or the Newton decrement (the gap to the minimum, in the
   * convex case about dec / 2) at rounding level */
  st = gn <= 1e-14 || dec <= 1e-20 * fmax(1.0, fabs(f)) ? HM_OK : HM_ENOCONV;
  for (size_t b = 0; b < r; b++) cblas_daxpy((int)dd, c[b], B + b * dd, 1, Wfin, 1);
done:
  free(R.off), free(R.phi), free(R.lab), free(c), free(gr), free(H), free(dc), free(ct);
  free(a), free(g), free(u), free(Hs);
  return st;
}
