/* Regularization paths by accelerated projected gradient (see hm_regpath.h). */
#include "hm_regpath.h"

#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hm_interrupt.h"
#include "hm_mat.h"
#include "hm_optim.h"
#include "hm_rng.h"

static int cmp_desc(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x < y) - (x > y);
}

/* Project the nonnegative, descending-sorted... no: arbitrary v onto {|v|_1 <= rho}; u is
 * scratch of length n. */
static hm_status proj_l1(double *v, size_t n, double rho, double *u) {
  double s = 0.0;
  for (size_t j = 0; j < n; j++) s += fabs(v[j]);
  if (s <= rho) return HM_OK;
  for (size_t j = 0; j < n; j++) u[j] = fabs(v[j]);
  qsort(u, n, sizeof(double), cmp_desc);
  double cum = 0.0, theta = 0.0;
  for (size_t j = 0; j < n; j++) {
    cum += u[j];
    double t = (cum - rho) / (double)(j + 1);
    if (u[j] - t > 0.0) theta = t;
    else break;
  }
  for (size_t j = 0; j < n; j++) {
    double a = fabs(v[j]) - theta;
    v[j] = a > 0.0 ? copysign(a, v[j]) : 0.0;
  }
  return HM_OK;
}

/* Thin SVD of the rows x cols row-major matrix a (overwritten): s (k), u (rows x k),
 * vt (k x cols), k = min(rows, cols). dgesdd, falling back to dgesvd. u/vt may be NULL for
 * singular values only. */
static hm_status svd_thin(double *a, size_t rows, size_t cols, double *s, double *u, double *vt) {
  size_t k = rows < cols ? rows : cols;
  lapack_int m = (lapack_int)rows, n = (lapack_int)cols, kk = (lapack_int)k;
  size_t sz = rows * cols;
  double *copy = (double *)malloc((sz ? sz : 1) * sizeof(double));
  if (!copy) return HM_ENOMEM;
  memcpy(copy, a, sz * sizeof(double));
  lapack_int info;
  if (u) info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'S', m, n, a, n, s, u, kk, vt, n);
  else info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'N', m, n, a, n, s, NULL, kk > 0 ? kk : 1, NULL, n > 0 ? n : 1);
  if (info > 0) { /* dgesdd did not converge: retry with dgesvd */
    memcpy(a, copy, sz * sizeof(double));
    double *superb = (double *)malloc((k ? k : 1) * sizeof(double));
    if (!superb) {
      free(copy);
      return HM_ENOMEM;
    }
    if (u) info = LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'S', 'S', m, n, a, n, s, u, kk, vt, n, superb);
    else info = LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'N', m, n, a, n, s, NULL, kk > 0 ? kk : 1, NULL,
                               n > 0 ? n : 1, superb);
    free(superb);
  }
  free(copy);
  if (info < 0) return HM_ELAPACK;
  if (info > 0) return HM_ENOCONV;
  return HM_OK;
}

static hm_status proj_nuc(double *x, size_t rows, size_t cols, double rho) {
  size_t k = rows < cols ? rows : cols, sz = rows * cols;
  if (sz == 0) return HM_OK;
  double *buf = (double *)malloc((sz + k + rows * k + k * cols + k) * sizeof(double));
  if (!buf) return HM_ENOMEM;
  double *a = buf, *s = a + sz, *u = s + k, *vt = u + rows * k, *scr = vt + k * cols;
  memcpy(a, x, sz * sizeof(double));
  hm_status st = svd_thin(a, rows, cols, s, u, vt);
  if (st != HM_OK) {
    free(buf);
    return st;
  }
  double tot = 0.0;
  for (size_t j = 0; j < k; j++) tot += s[j];
  if (tot > rho) {
    proj_l1(s, k, rho, scr); /* s >= 0, so this is the simplex-type projection */
    /* x = U diag(s) Vt */
    for (size_t r = 0; r < rows; r++) {
      double *xr = x + r * cols;
      memset(xr, 0, cols * sizeof(double));
      for (size_t j = 0; j < k; j++) {
        double c = u[r * k + j] * s[j];
        if (c == 0.0) continue;
        const double *v = vt + j * cols;
        for (size_t col = 0; col < cols; col++) xr[col] += c * v[col];
      }
    }
  }
  free(buf);
  return HM_OK;
}

