/* hardmax.optim — optim.regpath: regularization paths (theory.md §D.1, §D.2, §F.10) over
 * the selected parameters of a model; thin layer over hm_regpath.c. */
#include <math.h>
#include <string.h>

#include "hm_loptim.h"
#include "hm_regpath.h"

#define MAXSEL 16

/* option 'params': indices of the selected parameters (default: every trainable one) */
static int read_params(lua_State *L, const hm_objective *obj, int *sel, const char *fn) {
  int nsel = 0;
  if (hmL_optfield(L, 3, "params") == LUA_TTABLE) {
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    if (n < 1 || n > MAXSEL) hmL_error(L, fn, "option 'params': 1 to 16 names expected");
    for (lua_Integer k = 1; k <= n; k++) {
      lua_rawgeti(L, -1, k);
      const char *nm = lua_tostring(L, -1);
      int pi = nm ? hmL_objective_param(obj, nm) : -2;
      if (pi < 0) hmL_error(L, fn, "option 'params': the model has no parameter '%s'", nm ? nm : "?");
      for (int j = 0; j < nsel; j++)
        if (sel[j] == pi) hmL_error(L, fn, "option 'params': '%s' listed twice", nm);
      sel[nsel++] = pi;
      lua_pop(L, 1);
    }
  } else if (!lua_isnil(L, -1)) {
    hmL_error(L, fn, "option 'params': list of parameter names expected");
  } else {
    for (int i = 0; i < obj->nparam && nsel < MAXSEL; i++)
      if (obj->param[i].trainable) sel[nsel++] = i;
    if (nsel == 0) hmL_error(L, fn, "the model has no trainable parameter");
  }
  lua_pop(L, 1);
  return nsel;
}

