/* Optimizers over hm_objective (see hm_optim.h, theory.md §A.5). */
#include "hm_optim.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hm_mat.h"
#include "hm_steepest.h"

/* ---------------------------------------------------------------- helpers */

/* sum of squares with four independent accumulators (no serial add latency chain) */
static double sumsq(const double *x, size_t n) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    s0 += x[j] * x[j];
    s1 += x[j + 1] * x[j + 1];
    s2 += x[j + 2] * x[j + 2];
    s3 += x[j + 3] * x[j + 3];
  }
  for (; j < n; j++) s0 += x[j] * x[j];
  return (s0 + s1) + (s2 + s3);
}

double hm_vnorm2(const double *x, size_t n) {
  double s = sumsq(x, n);
  if (s >= 1e-290 && s <= 1e290) return sqrt(s);
  /* zero, tiny (squares may have underflowed), huge or non-finite: rescale */
  double amax = 0.0;
  for (size_t j = 0; j < n; j++) {
    double a = fabs(x[j]);
    if (!(a <= amax)) amax = a; /* propagates NaN */
  }
  if (amax == 0.0 || !isfinite(amax)) return amax;
  double t = 0.0;
  for (size_t j = 0; j < n; j++) {
    double r = x[j] / amax;
    t += r * r;
  }
  return amax * sqrt(t);
}

double hm_normp(const double *x, size_t n, double p) {
  if (p == 2.0) return hm_vnorm2(x, n);
  double amax = 0.0;
  for (size_t j = 0; j < n; j++) {
    double a = fabs(x[j]);
    if (!(a <= amax)) amax = a;
  }
  if (isinf(p) || amax == 0.0 || !isfinite(amax)) return amax;
  double s = 0.0;
  if (p == 1.0) {
    for (size_t j = 0; j < n; j++) s += fabs(x[j]);
    if (isfinite(s)) return s;
    s = 0.0;
    for (size_t j = 0; j < n; j++) s += fabs(x[j]) / amax;
    return amax * s;
  }
  for (size_t j = 0; j < n; j++) s += pow(fabs(x[j]) / amax, p);
  return amax * pow(s, 1.0 / p);
}

double hm_corr(const double *a, const double *b, size_t n) {
  double na = hm_vnorm2(a, n), nb = hm_vnorm2(b, n);
  if (na == 0.0 || nb == 0.0) return NAN;
  double dot = 0.0;
  for (size_t j = 0; j < n; j++) dot += a[j] * b[j];
  if (isfinite(dot)) return dot / na / nb;
  dot = 0.0;
  for (size_t j = 0; j < n; j++) dot += (a[j] / na) * (b[j] / nb);
  return dot;
}

double hm_bregman_dir(const double *a, const double *b, size_t n, double p) {
  double na = hm_normp(a, n, p), nb = hm_normp(b, n, p);
  if (na == 0.0 || nb == 0.0 || !isfinite(na) || !isfinite(nb)) return NAN;
  double s = 0.0;
  if (p == 2.0) {
    for (size_t j = 0; j < n; j++) s += (b[j] / nb) * (a[j] / na);
  } else {
    for (size_t j = 0; j < n; j++) {
      double bh = b[j] / nb;
      s += copysign(pow(fabs(bh), p - 1.0), bh) * (a[j] / na);
    }
  }
  return 1.0 - s;
}

hm_status hm_lp_normalize(const double *x, double *y, size_t n, double p) {
  if (!(p > 0.0)) return HM_EARG;
  double nx = hm_normp(x, n, p);
  if (!isfinite(nx)) return HM_ENONFINITE;
  if (nx == 0.0) return HM_EARG;
  for (size_t j = 0; j < n; j++) y[j] = x[j] / nx;
  return HM_OK;
}

/* ---------------------------------------------------------------- setup */