hm_status hm_proj_ball(hm_ball_kind ball, double *x, size_t n, double rho, size_t rows,
                       size_t cols) {
  if (!(rho >= 0.0)) return HM_EARG;
  switch (ball) {
    case HM_BALL_L2: {
      double nx = hm_vnorm2(x, n);
      if (nx > rho) {
        double sc = rho / nx;
        for (size_t j = 0; j < n; j++) x[j] *= sc;
      }
      return HM_OK;
    }
    case HM_BALL_LINF:
      for (size_t j = 0; j < n; j++) {
        if (x[j] > rho) x[j] = rho;
        else if (x[j] < -rho) x[j] = -rho;
      }
      return HM_OK;
    case HM_BALL_L1: {
      double *u = (double *)malloc((n ? n : 1) * sizeof(double));
      if (!u) return HM_ENOMEM;
      hm_status st = proj_l1(x, n, rho, u);
      free(u);
      return st;
    }
    case HM_BALL_NUC:
      if (rows * cols != n) return HM_ESHAPE;
      return proj_nuc(x, rows, cols, rho);
  }
  return HM_EARG;
}

hm_status hm_ball_norm(hm_ball_kind ball, const double *x, size_t n, size_t rows, size_t cols,
                       double *out) {
  switch (ball) {
    case HM_BALL_L2: *out = hm_vnorm2(x, n); return HM_OK;
    case HM_BALL_L1: *out = hm_normp(x, n, 1.0); return HM_OK;
    case HM_BALL_LINF: *out = hm_normp(x, n, INFINITY); return HM_OK;
    case HM_BALL_NUC: {
      if (rows * cols != n) return HM_ESHAPE;
      size_t k = rows < cols ? rows : cols;
      double *buf = (double *)malloc((n + k + 1) * sizeof(double));
      if (!buf) return HM_ENOMEM;
      memcpy(buf, x, n * sizeof(double));
      hm_status st = svd_thin(buf, rows, cols, buf + n, NULL, NULL);
      double s = 0.0;
      for (size_t j = 0; j < k; j++) s += buf[n + j];
      free(buf);
      *out = s;
      return st;
    }
  }
  return HM_EARG;
}

/* dual norm of a block: l2 -> l2, nuc -> spectral, l1 -> linf, linf -> l1 */
static hm_status dual_norm(hm_ball_kind ball, const double *g, size_t n, size_t rows,
                           size_t cols, double *out) {
  switch (ball) {
    case HM_BALL_L2: *out = hm_vnorm2(g, n); return HM_OK;
    case HM_BALL_L1: *out = hm_normp(g, n, INFINITY); return HM_OK;
    case HM_BALL_LINF: *out = hm_normp(g, n, 1.0); return HM_OK;
    case HM_BALL_NUC: {
      size_t k = rows < cols ? rows : cols;
      double *buf = (double *)malloc((n + k + 1) * sizeof(double));
      if (!buf) return HM_ENOMEM;
      memcpy(buf, g, n * sizeof(double));
      hm_status st = svd_thin(buf, rows, cols, buf + n, NULL, NULL);
      *out = k ? buf[n] : 0.0;
      free(buf);
      return st;
    }
  }
  return HM_EARG;
}

typedef struct rp_ctx {
  hm_objective *obj;
  hm_regpath_cfg *cfg;
  size_t N;
  size_t off[64];
  int nb; /* number of blocks */
} rp_ctx;

