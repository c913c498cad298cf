/* Finite-difference check of an objective's gradient (hm_objective.h): the models built on the
 * objective interface alone (the NTP models) share it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hm_objective.h"

hm_status hm_objective_gradcheck(hm_objective *o, double h, double *maxrel) {
  double loss, lp, lm;
  *maxrel = 0;
  hm_status st = o->eval(o->ctx, 1, &loss);
  if (st != HM_OK) return st;
  for (int k = 0; k < o->nparam; k++) {
    hm_param *p = &o->param[k];
    if (!p->trainable) continue;
    double *g0 = malloc((p->size ? p->size : 1) * sizeof *g0), maxfd = 0, maxerr = 0;
    if (!g0) return HM_ENOMEM;
    memcpy(g0, p->grad, p->size * sizeof *g0);
    for (size_t j = 0; j < p->size && st == HM_OK; j++) {
      double x0 = p->x[j];
      p->x[j] = x0 + h;
      st = o->eval(o->ctx, 0, &lp);
      p->x[j] = x0 - h;
      if (st == HM_OK) st = o->eval(o->ctx, 0, &lm);
      p->x[j] = x0;
      double fd = (lp - lm) / (2 * h);
      maxfd = fmax(maxfd, fabs(fd));
      maxerr = fmax(maxerr, fabs(fd - g0[j]));
    }
    free(g0);
    if (st != HM_OK) return st;
    *maxrel = fmax(*maxrel, maxerr / fmax(maxfd, 1e-300));
  }
  return HM_OK;
}