void hm_optim_init(hm_optim *o, hm_optim_kind kind) {
  memset(o, 0, sizeof *o);
  o->kind = kind;
  o->lr = NAN;
  o->eps = NAN;
  o->beta = 0.9;
  o->beta1 = 0.9;
  o->beta2 = 0.999;
  o->lstar = NAN;
  o->c = 1.0;
  o->lr_max = INFINITY;
  o->p = 2.0;
  o->normalized = 0;
  o->snorm = HM_STEEP_FRO;
  o->ns_steps = 5;
  if (kind == HM_OPT_STEEPEST) {
    o->normalized = 1;
    o->beta = 0.0;
  }
  if (kind == HM_OPT_MUON) {
    o->snorm = HM_STEEP_NEWTON_SCHULZ;
    o->beta = 0.95;
    o->nesterov = 1;
  }
  if (kind == HM_OPT_ADAM) {
    o->lr = 1e-3;
    o->eps = 1e-8;
  }
  if (kind == HM_OPT_POLYAK) o->lr = NAN; /* unused */
  o->last_lr = NAN;
  o->last_grad_norm = NAN;
}

static int uses_eps(const hm_optim *o) {
  return o->kind == HM_OPT_NGD || o->kind == HM_OPT_ADAM ||
         (o->kind == HM_OPT_MIRROR && o->normalized);
}

/* per-tensor directions invariant to a positive scale of each tensor's gradient */
static int scale_invariant(const hm_optim *o) {
  return o->kind == HM_OPT_NGD || (o->kind == HM_OPT_MIRROR && o->normalized) ||
         (o->kind == HM_OPT_STEEPEST && o->normalized);
}

hm_status hm_optim_validate(const hm_optim *o) {
  if (o->rescaled && !scale_invariant(o)) return HM_EARG;
  if (o->kind != HM_OPT_POLYAK && !(o->lr >= 0.0 && isfinite(o->lr))) return HM_EARG;
  if (uses_eps(o) && !(o->eps >= 0.0 && isfinite(o->eps)) && !(isnan(o->eps) && o->neps > 0))
    return HM_EARG;
  for (int k = 0; k < o->neps; k++)
    if (!(o->eps_val[k] >= 0.0 && isfinite(o->eps_val[k]))) return HM_EARG;
  switch (o->kind) {
    case HM_OPT_MOMENTUM:
      if (!(o->beta >= 0.0 && o->beta < 1.0)) return HM_EARG;
      break;
    case HM_OPT_ADAM:
      if (!(o->beta1 >= 0.0 && o->beta1 < 1.0 && o->beta2 >= 0.0 && o->beta2 < 1.0))
        return HM_EARG;
      break;
    case HM_OPT_POLYAK:
      if (!(o->c > 0.0 && isfinite(o->c))) return HM_EARG;
      if (!(o->lr_max > 0.0)) return HM_EARG;
      if (isinf(o->lstar)) return HM_EARG;
      break;
    case HM_OPT_MIRROR:
      if (!(o->p > 1.0 && isfinite(o->p))) return HM_EARG;
      break;
    case HM_OPT_STEEPEST:
    case HM_OPT_MUON:
      if (o->snorm < HM_STEEP_FRO || o->snorm > HM_STEEP_NEWTON_SCHULZ) return HM_EARG;
      if (o->snorm == HM_STEEP_NEWTON_SCHULZ && !(o->ns_steps >= 1 && o->ns_steps <= 100))
        return HM_EARG;
      if (!(o->beta >= 0.0 && o->beta < 1.0)) return HM_EARG;
      if (o->kind == HM_OPT_MUON && o->snorm != HM_STEEP_NEWTON_SCHULZ) return HM_EARG;
      break;
    default:
      break;
  }
  return HM_OK;
}

void hm_optim_reset(hm_optim *o) {
  o->t = 0;
  o->last_lr = NAN;
  o->last_grad_norm = NAN;
  if (o->state && o->state_size) memset(o->state, 0, o->state_size * sizeof(double));
}

void hm_optim_free(hm_optim *o) {
  free(o->state);
  free(o->work);
  o->state = NULL;
  o->work = NULL;
  o->state_size = 0;
  o->work_size = 0;
  o->layout = 0;
}