static void unpack(rp_ctx *c, const double *x) {
  for (int b = 0; b < c->cfg->nsel; b++) {
    hm_param *q = &c->obj->param[c->cfg->sel[b]];
    memcpy(q->x, x + c->off[b], q->size * sizeof(double));
  }
}
static void pack_x(rp_ctx *c, double *x) {
  for (int b = 0; b < c->cfg->nsel; b++) {
    hm_param *q = &c->obj->param[c->cfg->sel[b]];
    memcpy(x + c->off[b], q->x, q->size * sizeof(double));
  }
}
static void pack_g(rp_ctx *c, double *g) {
  for (int b = 0; b < c->cfg->nsel; b++) {
    hm_param *q = &c->obj->param[c->cfg->sel[b]];
    memcpy(g + c->off[b], q->grad, q->size * sizeof(double));
  }
}

static hm_status project(rp_ctx *c, double *x, const double *rho) {
  hm_regpath_cfg *cfg = c->cfg;
  if (!cfg->separate) {
    const hm_param *q = &c->obj->param[cfg->sel[0]];
    return hm_proj_ball(cfg->ball, x, c->N, rho[0], q->rows, q->cols);
  }
  for (int b = 0; b < cfg->nsel; b++) {
    const hm_param *q = &c->obj->param[cfg->sel[b]];
    hm_status st = hm_proj_ball(cfg->ball, x + c->off[b], q->size, rho[b], q->rows, q->cols);
    if (st != HM_OK) return st;
  }
  return HM_OK;
}

static hm_status eval_at(rp_ctx *c, const double *x, int want_grad, double *f, double *g) {
  unpack(c, x);
  hm_status st = c->obj->eval(c->obj->ctx, want_grad, f);
  if (st == HM_OK && !isfinite(*f)) st = HM_ENONFINITE;
  if (st == HM_OK && want_grad) {
    pack_g(c, g);
    if (!hm_all_finite(g, c->N)) st = HM_ENONFINITE;
  }
  return st;
}

static double dot(const double *a, const double *b, size_t n) {
  double s = 0.0;
  for (size_t j = 0; j < n; j++) s += a[j] * b[j];
  return s;
}

/* Frank-Wolfe gap and gradient-mapping norm at x with gradient g */
static hm_status certify(rp_ctx *c, const double *x, const double *g, const double *rho,
                         double lip, double *scratch, double *gap, double *pg, double *rdn) {
  hm_regpath_cfg *cfg = c->cfg;
  double gp = dot(g, x, c->N), dn = 0.0, sdn = 0.0;
  if (!cfg->separate) {
    const hm_param *q = &c->obj->param[cfg->sel[0]];
    hm_status st = dual_norm(cfg->ball, g, c->N, q->rows, q->cols, &dn);
    if (st != HM_OK) return st;
    gp += rho[0] * dn;
    sdn = rho[0] * dn;
  } else {
    for (int b = 0; b < cfg->nsel; b++) {
      const hm_param *q = &c->obj->param[cfg->sel[b]];
      hm_status st = dual_norm(cfg->ball, g + c->off[b], q->size, q->rows, q->cols, &dn);
      if (st != HM_OK) return st;
      gp += rho[b] * dn;
      sdn += rho[b] * dn;
    }
  }
  *gap = gp > 0.0 ? gp : 0.0;
  *rdn = sdn;
  for (size_t j = 0; j < c->N; j++) scratch[j] = x[j] - g[j] / lip;
  hm_status st = project(c, scratch, rho);
  if (st != HM_OK) return st;
  for (size_t j = 0; j < c->N; j++) scratch[j] = x[j] - scratch[j];
  *pg = lip * hm_vnorm2(scratch, c->N);
  return HM_OK;
}

/* 1 if every block is strictly inside its ball */
static hm_status interior(rp_ctx *c, const double *x, const double *rho, int *inside) {
  hm_regpath_cfg *cfg = c->cfg;
  int nb = cfg->separate ? cfg->nsel : 1;
  *inside = 1;
  for (int b = 0; b < nb; b++) {
    const hm_param *q = &c->obj->param[cfg->sel[b]];
    size_t n = cfg->separate ? q->size : c->N;
    double nx;
    hm_status st = hm_ball_norm(cfg->ball, x + (cfg->separate ? c->off[b] : 0), n, q->rows,
                                q->cols, &nx);
    if (st != HM_OK) return st;
    if (nx >= (1.0 - 1e-9) * rho[b]) *inside = 0;
  }
  return HM_OK;
}

