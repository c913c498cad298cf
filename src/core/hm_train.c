/* The training loop with in-C recorders (see hm_train.h). */
#include "hm_train.h"

#include <math.h>
#include <string.h>

#include "hm_interrupt.h"

long hm_train_rows(long iters, long every) {
  if (iters < 0 || every < 1) return 0;
  long r = iters / every + 1;
  if (iters % every) r++;
  return r;
}

static size_t tensor_size(const hm_objective *obj, int param) {
  return param < 0 ? obj->w_size : obj->param[param].size;
}

hm_status hm_train_prepare(const hm_objective *obj, hm_recorder *rec, int nrec) {
  for (int r = 0; r < nrec; r++) {
    hm_recorder *c = &rec[r];
    if (c->param >= obj->nparam) return HM_EARG;
    c->width = 1;
    switch (c->kind) {
      case HM_REC_VALUE:
      case HM_REC_CORR:
      case HM_REC_BREGMAN:
        if (c->param < 0 && (!obj->effective_w || obj->w_size == 0)) return HM_EARG;
        if (c->kind == HM_REC_VALUE) c->width = tensor_size(obj, c->param);
        else if (!c->target) return HM_EARG;
        if (c->kind == HM_REC_BREGMAN && !(c->p > 1.0 && isfinite(c->p))) return HM_EARG;
        break;
      case HM_REC_SOFTMAX_MAX:
        if (!obj->probs || obj->T == 0 || obj->probs_size == 0) return HM_EARG;
        break;
      case HM_REC_SOFTMAX_AT:
        if (!obj->probs || obj->probs_size != obj->n * obj->T || !c->idx) return HM_EARG;
        for (size_t i = 0; i < obj->n; i++)
          if (c->idx[i] >= obj->T) return HM_EARG;
        break;
      default:
        break;
    }
  }
  return HM_OK;
}

/* Joint norm of the trainable gradients (grad = 1) or parameters; the per-tensor norms go
 * to out (first 64 parameters) when non-NULL. */
static double total_norm(const hm_objective *obj, int grad, double *out) {
  double amax = 0.0, nrm[64];
  int np = obj->nparam < 64 ? obj->nparam : 64;
  double acc = 0.0;
  for (int i = 0; i < obj->nparam; i++) {
    const hm_param *q = &obj->param[i];
    double v = q->trainable ? hm_vnorm2(grad ? q->grad : q->x, q->size) : 0.0;
    if (i < 64) nrm[i] = v;
    else acc += v * v;
    if (out && i < 64) out[i] = v;
    if (!(v <= amax)) amax = v;
  }
  if (amax == 0.0 || !isfinite(amax)) return amax;
  double s = 0.0;
  for (int i = 0; i < np; i++) {
    double r = nrm[i] / amax;
    s += r * r;
  }
  return amax * sqrt(s + acc / amax / amax);
}

static hm_status record_row(const hm_objective *obj, hm_train_cfg *cfg, long row, double loss,
                            double gnorm) {
  int have_w = 0, have_s = 0;
  const double *probs = cfg->sbuf;
  for (int r = 0; r < cfg->nrec; r++) {
    hm_recorder *c = &cfg->rec[r];
    double *out = c->out + (size_t)row * c->width;
    const double *src = NULL;
    size_t n = 0;
    if (c->kind == HM_REC_VALUE || c->kind == HM_REC_CORR || c->kind == HM_REC_BREGMAN) {
      if (c->param < 0) {
        if (!have_w) {
          hm_status s = obj->effective_w(obj->ctx, cfg->wbuf);
          if (s != HM_OK) return s;
          have_w = 1;
        }
        src = cfg->wbuf;
        n = obj->w_size;
      } else {
        src = obj->param[c->param].x;
        n = obj->param[c->param].size;
      }
    }
    if ((c->kind == HM_REC_SOFTMAX_MAX || c->kind == HM_REC_SOFTMAX_AT) && !have_s) {
      if (obj->eval_probs) { /* recorded right after the eval: its probabilities */
        probs = obj->eval_probs;
      } else {
        hm_status s = obj->probs(obj->ctx, cfg->sbuf);
        if (s != HM_OK) return s;
      }
      have_s = 1;
    }
    switch (c->kind) {
      case HM_REC_LOSS: *out = loss; break;
      case HM_REC_GRAD_NORM: /* the true norm also in the rescaled-direction mode */
        *out = c->param < 0 ? gnorm
                            : hm_scaled_norm(hm_vnorm2(obj->param[c->param].grad, obj->param[c->param].size),
                                             obj->grad_log_scale ? obj->grad_log_scale[c->param] : 0.0);
        break;
      case HM_REC_PARAM_NORM:
        *out = c->param < 0 ? total_norm(obj, 0, NULL)
                            : hm_vnorm2(obj->param[c->param].x, obj->param[c->param].size);
        break;
      case HM_REC_VALUE: memcpy(out, src, n * sizeof(double)); break;
      case HM_REC_CORR: *out = hm_corr(src, c->target, n); break;
      case HM_REC_BREGMAN: *out = hm_bregman_dir(c->target, src, n, c->p); break;
      case HM_REC_SOFTMAX_MAX: {
        size_t T = obj->T, rows = obj->probs_size / T;
        double s = 0.0;
        for (size_t i = 0; i < rows; i++) {
          const double *pr = probs + i * T;
          double mx = pr[0];
          for (size_t t = 1; t < T; t++)
            if (pr[t] > mx) mx = pr[t];
          s += mx;
        }
        *out = s / (double)rows;
        break;
      }
      case HM_REC_SOFTMAX_AT: {
        double s = 0.0;
        for (size_t i = 0; i < obj->n; i++) s += probs[i * obj->T + c->idx[i]];
        *out = s / (double)obj->n;
        break;
      }
      case HM_REC_MIN_LOGIT_GAP: *out = obj->min_logit_gap; break;
      case HM_REC_LR: *out = NAN; break; /* filled after the update */
      case HM_REC_GRAD_UNDERFLOW: *out = obj->grad_underflow ? 1.0 : 0.0; break;
    }
  }
  return HM_OK;
}