double hm_optim_eps_for(const hm_optim *o, const char *name) {
  for (int k = 0; k < o->neps; k++)
    if (name && strcmp(o->eps_name[k], name) == 0) return o->eps_val[k];
  return o->eps;
}

static size_t layout_hash(const hm_objective *obj, size_t *trainable_total) {
  size_t h = 1469598103934665603u, tot = 0;
  h = (h ^ (size_t)obj->nparam) * 1099511628211u;
  for (int i = 0; i < obj->nparam; i++) {
    const hm_param *q = &obj->param[i];
    h = (h ^ q->size) * 1099511628211u;
    h = (h ^ q->rows) * 1099511628211u;
    h = (h ^ (size_t)(q->trainable != 0)) * 1099511628211u;
    if (q->trainable) tot += q->size;
  }
  *trainable_total = tot;
  return h;
}

static int steepest_kind(const hm_optim *o) {
  return o->kind == HM_OPT_STEEPEST || o->kind == HM_OPT_MUON;
}

/* direction buffer (largest tensor), room to stage a Nesterov input, and the direction's
 * workspace (largest need over the tensors) */
static hm_status ensure_work(hm_optim *o, const hm_objective *obj, size_t h) {
  if (o->work && h == o->layout) return HM_OK;
  size_t dmax = 0, wmax = 0;
  for (int i = 0; i < obj->nparam; i++) {
    const hm_param *q = &obj->param[i];
    if (!q->trainable) continue;
    size_t w = hm_steepest_work_size((hm_steep_norm)o->snorm, q->rows, q->cols);
    if (w == 0) return HM_ENOMEM;
    if (q->size > dmax) dmax = q->size;
    if (w > wmax) wmax = w;
  }
  /* direction, staged Nesterov input, workspace */
  if (dmax > ((size_t)-1 / sizeof(double) - wmax - 1) / 2) return HM_ENOMEM;
  size_t need = 2 * dmax + wmax + 1;
  double *w = (double *)malloc(need * sizeof(double));
  if (!w) return HM_ENOMEM;
  free(o->work);
  o->work = w;
  o->work_size = need;
  return HM_OK;
}

static hm_status ensure_state(hm_optim *o, const hm_objective *obj) {
  size_t need_per = 0;
  if (o->kind == HM_OPT_MOMENTUM) need_per = 1;
  if (o->kind == HM_OPT_ADAM) need_per = 2;
  if (steepest_kind(o) && o->beta > 0.0) need_per = 1;
  size_t tot;
  size_t h = layout_hash(obj, &tot);
  if (steepest_kind(o)) {
    hm_status st = ensure_work(o, obj, h);
    if (st != HM_OK) return st;
    if (!need_per) o->layout = h;
  }
  if (!need_per) return HM_OK;
  if (o->state && h == o->layout && o->state_size == need_per * tot) return HM_OK;
  if (tot > ((size_t)-1) / sizeof(double) / need_per) return HM_ENOMEM;
  double *s = (double *)calloc((need_per * tot > 0) ? need_per * tot : 1, sizeof(double));
  if (!s) return HM_ENOMEM;
  free(o->state);
  o->state = s;
  o->state_size = need_per * tot;
  o->layout = h;
  o->t = 0; /* fresh moments */
  return HM_OK;
}

/* ---------------------------------------------------------------- step */

double hm_scaled_norm(double n, double ls) {
  if (ls == 0.0 || n == 0.0 || !isfinite(n)) return n;
  return exp(log(n) + ls);
}