/* Accelerated projected gradient driven by gradients only: far along the path the excess
 * loss falls below the rounding of L (theory.md §D.5), so loss comparisons are noise, while
 * the (stably computed) gradient stays accurate. Step acceptance uses the local curvature
 * <g(z) - g(y), z - y> <= Lip |z - y|^2, momentum restarts use the gradient-mapping test
 * <y - z, z - x> > 0 (O'Donoghue & Candes). */
static hm_status solve_one(rp_ctx *c, const double *rho, double *x, double *lip_io,
                           double *wk, size_t ridx) {
  hm_regpath_cfg *cfg = c->cfg;
  size_t N = c->N;
  double *y = wk, *z = y + N, *gx = z + N, *gy = gx + N, *scr = gy + N;
  double *gz = scr; /* scr doubles as g(z) between certifications */
  double lip = *lip_io;
  double fx, fy, fz;
  hm_status st = project(c, x, rho);
  if (st != HM_OK) return st;
  st = eval_at(c, x, 1, &fx, gx);
  if (st != HM_OK) return st;
  memcpy(y, x, N * sizeof(double));
  memcpy(gy, gx, N * sizeof(double));
  fy = fx;
  double tk = 1.0, gap = INFINITY, pg = INFINITY, kkt = INFINITY;
  int conv = 0, stalled = 0;
  long it = 0;
  for (;;) {
    if (it % cfg->check == 0 || it >= cfg->max_iter || stalled) {
      double rdn;
      st = certify(c, x, gx, rho, lip, scr, &gap, &pg, &rdn);
      if (st != HM_OK) return st;
      kkt = rdn > 0.0 ? gap / rdn : 0.0;
      /* (a) scale-free KKT residual gap/(rho |g|_dual) (= 1 - cos(-g, x) on an active l2
       * constraint); (b) gap relative to the excess loss L - L_inf when L_inf is known;
       * (c) L_inf unknown: gap relative to L, but only for an interior solution (on the
       * boundary, a fixed-head loss keeps L ~ L_inf > 0 while the direction still moves) */
      int ok = kkt <= cfg->tol;
      if (!ok && isfinite(c->obj->loss_inf)) {
        double excess = fx - c->obj->loss_inf;
        ok = gap <= cfg->tol * (excess > DBL_MIN ? excess : DBL_MIN);
      } else if (!ok && gap <= cfg->tol * fabs(fx)) {
        int inside;
        st = interior(c, x, rho, &inside);
        if (st != HM_OK) return st;
        ok = inside;
      }
      if (ok) {
        conv = 1;
        break;
      }
      if (it >= cfg->max_iter || stalled) break;
    }
    if (hm_interrupted()) return HM_EINTR;
    /* backtracking step from y */
    double dd = 0.0;
    int tries = 0;
    for (;;) {
      for (size_t j = 0; j < N; j++) z[j] = y[j] - gy[j] / lip;
      st = project(c, z, rho);
      if (st != HM_OK) return st;
      dd = 0.0;
      for (size_t j = 0; j < N; j++) {
        double d = z[j] - y[j];
        dd += d * d;
      }
      if (dd == 0.0) break;
      st = eval_at(c, z, 1, &fz, gz);
      if (st != HM_OK && st != HM_ENONFINITE) return st;
      if (st == HM_OK) {
        double curv = 0.0;
        for (size_t j = 0; j < N; j++) curv += (gz[j] - gy[j]) * (z[j] - y[j]);
        if (curv <= lip * dd) break;
        double need = 1.1 * curv / dd;
        lip = need > 2.0 * lip ? need : 2.0 * lip;
      } else {
        lip *= 2.0;
      }
      if (++tries > 200 || !isfinite(lip)) return HM_ENOCONV;
    }
    if (dd == 0.0) { /* y is a fixed point of the projected-gradient map */
      if (memcmp(y, x, N * sizeof(double)) == 0) {
        stalled = 1;
      } else { /* drop the momentum */
        memcpy(y, x, N * sizeof(double));
        memcpy(gy, gx, N * sizeof(double));
        fy = fx;
        tk = 1.0;
      }
      continue;
    }
    it++;
    /* gradient-mapping restart test: <y - z, z - x> > 0 */
    double rs = 0.0;
    for (size_t j = 0; j < N; j++) rs += (y[j] - z[j]) * (z[j] - x[j]);
    double mom;
    if (rs > 0.0) {
      tk = 1.0;
      mom = 0.0;
    } else {
      double tn = 0.5 * (1.0 + sqrt(1.0 + 4.0 * tk * tk));
      mom = (tk - 1.0) / tn;
      tk = tn;
    }
    for (size_t j = 0; j < N; j++) {
      double xn = z[j];
      y[j] = xn + mom * (xn - x[j]);
      x[j] = xn;
    }
    memcpy(gx, gz, N * sizeof(double));
    fx = fz;
    if (mom == 0.0) {
      memcpy(gy, gx, N * sizeof(double));
      fy = fx;
    } else {
      st = eval_at(c, y, 1, &fy, gy);
      if (st == HM_ENONFINITE) { /* extrapolation overflowed: restart at x */
        tk = 1.0;
        memcpy(y, x, N * sizeof(double));
        memcpy(gy, gx, N * sizeof(double));
        fy = fx;
      } else if (st != HM_OK) {
        return st;
      }
    }
    lip *= 0.9;
    if (lip < 1e-300) lip = 1e-300;
  }
  (void)fy;
  *lip_io = lip;
  /* outputs */
  int nb = cfg->separate ? cfg->nsel : 1;
  memcpy(cfg->sol + ridx * N, x, N * sizeof(double));
  cfg->loss[ridx] = fx;
  cfg->gap[ridx] = gap;
  cfg->pgnorm[ridx] = pg;
  if (cfg->kkt) cfg->kkt[ridx] = kkt;
  cfg->iters[ridx] = it;
  cfg->converged[ridx] = conv;
  for (int b = 0; b < nb; b++) {
    const hm_param *q = &c->obj->param[cfg->sel[b]];
    size_t n = cfg->separate ? q->size : N;
    st = hm_ball_norm(cfg->ball, x + (cfg->separate ? c->off[b] : 0), n, q->rows, q->cols,
                      &cfg->norm[ridx * (size_t)nb + (size_t)b]);
    if (st != HM_OK) return st;
  }
  if (cfg->wsol) {
    unpack(c, x);
    st = c->obj->effective_w(c->obj->ctx, cfg->wsol + ridx * c->obj->w_size);
    if (st != HM_OK) return st;
  }
  return HM_OK;
}