/* option 'norm' */
static hm_ball_kind read_ball(lua_State *L, const char *fn) {
  hm_ball_kind ball = HM_BALL_L2;
  int t = hmL_optfield(L, 3, "norm");
  if (t == LUA_TSTRING) {
    const char *s = lua_tostring(L, -1);
    if (strcmp(s, "fro") == 0) ball = HM_BALL_L2;
    else if (strcmp(s, "nuc") == 0) ball = HM_BALL_NUC;
    else if (strcmp(s, "inf") == 0) ball = HM_BALL_LINF;
    else hmL_error(L, fn, "option 'norm': 'fro', 'nuc', 1, 2 or math.huge expected, got '%s'", s);
  } else if (t == LUA_TNUMBER) {
    double p = lua_tonumber(L, -1);
    if (p == 2.0) ball = HM_BALL_L2;
    else if (p == 1.0) ball = HM_BALL_L1;
    else if (isinf(p) && p > 0) ball = HM_BALL_LINF;
    else hmL_error(L, fn, "option 'norm': entrywise p-ball for p = %f is not supported (use 1, 2, math.huge, 'fro' or 'nuc')", p);
  } else if (t != LUA_TNIL) {
    hmL_error(L, fn, "option 'norm': string or number expected, got %s", luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  return ball;
}

/* option 'radii' as two fresh arrays left on the stack: *rad, the balls' radii (sqrt(2R) for
 * the (K,Q) ball), and *radR, the radii as given (nr x nb, returned). Returns nr. */
static size_t read_radii(lua_State *L, const hm_objective *obj, const int *sel, int nsel, int kq,
                         int *separate, hm_mat **rad, hm_mat **radR, const char *fn) {
  if (hmL_optfield(L, 3, "radii") != LUA_TTABLE) hmL_error(L, fn, "option 'radii': list expected");
  int ridx = lua_gettop(L);
  size_t nr = (size_t)lua_rawlen(L, ridx);
  if (nr == 0) hmL_error(L, fn, "option 'radii': at least one radius expected");
  lua_rawgeti(L, ridx, 1);
  *separate = lua_istable(L, -1);
  lua_pop(L, 1);
  int nb = *separate ? nsel : 1;
  *rad = hmL_newvec(L, nr * (size_t)nb, fn);
  *radR = hmL_newmat2(L, nr, (size_t)nb, fn);
  for (size_t r = 0; r < nr; r++) {
    lua_rawgeti(L, ridx, (lua_Integer)r + 1);
    if (*separate) {
      if (!lua_istable(L, -1)) hmL_error(L, fn, "option 'radii': entry %I: table expected (all entries alike)", (lua_Integer)r + 1);
      for (int b = 0; b < nsel; b++) {
        const char *nm = obj->param[sel[b]].name;
        const char *alias = strcmp(nm, "v") == 0 ? "r" : strcmp(nm, "p") == 0 ? "R" : NULL;
        int tt = lua_getfield(L, -1, nm);
        if (tt == LUA_TNIL && alias) {
          lua_pop(L, 1);
          tt = lua_getfield(L, -1, alias);
        }
        if (tt != LUA_TNUMBER) hmL_error(L, fn, "option 'radii': entry %I: number expected for '%s'", (lua_Integer)r + 1, nm);
        double v = lua_tonumber(L, -1);
        if (!(v > 0.0 && isfinite(v))) hmL_error(L, fn, "option 'radii': entry %I: radius > 0 expected for '%s', got %f", (lua_Integer)r + 1, nm, v);
        (*rad)->data[r * (size_t)nb + (size_t)b] = v;
        (*radR)->data[r * (size_t)nb + (size_t)b] = v;
        lua_pop(L, 1);
      }
    } else {
      if (!lua_isnumber(L, -1)) hmL_error(L, fn, "option 'radii': entry %I: number expected, got %s", (lua_Integer)r + 1, luaL_typename(L, -1));
      double v = lua_tonumber(L, -1);
      if (!(v > 0.0 && isfinite(v))) hmL_error(L, fn, "option 'radii': entry %I: radius > 0 expected, got %f", (lua_Integer)r + 1, v);
      (*radR)->data[r] = v;
      (*rad)->data[r] = kq ? sqrt(2.0 * v) : v;
    }
    lua_pop(L, 1);
  }
  return nr;
}

/* the result table (theory.md D.1): per-parameter solutions, W, radii, certificates */
static void push_result(lua_State *L, const hm_objective *obj, const hm_regpath_cfg *cfg, size_t N,
                        const hm_mat *radR, int kq, const char *fn) {
  size_t nr = cfg->nradii;
  int nb = cfg->separate ? cfg->nsel : 1;
  lua_newtable(L);
  int out = lua_gettop(L);
  size_t off = 0;
  for (int b = 0; b < cfg->nsel; b++) {
    const hm_param *q = &obj->param[cfg->sel[b]];
    hm_mat *m = q->cols == 1 ? hmL_newmat2(L, nr, q->rows, fn) : hmL_newmat3(L, nr, q->rows, q->cols, fn);
    for (size_t r = 0; r < nr; r++)
      memcpy(m->data + r * q->size, cfg->sol + r * N + off, q->size * sizeof(double));
    off += q->size;
    lua_setfield(L, out, q->name);
  }
  if (cfg->wsol) {
    size_t d = (size_t)sqrt((double)obj->w_size);
    hm_mat *m = hmL_newmat3(L, nr, d, d, fn);
    memcpy(m->data, cfg->wsol, nr * obj->w_size * sizeof(double));
    lua_setfield(L, out, "W");
  }
  const double *per_radius[] = {cfg->loss, cfg->gap, cfg->pgnorm, cfg->kkt};
  const char *per_radius_name[] = {"loss", "gap", "pgnorm", "kkt"};
  hm_mat *v;
  if (nb == 1) {
    v = hmL_newvec(L, nr, fn);
    memcpy(v->data, radR->data, nr * sizeof(double));
    lua_setfield(L, out, "radii");
    v = hmL_newvec(L, nr, fn);
  } else {
    hmL_pushcopy(L, radR, fn);
    lua_setfield(L, out, "radii");
    v = hmL_newmat2(L, nr, (size_t)nb, fn);
  }
  memcpy(v->data, cfg->norm, nr * (size_t)nb * sizeof(double));
  if (kq) /* report R = (|K|^2 + |Q|^2)/2 */
    for (size_t r = 0; r < nr; r++) v->data[r] = 0.5 * v->data[r] * v->data[r];
  lua_setfield(L, out, "norm");
  for (int k = 0; k < 4; k++) {
    v = hmL_newvec(L, nr, fn);
    memcpy(v->data, per_radius[k], nr * sizeof(double));
    lua_setfield(L, out, per_radius_name[k]);
  }
  hm_mat *stv = hmL_newvec(L, nr, fn);
  for (size_t r = 0; r < nr; r++) stv->data[r] = (double)cfg->start_used[r];
  lua_setfield(L, out, "start");
  hm_mat *itv = hmL_newvec(L, nr, fn);
  lua_createtable(L, (int)nr, 0);
  for (size_t r = 0; r < nr; r++) {
    itv->data[r] = (double)cfg->iters[r];
    lua_pushboolean(L, cfg->converged[r]);
    lua_rawseti(L, -2, (lua_Integer)r + 1);
  }
  lua_setfield(L, out, "converged");
  lua_setfield(L, out, "iters");
  lua_pushstring(L, cfg->ball == HM_BALL_L2 ? (kq ? "fro (K,Q): |K|^2+|Q|^2 <= 2R" : "fro") :
                    cfg->ball == HM_BALL_NUC ? "nuc" : cfg->ball == HM_BALL_L1 ? "l1" : "linf");
  lua_setfield(L, out, "ball");
}

/* scratch vector of n doubles (zero-filled), left on the stack */
static double *scratch(lua_State *L, size_t n, const char *fn) { return hmL_newvec(L, n, fn)->data; }

int hmL_optim_regpath(lua_State *L) {
  const char *fn = "optim.regpath";
  static const char *const keys[] = {"radii", "norm", "params", "iters", "tol", "check", "linf",
                                     "restarts", "seed", NULL};
  hmL_optim_normalize_args(L, 1, fn);
  hmL_optim_check_idle(L, 1, 0, fn);
  hm_objective *obj = hmL_optim_objective(L, 1, 2, fn);
  if (lua_isnil(L, 3)) hmL_error(L, fn, "options table with radii = {...} expected");
  hmL_checkoptions(L, 3, fn, keys);
  int sel[MAXSEL];
  int nsel = read_params(L, obj, sel, fn);
  hm_ball_kind ball = read_ball(L, fn);
  if (ball == HM_BALL_NUC && (nsel != 1 || obj->param[sel[0]].cols < 2))
    hmL_error(L, fn, "norm = 'nuc' needs exactly one matrix parameter (e.g. params = {'W'}); "
                     "for (K,Q) use norm = 'fro', whose ball |K|^2 + |Q|^2 <= 2R is a nuclear ball in W");
  int kq = ball == HM_BALL_L2 && nsel == 2 &&
           ((strcmp(obj->param[sel[0]].name, "K") == 0 && strcmp(obj->param[sel[1]].name, "Q") == 0) ||
            (strcmp(obj->param[sel[0]].name, "Q") == 0 && strcmp(obj->param[sel[1]].name, "K") == 0));
  int separate;
  hm_mat *rad, *radR;
  size_t nr = read_radii(L, obj, sel, nsel, kq, &separate, &rad, &radR, fn);
  kq = kq && !separate; /* separate balls on K and Q are plain Frobenius balls */
  int nb = separate ? nsel : 1;
  lua_Integer iters = hmL_optinteger(L, 3, "iters", 2000, fn);
  if (iters < 0) hmL_error(L, fn, "option 'iters': integer >= 0 expected");
  lua_Integer check = hmL_optinteger(L, 3, "check", 10, fn);
  if (check < 1) hmL_error(L, fn, "option 'check': integer >= 1 expected");
  double tol = hmL_optnumber(L, 3, "tol", 1e-8, fn);
  if (!(tol >= 0.0)) hmL_error(L, fn, "option 'tol': number >= 0 expected");
  size_t N = 0;
  for (int b = 0; b < nsel; b++) N += obj->param[sel[b]].size;
  int want_w = obj->effective_w && obj->w_size > 0;
  hm_regpath_cfg cfg = {.ball = ball, .nsel = nsel, .sel = sel, .separate = separate, .nradii = nr,
                        .radii = rad->data, .max_iter = (long)iters, .check = (long)check, .tol = tol};
  cfg.sol = scratch(L, nr * N, fn);
  cfg.wsol = want_w ? scratch(L, nr * obj->w_size, fn) : NULL;
  cfg.loss = scratch(L, nr, fn);
  cfg.norm = scratch(L, nr * (size_t)nb, fn);
  cfg.gap = scratch(L, nr, fn);
  cfg.pgnorm = scratch(L, nr, fn);
  cfg.iters = (long *)lua_newuserdatauv(L, nr * sizeof(long), 0);
  cfg.converged = (int *)lua_newuserdatauv(L, nr * sizeof(int), 0);
  cfg.kkt = scratch(L, nr, fn);
  lua_Integer restarts = hmL_optinteger(L, 3, "restarts", 0, fn);
  if (restarts < 0 || restarts > 1000000) hmL_error(L, fn, "option 'restarts': integer in [0, 1e6] expected");
  lua_Integer seed = hmL_optinteger(L, 3, "seed", 0, fn);
  cfg.restarts = (int)restarts;
  cfg.seed = (unsigned long long)seed;
  cfg.start_used = (int *)lua_newuserdatauv(L, nr * sizeof(int), 0);
  double linf = hmL_optnumber(L, 3, "linf", obj->loss_inf, fn);
  if (isinf(linf)) hmL_error(L, fn, "option 'linf': finite number expected");
  double saved_inf = obj->loss_inf;
  obj->loss_inf = linf;
  hm_status st = hm_regpath_run(obj, &cfg);
  obj->loss_inf = saved_inf;
  if (st == HM_ENONFINITE) hmL_error(L, fn, "the loss or its gradient is not finite at a start point");
  hmL_check(L, fn, st);
  push_result(L, obj, &cfg, N, radR, kq, fn);
  return 1;
}