double hm_optim_true_norm(const hm_objective *obj, const double *nrm) {
  const double *ls = obj->grad_log_scale;
  double lmax = -INFINITY;
  for (int i = 0; i < obj->nparam; i++) {
    const hm_param *q = &obj->param[i];
    if (!q->trainable) continue;
    double v = nrm ? nrm[i] : hm_vnorm2(q->grad, q->size);
    if (!isfinite(v)) return v;
    if (v == 0.0) continue;
    double l = log(v) + (ls ? ls[i] : 0.0);
    if (l > lmax) lmax = l;
  }
  if (lmax == -INFINITY) return 0.0;
  double s = 0.0;
  for (int i = 0; i < obj->nparam; i++) {
    const hm_param *q = &obj->param[i];
    if (!q->trainable) continue;
    double v = nrm ? nrm[i] : hm_vnorm2(q->grad, q->size);
    if (v == 0.0) continue;
    double r = exp(log(v) + (ls ? ls[i] : 0.0) - lmax);
    s += r * r;
  }
  return exp(lmax) * sqrt(s);
}

/* |x|_{3/2} (the dual norm of p = 3) as hm_normp(x, n, 1.5) computes it, with
 * |r|^{3/2} = r sqrt(r) instead of pow (the outer power stays pow: once per tensor) */
static double norm_three_halves(const double *x, size_t n) {
  double amax = 0.0;
  for (size_t j = 0; j < n; j++) {
    double a = fabs(x[j]);
    if (!(a <= amax)) amax = a;
  }
  if (amax == 0.0 || !isfinite(amax)) return amax;
  double s = 0.0;
  for (size_t j = 0; j < n; j++) {
    double r = fabs(x[j]) / amax;
    s += r * sqrt(r);
  }
  return amax * pow(s, 1.0 / 1.5);
}

/* mirror step for p = 2 (kind 2) or p = 3 (kind 3): u = psi'(x) - sc g (div: - sc (g/den)),
 * x = (psi')^{-1}(u). The expression order matches the general path. */
static void mirror_fast(int kind, double *x, const double *g, size_t n, double sc, double den,
                        int div) {
  if (kind == 2) {
    if (div)
      for (size_t j = 0; j < n; j++) x[j] = x[j] - sc * (g[j] / den);
    else
      for (size_t j = 0; j < n; j++) x[j] = x[j] - sc * g[j];
    return;
  }
  for (size_t j = 0; j < n; j++) {
    double a = x[j];
    double u = a * fabs(a) - (div ? sc * (g[j] / den) : sc * g[j]);
    x[j] = copysign(sqrt(fabs(u)), u);
  }
}

/* eps of the normalized step in the units of a rescaled gradient: the step is
 * g_true/(|g_true| + eps) = g/(|g| + eps exp(-ls)) with g_true = exp(ls) g. +inf when it
 * overflows (then the step is ~0, correctly: |g_true| << eps). */
static double eps_scaled(double eps, double ls) {
  if (eps == 0.0 || ls == 0.0) return eps;
  return exp(log(eps) - ls);
}

hm_status hm_optim_update(hm_optim *o, hm_objective *obj, double loss, int *bad_param) {
  return hm_optim_update_norms(o, obj, loss, NULL, bad_param);
}