hm_status hm_regpath_run(hm_objective *obj, hm_regpath_cfg *cfg) {
  if (cfg->nsel < 1 || cfg->nsel > 64 || cfg->max_iter < 0 || cfg->check < 1 ||
      !(cfg->tol >= 0.0))
    return HM_EARG;
  if (cfg->ball == HM_BALL_NUC && (cfg->nsel != 1)) return HM_EARG;
  if (cfg->wsol && !obj->effective_w) return HM_EARG;
  if (obj->grad_log_scale) return HM_EARG; /* needs exact gradients */
  rp_ctx c;
  memset(&c, 0, sizeof c);
  c.obj = obj;
  c.cfg = cfg;
  for (int b = 0; b < cfg->nsel; b++) {
    if (cfg->sel[b] < 0 || cfg->sel[b] >= obj->nparam) return HM_EARG;
    c.off[b] = c.N;
    c.N += obj->param[cfg->sel[b]].size;
  }
  int nb = cfg->separate ? cfg->nsel : 1;
  for (size_t r = 0; r < cfg->nradii * (size_t)nb; r++)
    if (!(cfg->radii[r] > 0.0 && isfinite(cfg->radii[r]))) return HM_EARG;
  size_t N = c.N, W = cfg->wsol ? obj->w_size : 0;
  if (cfg->restarts < 0) return HM_EARG;
  /* orig, x, work (5N), restart start xs, saved best solution and W */
  double *buf = (double *)malloc((9 * N + W + 1) * sizeof(double));
  if (!buf) return HM_ENOMEM;
  double *orig = buf, *x = orig + N, *wk = x + N, *xs = wk + 5 * N, *sv = xs + N,
         *svw = sv + N;
  pack_x(&c, orig);
  memcpy(x, orig, N * sizeof(double));
  hm_rng g;
  hm_rng_seed(&g, (uint64_t)cfg->seed);
  double lip = 1.0;
  hm_status st = HM_OK;
  for (size_t r = 0; r < cfg->nradii && st == HM_OK; r++) {
    const double *rho = cfg->radii + r * (size_t)nb;
    if (r > 0) { /* warm start: rescale blocks that sat on their previous boundary */
      const double *prev = cfg->radii + (r - 1) * (size_t)nb;
      for (int b = 0; b < nb; b++) {
        const double *nrm = cfg->norm + (r - 1) * (size_t)nb;
        if (nrm[b] >= 0.999 * prev[b]) {
          size_t o = cfg->separate ? c.off[b] : 0;
          size_t n = cfg->separate ? obj->param[cfg->sel[b]].size : N;
          double sc = rho[b] / prev[b];
          for (size_t j = 0; j < n; j++) x[o + j] *= sc;
        }
      }
    }
    st = solve_one(&c, rho, x, &lip, wk, r);
    if (cfg->start_used) cfg->start_used[r] = 0;
    for (int k = 1; k <= cfg->restarts && st == HM_OK; k++) {
      /* save the current best outputs of radius r */
      double sl = cfg->loss[r], sg = cfg->gap[r], sp = cfg->pgnorm[r];
      double sk = cfg->kkt ? cfg->kkt[r] : 0.0, snorm[64];
      long si = cfg->iters[r];
      int sc = cfg->converged[r];
      for (int b = 0; b < nb; b++) snorm[b] = cfg->norm[r * (size_t)nb + (size_t)b];
      memcpy(sv, cfg->sol + r * N, N * sizeof(double));
      if (W) memcpy(svw, cfg->wsol + r * W, W * sizeof(double));
      /* the start */
      hm_rng_fill_normal(&g, xs, N);
      for (int b = 0; b < nb; b++) {
        size_t o = cfg->separate ? c.off[b] : 0;
        size_t n = cfg->separate ? obj->param[cfg->sel[b]].size : N;
        double nx = hm_vnorm2(xs + o, n);
        double sc2 = nx > 0.0 ? (k == 1 ? 1e-6 : 1.0) * rho[b] / nx : 0.0;
        for (size_t j = 0; j < n; j++) xs[o + j] *= sc2;
      }
      double lip2 = lip;
      st = solve_one(&c, rho, xs, &lip2, wk, r);
      if (st != HM_OK) break;
      if (cfg->loss[r] < sl) {
        memcpy(x, xs, N * sizeof(double));
        if (cfg->start_used) cfg->start_used[r] = k;
      } else { /* restore */
        cfg->loss[r] = sl;
        cfg->gap[r] = sg;
        cfg->pgnorm[r] = sp;
        if (cfg->kkt) cfg->kkt[r] = sk;
        cfg->iters[r] = si;
        cfg->converged[r] = sc;
        for (int b = 0; b < nb; b++) cfg->norm[r * (size_t)nb + (size_t)b] = snorm[b];
        memcpy(cfg->sol + r * N, sv, N * sizeof(double));
        if (W) memcpy(cfg->wsol + r * W, svw, W * sizeof(double));
      }
    }
  }
  unpack(&c, orig);
  free(buf);
  return st;
}