hm_status hm_train_run(hm_optim *o, hm_objective *obj, hm_train_cfg *cfg, hm_train_result *res) {
  memset(res, 0, sizeof *res);
  res->status = HM_TRAIN_OK;
  res->bad_param = -1;
  res->final_loss = NAN;
  if (cfg->iters < 0 || cfg->every < 1) return HM_EARG;
  hm_status st = hm_train_prepare(obj, cfg->rec, cfg->nrec);
  if (st != HM_OK) return st;
  for (int r = 0; r < cfg->nrec; r++) {
    hm_recorder *c = &cfg->rec[r];
    if (c->kind == HM_REC_VALUE && c->param < 0 && !cfg->wbuf) return HM_EARG;
    if ((c->kind == HM_REC_CORR || c->kind == HM_REC_BREGMAN) && c->param < 0 && !cfg->wbuf)
      return HM_EARG;
    if ((c->kind == HM_REC_SOFTMAX_MAX || c->kind == HM_REC_SOFTMAX_AT) && !cfg->sbuf)
      return HM_EARG;
  }
  int want_lr = 0;
  for (int r = 0; r < cfg->nrec; r++)
    if (cfg->rec[r].kind == HM_REC_LR) want_lr = 1;
  const hm_train_stop *sp = &cfg->stop;
  long row = 0;
  for (long k = 0;; k++) {
    if (hm_interrupted()) {
      res->status = HM_TRAIN_INTERRUPTED;
      res->step = k;
      break;
    }
    double L = NAN;
    st = obj->eval(obj->ctx, 1, &L);
    if (st == HM_ENONFINITE || (st == HM_OK && !isfinite(L))) {
      res->status = isfinite(L) ? HM_TRAIN_DIVERGED_GRAD : HM_TRAIN_DIVERGED_LOSS;
      res->step = k;
      res->final_loss = L;
      break;
    }
    if (st != HM_OK) {
      res->status = HM_TRAIN_ERROR;
      res->err = st;
      res->step = k;
      break;
    }
    res->final_loss = L;
    double gnorms[64];
    double gn = total_norm(obj, 1, gnorms);
    if (!isfinite(gn)) {
      res->status = HM_TRAIN_DIVERGED_GRAD;
      res->step = k;
      break;
    }
    /* gn: norm of the gradient buffers (zero iff there is no direction); gt: the true norm
     * (differs in the rescaled-direction mode, where it may underflow to 0) */
    double gt = obj->grad_log_scale ? hm_optim_true_norm(obj, obj->nparam <= 64 ? gnorms : NULL) : gn;
    int final = (k == cfg->iters);
    if (!final) {
      if (gn == 0.0) {
        res->status = HM_TRAIN_UNDERFLOW;
      } else if (L <= sp->loss_below) {
        res->status = HM_TRAIN_STOPPED;
        res->stop_reason = 0;
      } else if (gt <= sp->grad_norm_below) {
        res->status = HM_TRAIN_STOPPED;
        res->stop_reason = 1;
      } else if (sp->param_norm_above > 0.0 && total_norm(obj, 0, NULL) >= sp->param_norm_above) {
        res->status = HM_TRAIN_STOPPED;
        res->stop_reason = 2;
      }
      if (res->status != HM_TRAIN_OK) {
        res->step = k;
        final = 1;
      }
    }
    int recorded = 0;
    if (k % cfg->every == 0 || final) {
      st = record_row(obj, cfg, row, L, gt);
      if (st != HM_OK) {
        res->status = HM_TRAIN_ERROR;
        res->err = st;
        res->step = k;
        break;
      }
      if (cfg->steps) cfg->steps[row] = (double)k;
      row++;
      recorded = 1;
      if (cfg->callback) {
        int c = cfg->callback(cfg->cb_ud, k);
        if (c != 0) {
          res->status = c > 0 ? HM_TRAIN_CALLBACK : HM_TRAIN_CALLBACK_ERROR;
          res->step = k;
          break;
        }
      }
    }
    if (final) break;
    int bad = -1;
    st = obj->nparam <= 64 ? hm_optim_update_norms(o, obj, L, gnorms, &bad)
                           : hm_optim_update(o, obj, L, &bad);
    if (recorded && want_lr)
      for (int r = 0; r < cfg->nrec; r++)
        if (cfg->rec[r].kind == HM_REC_LR) cfg->rec[r].out[row - 1] = o->last_lr;
    if (st == HM_ENONFINITE) {
      res->status = bad >= 0 ? HM_TRAIN_DIVERGED_PARAM : HM_TRAIN_DIVERGED_GRAD;
      res->bad_param = bad;
      res->step = k;
      if (bad >= 0) res->iters++;
      break;
    }
    if (st != HM_OK) {
      res->status = HM_TRAIN_ERROR;
      res->err = st;
      res->step = k;
      break;
    }
    res->iters++;
  }
  res->rows = row;
  return HM_OK;
}