hm_status hm_optim_update_norms(hm_optim *o, hm_objective *obj, double loss,
                                const double *gnorms, int *bad_param) {
  if (bad_param) *bad_param = -1;
  const double *ls = obj->grad_log_scale;
  if (ls && !scale_invariant(o))
    return HM_EARG; /* only per-tensor normalized steps are invariant to the scales */
  hm_status st = ensure_state(o, obj);
  if (st != HM_OK) return st;
  /* total gradient norm over trainable tensors (also a finiteness check) */
  double gsq_scale = 0.0; /* total norm accumulated safely: max-scaled sum */
  double norms[64];
  double *nrm = norms, *heap = NULL;
  if (obj->nparam > 64) {
    heap = (double *)malloc((size_t)obj->nparam * sizeof(double));
    if (!heap) return HM_ENOMEM;
    nrm = heap;
  }
  for (int i = 0; i < obj->nparam; i++) {
    const hm_param *q = &obj->param[i];
    nrm[i] = !q->trainable ? 0.0 : gnorms ? gnorms[i] : hm_vnorm2(q->grad, q->size);
    if (!isfinite(nrm[i])) {
      free(heap);
      return HM_ENONFINITE;
    }
    if (nrm[i] > gsq_scale) gsq_scale = nrm[i];
  }
  double gtot = 0.0;
  if (ls) {
    gtot = hm_optim_true_norm(obj, nrm);
  } else if (gsq_scale > 0.0) {
    double s = 0.0;
    for (int i = 0; i < obj->nparam; i++) {
      double r = nrm[i] / gsq_scale;
      s += r * r;
    }
    gtot = gsq_scale * sqrt(s);
  }
  o->last_grad_norm = gtot;

  double eta = o->lr;
  if (o->kind == HM_OPT_POLYAK) {
    double lstar = isnan(o->lstar) ? obj->loss_inf : o->lstar;
    if (isnan(lstar)) {
      free(heap);
      return HM_EARG; /* no L_* known */
    }
    double gap = loss - lstar;
    eta = 0.0;
    if (gap > 0.0 && gtot > 0.0) eta = o->c * (gap / gtot) / gtot;
    if (!(eta <= o->lr_max)) eta = o->lr_max; /* also catches eta = inf */
    if (!isfinite(eta)) eta = 0.0;            /* uncapped and infinite: no step */
  }
  o->last_lr = eta;
  long t = o->t + 1;
  double *state = o->state;
  size_t off = 0;
  double pm1 = o->p - 1.0, inv = 1.0 / (o->p - 1.0), qexp = o->p / (o->p - 1.0);
  double bc1 = 1.0, bc2s = 1.0;
  if (o->kind == HM_OPT_ADAM) {
    bc1 = 1.0 - pow(o->beta1, (double)t);
    bc2s = sqrt(1.0 - pow(o->beta2, (double)t));
  }
  for (int i = 0; i < obj->nparam; i++) {
    hm_param *q = &obj->param[i];
    if (!q->trainable) continue;
    double *x = q->x;
    const double *g = q->grad;
    size_t n = q->size;
    switch (o->kind) {
      case HM_OPT_GD:
      case HM_OPT_POLYAK:
        for (size_t j = 0; j < n; j++) x[j] -= eta * g[j];
        break;
      case HM_OPT_NGD: {
        double e = hm_optim_eps_for(o, q->name);
        double den = nrm[i] + (ls ? eps_scaled(e, ls[i]) : e);
        double sc = den > 0.0 ? eta / den : 0.0;
        if (isfinite(sc)) {
          for (size_t j = 0; j < n; j++) x[j] -= sc * g[j];
        } else { /* subnormal ||g|| with eps = 0: eta/den overflows, |g_j|/den <= 1 does not */
          for (size_t j = 0; j < n; j++) x[j] -= eta * (g[j] / den);
        }
        break;
      }
      case HM_OPT_MOMENTUM: {
        double *v = state + off;
        double b = o->beta;
        if (o->nesterov) {
          for (size_t j = 0; j < n; j++) {
            v[j] = b * v[j] + g[j];
            x[j] -= eta * (g[j] + b * v[j]);
          }
        } else {
          for (size_t j = 0; j < n; j++) {
            v[j] = b * v[j] + g[j];
            x[j] -= eta * v[j];
          }
        }
        off += n;
        break;
      }
      case HM_OPT_ADAM: {
        size_t tot = o->state_size / 2;
        double *m = state + off, *v = state + tot + off;
        double b1 = o->beta1, b2 = o->beta2, e = o->eps, stepsz = eta / bc1;
        for (size_t j = 0; j < n; j++) {
          m[j] = b1 * m[j] + (1.0 - b1) * g[j];
          v[j] = b2 * v[j] + (1.0 - b2) * g[j] * g[j];
          x[j] -= stepsz * (m[j] / (sqrt(v[j]) / bc2s + e));
        }
        off += n;
        break;
      }
      case HM_OPT_MIRROR: {
        double sc = eta;
        /* fast paths: p = 2 (identity maps, |.|^1 is exact: bit for bit the general path) and
         * p = 3 (a|a| and sqrt; q = 3/2 via r sqrt(r)), within ~1 ulp of the pow() path */
        const int fast = o->p == 2.0 ? 2 : o->p == 3.0 ? 3 : 0;
        if (o->normalized) {
          double qn = fast == 2 ? hm_vnorm2(g, n) : fast == 3 ? norm_three_halves(g, n) : hm_normp(g, n, qexp);
          double e = hm_optim_eps_for(o, q->name);
          double den = qn + (ls ? eps_scaled(e, ls[i]) : e);
          sc = den > 0.0 ? eta / den : 0.0;
          if (!isfinite(sc)) { /* subnormal ||g||_q with eps = 0 (see NGD) */
            if (fast) {
              mirror_fast(fast, x, g, n, eta, den, 1);
              break;
            }
            for (size_t j = 0; j < n; j++) {
              double a = x[j];
              double u = copysign(pow(fabs(a), pm1), a) - eta * (g[j] / den);
              x[j] = copysign(pow(fabs(u), inv), u);
            }
            break;
          }
        }
        if (fast) {
          mirror_fast(fast, x, g, n, sc, 1.0, 0);
          break;
        }
        for (size_t j = 0; j < n; j++) {
          double a = x[j];
          double u = copysign(pow(fabs(a), pm1), a) - sc * g[j];
          x[j] = copysign(pow(fabs(u), inv), u);
        }
        break;
      }
      case HM_OPT_STEEPEST:
      case HM_OPT_MUON: {
        /* u = g, or the momentum buffer v <- beta v + g (Nesterov: g + beta v) */
        const double *u = g;
        double *dir = o->work, *wk = o->work + n;
        if (o->beta > 0.0) {
          double *v = state + off, b = o->beta;
          for (size_t j = 0; j < n; j++) v[j] = b * v[j] + g[j];
          if (o->nesterov) {
            for (size_t j = 0; j < n; j++) dir[j] = g[j] + b * v[j];
            /* the direction needs its input apart from its output: stage u behind dir */
            memcpy(wk, dir, n * sizeof(double));
            u = wk;
            wk += n;
          } else {
            u = v;
          }
          off += n;
        }
        if (o->snorm == HM_STEEP_FRO && u == g) { /* NGD with eps = 0 / GD, bit for bit */
          double sc = !o->normalized ? eta : nrm[i] > 0.0 ? eta / nrm[i] : 0.0;
          if (isfinite(sc)) {
            for (size_t j = 0; j < n; j++) x[j] -= sc * g[j];
          } else {
            for (size_t j = 0; j < n; j++) x[j] -= eta * (g[j] / nrm[i]);
          }
          break;
        }
        double dual = 0.0;
        size_t wsz = o->work_size - (size_t)(wk - o->work);
        hm_status sd = hm_steepest_dir((hm_steep_norm)o->snorm, u, q->rows, q->cols, o->ns_steps,
                                       dir, &dual, wk, wsz);
        if (sd != HM_OK) {
          free(heap);
          return sd;
        }
        /* normalized: theta -= eta D; else theta -= eta ||g||_* D (the true steepest step,
         * = GD for the Frobenius norm), with ||g||_* the TRUE gradient's dual norm */
        double sc = eta;
        if (o->kind == HM_OPT_STEEPEST && !o->normalized) sc = eta * dual;
        for (size_t j = 0; j < n; j++) x[j] -= sc * dir[j];
        break;
      }
    }
  }
  free(heap);
  o->t = t;
  for (int i = 0; i < obj->nparam; i++) {
    const hm_param *q = &obj->param[i];
    if (q->trainable && !hm_all_finite(q->x, q->size)) {
      if (bad_param) *bad_param = i;
      return HM_ENONFINITE;
    }
  }
  return HM_OK;
}

hm_status hm_optim_step(hm_optim *o, hm_objective *obj, double *loss, int *bad_param) {
  if (bad_param) *bad_param = -1;
  double L = NAN;
  hm_status s = obj->eval(obj->ctx, 1, &L);
  if (loss) *loss = L;
  if (s != HM_OK) return s;
  if (!isfinite(L)) return HM_ENONFINITE;
  return hm_optim_update(o, obj, L, bad_param);
}
