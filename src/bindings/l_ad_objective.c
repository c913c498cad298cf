/* hardmax.ad — tracing: ad.grad(f, params) and ad.objective(f, params). f runs once on
 * variable nodes (one per parameter mat, in name order); the recorded tape is then replayed
 * in C for every evaluation: the objective's hm_objective (hm_objective.h) lets optim.train,
 * opt:step and optim.regpath drive it exactly like a model. Variables alias the parameter
 * mats (optimizer updates are visible in them); every other input is a constant copied at
 * trace time. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hm_lad.h"

#define MAXP 32

typedef struct hm_adobj {
  hm_objective obj;
  hm_param param[MAXP];
  int var[MAXP];       /* variable node of each parameter */
  hm_lmat *pm[MAXP];   /* the parameter mats (to refuse closed ones) */
  int out;             /* the loss node */
  int wnode, pnode;    /* outputs W and probs, -1 if absent */
  hm_ltape *tp;
} hm_adobj;

static hm_status adobj_eval(void *ctx, int want_grad, double *loss) {
  hm_adobj *o = (hm_adobj *)ctx;
  hm_tape *t = &o->tp->t;
  *loss = NAN;
  hm_tape_invalidate(t);
  hm_status s = hm_tape_eval(t, o->out);
  if (s) return s;
  *loss = t->node[o->out].val[0];
  o->obj.eval_probs = NULL; /* probs are evaluated (lazily) only when recorded */
  if (!isfinite(*loss)) return HM_ENONFINITE;
  if (!want_grad) return HM_OK;
  if ((s = hm_tape_backward(t, o->out))) return s;
  for (int k = 0; k < o->obj.nparam; k++)
    if (!hm_all_finite(o->param[k].grad, o->param[k].size)) return HM_ENONFINITE;
  return HM_OK;
}

/* outputs W and probs at the parameters of the last evaluation (the training loop records
 * right after evaluating); W is computed only here when the loss does not need it */
static hm_status adobj_effw(void *ctx, double *W) {
  hm_adobj *o = (hm_adobj *)ctx;
  hm_status s = hm_tape_eval(&o->tp->t, o->wnode);
  if (s) return s;
  memcpy(W, o->tp->t.node[o->wnode].val, o->obj.w_size * sizeof(double));
  return HM_OK;
}

static hm_status adobj_probs(void *ctx, double *S) {
  hm_adobj *o = (hm_adobj *)ctx;
  hm_status s = hm_tape_eval(&o->tp->t, o->pnode);
  if (s) return s;
  memcpy(S, o->tp->t.node[o->pnode].val, o->obj.probs_size * sizeof(double));
  return HM_OK;
}

int hmL_ad_owns(const hm_objective *obj) { return obj->eval == adobj_eval; }

int hmL_ad_isobjective(lua_State *L, int idx) { return luaL_testudata(L, idx, HM_ADOBJ_TNAME) != NULL; }

static hm_adobj *checkobj(lua_State *L, int idx, const char *fn) {
  hm_adobj *o = (hm_adobj *)luaL_testudata(L, idx, HM_ADOBJ_TNAME);
  if (!o) hmL_argerror(L, fn, idx, "ad objective expected, got %s", luaL_typename(L, idx));
  for (int k = 0; k < o->obj.nparam; k++)
    if (o->pm[k]->closed) hmL_error(L, fn, "parameter '%s': its mat was closed", o->param[k].name);
  return o;
}

hm_objective *hmL_ad_objective(lua_State *L, int idx, const char *fn) { return &checkobj(L, idx, fn)->obj; }

static int cmp_names(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* The parameter table at pidx: names sorted, into a fresh table name -> mat (pushed) */
static int read_params(lua_State *L, int pidx, const char **names, const char *fn) {
  if (lua_type(L, pidx) != LUA_TTABLE)
    hmL_argerror(L, fn, pidx, "table of parameters {name = mat, ...} expected, got %s", luaL_typename(L, pidx));
  lua_newtable(L);
  int copy = lua_gettop(L), np = 0;
  lua_pushnil(L);
  while (lua_next(L, pidx)) {
    if (lua_type(L, -2) != LUA_TSTRING) hmL_argerror(L, fn, pidx, "parameter names must be strings");
    const char *nm = lua_tostring(L, -2);
    hm_mat *m = hmL_testmat(L, -1);
    if (!m) hmL_argerror(L, fn, pidx, "parameter '%s': mat expected, got %s", nm, luaL_typename(L, -1));
    if (((hm_lmat *)m)->closed) hmL_argerror(L, fn, pidx, "parameter '%s': mat was closed", nm);
    if (np == MAXP) hmL_argerror(L, fn, pidx, "at most %d parameters", MAXP);
    lua_pushvalue(L, -2);
    lua_pushvalue(L, -2);
    lua_rawset(L, copy); /* copy[name] = mat: the name string stays anchored there */
    names[np++] = nm;
    lua_pop(L, 1);
  }
  if (np == 0) hmL_argerror(L, fn, pidx, "at least one parameter expected");
  qsort(names, (size_t)np, sizeof *names, cmp_names);
  return np;
}

static int overlap(const hm_mat *a, const hm_mat *b) {
  return a->size && b->size && a->data < b->data + b->size && b->data < a->data + a->size;
}

/* output `name` of the trace (a node of tape tp, or nil): node id or -1 */
static int output_node(lua_State *L, int outs, const char *name, hm_ltape *tp, const char *fn) {
  lua_getfield(L, outs, name);
  int id = -1;
  if (!lua_isnil(L, -1)) {
    hm_lnode *u = hmL_ad_testnode(L, -1);
    if (!u || u->tp != tp) hmL_error(L, fn, "output '%s' of the function: ad node of its trace expected", name);
    id = u->id;
  }
  lua_pop(L, 1);
  return id;
}

static void set_outputs(lua_State *L, hm_adobj *o, int outs, const char *fn) {
  hm_tape *t = &o->tp->t;
  o->wnode = output_node(L, outs, "W", o->tp, fn);
  o->pnode = output_node(L, outs, "probs", o->tp, fn);
  for (int k = 0; k < o->obj.nparam && o->wnode < 0; k++) /* else a parameter W is the W */
    if (strcmp(o->param[k].name, "W") == 0 && t->node[o->var[k]].rank == 2 &&
        t->node[o->var[k]].dim[0] == t->node[o->var[k]].dim[1])
      o->wnode = o->var[k];
  if (o->wnode >= 0) {
    const hm_ad_node *w = &t->node[o->wnode];
    if (w->rank != 2 || w->dim[0] != w->dim[1]) hmL_error(L, fn, "output 'W': square matrix expected");
    o->obj.effective_w = adobj_effw;
    o->obj.w_size = w->size;
  }
  if (o->pnode >= 0) {
    const hm_ad_node *p = &t->node[o->pnode];
    if (p->rank < 2) hmL_error(L, fn, "output 'probs': n x T (or n x T x T) probabilities expected");
    o->obj.probs = adobj_probs;
    o->obj.n = p->dim[0];
    o->obj.T = p->dim[p->rank - 1];
    o->obj.probs_size = p->size;
  }
}

/* Trace f (fidx) over params (pidx); push the objective. */
static hm_adobj *trace(lua_State *L, int fidx, int pidx, const char *fn) {
  fidx = lua_absindex(L, fidx);
  pidx = lua_absindex(L, pidx);
  if (!lua_isfunction(L, fidx)) hmL_argerror(L, fn, fidx, "function expected, got %s", luaL_typename(L, fidx));
  const char *names[MAXP];
  int np = read_params(L, pidx, names, fn);
  int copy = lua_gettop(L);
  hm_ltape *tp = hmL_ad_newtape(L);
  int tidx = lua_gettop(L);
  hm_adobj *o = (hm_adobj *)lua_newuserdatauv(L, sizeof(hm_adobj), 3);
  memset(o, 0, sizeof *o);
  o->tp = tp;
  o->out = o->wnode = o->pnode = -1;
  luaL_setmetatable(L, HM_ADOBJ_TNAME);
  int oidx = lua_gettop(L);
  lua_pushvalue(L, tidx);
  lua_setiuservalue(L, oidx, 1);
  lua_pushvalue(L, copy);
  lua_setiuservalue(L, oidx, 2);
  lua_getiuservalue(L, tidx, 1); /* the tape pins the mats too: variables alias them */
  lua_pushvalue(L, copy);
  lua_rawseti(L, -2, 1);
  lua_pop(L, 1);
  lua_newtable(L); /* the argument of f: name -> variable node */
  int vars = lua_gettop(L);
  for (int k = 0; k < np; k++) {
    lua_getfield(L, copy, names[k]);
    hm_lmat *lm = (hm_lmat *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    for (int j = 0; j < k; j++)
      if (overlap(&lm->m, &o->pm[j]->m))
        hmL_argerror(L, fn, pidx, "parameters '%s' and '%s' share storage", names[j], names[k]);
    o->pm[k] = lm;
    hmL_check(L, fn, hm_ad_var(&tp->t, lm->m.rank, lm->m.dim, lm->m.data, &o->var[k]));
    hm_param *p = &o->param[k];
    p->name = names[k];
    p->x = lm->m.data;
    p->size = lm->m.size;
    p->cols = lm->m.rank == 1 ? 1 : lm->m.dim[lm->m.rank - 1];
    p->rows = p->cols ? p->size / p->cols : 0;
    p->trainable = 1;
    hmL_ad_pushnode(L, tidx, o->var[k]);
    lua_setfield(L, vars, names[k]);
  }
  for (int k = 0; k < np; k++) o->param[k].grad = tp->t.node[o->var[k]].grad; /* stable heap buffers */
  /* run f with this tape as the trace in progress (restored on error too) */
  lua_getfield(L, LUA_REGISTRYINDEX, HM_AD_CURRENT);
  int prev = lua_gettop(L);
  lua_pushvalue(L, tidx);
  lua_setfield(L, LUA_REGISTRYINDEX, HM_AD_CURRENT);
  lua_pushvalue(L, fidx);
  lua_pushvalue(L, vars);
  int st = lua_pcall(L, 1, 2, 0);
  lua_pushvalue(L, prev);
  lua_setfield(L, LUA_REGISTRYINDEX, HM_AD_CURRENT);
  tp->open = 0;
  if (st != LUA_OK) lua_error(L);
  int res = lua_gettop(L) - 1;
  hm_lnode *u = hmL_ad_testnode(L, res);
  if (!u || u->tp != tp) hmL_error(L, fn, "the function must return an ad node of its trace (the loss), got %s", luaL_typename(L, res));
  const hm_ad_node *loss = &tp->t.node[u->id];
  char b[80];
  if (loss->size != 1) hmL_error(L, fn, "the loss must have one element, got shape %s (use ad.sum or ad.mean)", hm_ad_shapestr(loss->rank, loss->dim, b));
  o->out = u->id;
  if (!lua_isnil(L, res + 1) && !lua_istable(L, res + 1))
    hmL_error(L, fn, "second result of the function: table of output nodes expected, got %s", luaL_typename(L, res + 1));
  lua_newtable(L);
  int outs = lua_gettop(L);
  if (lua_istable(L, res + 1)) {
    lua_pushnil(L);
    while (lua_next(L, res + 1)) {
      hm_lnode *w = hmL_ad_testnode(L, -1);
      if (lua_type(L, -2) != LUA_TSTRING || !w || w->tp != tp)
        hmL_error(L, fn, "second result of the function: {name = node, ...} of its trace expected");
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, outs);
    }
  }
  lua_pushvalue(L, res);
  lua_setfield(L, outs, "loss");
  lua_pushvalue(L, outs);
  lua_setiuservalue(L, oidx, 3);
  hm_objective *ob = &o->obj;
  ob->ctx = o;
  ob->nparam = np;
  ob->param = o->param;
  ob->eval = adobj_eval;
  ob->loss_inf = NAN;
  ob->min_logit_gap = NAN;
  set_outputs(L, o, outs, fn);
  lua_pushvalue(L, oidx);
  lua_replace(L, copy); /* leave only the objective */
  lua_settop(L, copy);
  return o;
}

/* raise for a failed evaluation */
static void eval_check(lua_State *L, hm_adobj *o, hm_status s, const char *fn) {
  if (s == HM_ENONFINITE) {
    for (int k = 0; k < o->obj.nparam; k++)
      if (!hm_all_finite(o->param[k].x, o->param[k].size)) hmL_error(L, fn, "parameter '%s' contains NaN or Inf", o->param[k].name);
    hmL_error(L, fn, "the loss or a gradient is not finite");
  }
  hmL_check(L, fn, s);
}

/* table name -> copy of each gradient */
static void push_grads(lua_State *L, hm_adobj *o, const char *fn) {
  lua_createtable(L, 0, o->obj.nparam);
  for (int k = 0; k < o->obj.nparam; k++) {
    hm_mat g = o->pm[k]->m;
    g.data = o->param[k].grad;
    hmL_pushcopy(L, &g, fn);
    lua_setfield(L, -2, o->param[k].name);
  }
}

int hmL_ad_grad(lua_State *L) {
  const char *fn = "ad.grad";
  lua_settop(L, 2);
  hm_adobj *o = trace(L, 1, 2, fn);
  double loss;
  eval_check(L, o, adobj_eval(o, 1, &loss), fn);
  lua_pushnumber(L, loss);
  push_grads(L, o, fn);
  return 2;
}

int hmL_ad_objective_new(lua_State *L) {
  lua_settop(L, 2);
  trace(L, 1, 2, "ad.objective");
  return 1;
}

void hmL_ad_objective_replace(lua_State *L, int fidx, int pidx, const char *fn) {
  fidx = lua_absindex(L, fidx);
  trace(L, fidx, pidx, fn);
  lua_replace(L, fidx);
}

/* ---- objective methods --------------------------------------------------------------------- */

static int obj_eval(lua_State *L) {
  const char *fn = "obj:eval";
  hm_adobj *o = checkobj(L, 1, fn);
  double loss;
  eval_check(L, o, adobj_eval(o, 0, &loss), fn);
  lua_pushnumber(L, loss);
  return 1;
}

static int obj_grad(lua_State *L) {
  const char *fn = "obj:grad";
  hm_adobj *o = checkobj(L, 1, fn);
  double loss;
  eval_check(L, o, adobj_eval(o, 1, &loss), fn);
  lua_pushnumber(L, loss);
  push_grads(L, o, fn);
  return 2;
}

static int obj_value(lua_State *L) {
  const char *fn = "obj:value";
  hm_adobj *o = checkobj(L, 1, fn);
  if (!lua_isnoneornil(L, 2) && lua_type(L, 2) != LUA_TSTRING)
    hmL_argerror(L, fn, 2, "output name expected, got %s", luaL_typename(L, 2));
  const char *name = luaL_optstring(L, 2, "loss");
  lua_getiuservalue(L, 1, 3);
  lua_getfield(L, -1, name);
  hm_lnode *u = hmL_ad_testnode(L, -1);
  if (!u) hmL_argerror(L, fn, 2, "no output '%s' (the function's second result names the outputs)", name);
  hm_tape_invalidate(&o->tp->t);
  hmL_check(L, fn, hm_tape_eval(&o->tp->t, u->id));
  const hm_ad_node *y = &o->tp->t.node[u->id];
  hm_mat m;
  hm_mat_init(&m, y->rank, y->dim, y->val);
  hmL_pushcopy(L, &m, fn);
  return 1;
}

static int obj_params(lua_State *L) {
  checkobj(L, 1, "obj:params");
  lua_getiuservalue(L, 1, 2);
  lua_newtable(L); /* a fresh table (the objective's own stays intact) */
  lua_pushnil(L);
  while (lua_next(L, -3)) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -4);
  }
  return 1;
}

/* Central differences with step h on every parameter entry: per-parameter
 * max_j |g_j - fd_j| / max(max_j |fd_j|, 1e-300), as m:gradcheck. */
static int obj_gradcheck(lua_State *L) {
  const char *fn = "obj:gradcheck";
  hm_adobj *o = checkobj(L, 1, fn);
  static const char *const keys[] = {"h", NULL};
  hmL_checkoptions(L, 2, fn, keys);
  double h = hmL_optnumber(L, 2, "h", 1e-6, fn);
  if (!(h > 0 && isfinite(h))) hmL_error(L, fn, "option 'h': positive number expected");
  double loss;
  eval_check(L, o, adobj_eval(o, 1, &loss), fn);
  size_t tot = 0;
  for (int k = 0; k < o->obj.nparam; k++) tot += o->param[k].size;
  double *g = hmL_newvec(L, tot ? tot : 1, fn)->data;
  size_t off = 0;
  for (int k = 0; k < o->obj.nparam; k++) {
    memcpy(g + off, o->param[k].grad, o->param[k].size * sizeof(double));
    off += o->param[k].size;
  }
  lua_newtable(L);
  double worst = 0;
  hm_tape *t = &o->tp->t;
  off = 0;
  for (int k = 0; k < o->obj.nparam; k++) {
    hm_param *p = &o->param[k];
    double maxerr = 0, maxfd = 0;
    for (size_t j = 0; j < p->size; j++) {
      double x = p->x[j];
      p->x[j] = x + h;
      hm_tape_invalidate(t);
      hmL_check(L, fn, hm_tape_eval(t, o->out));
      double lp = t->node[o->out].val[0];
      p->x[j] = x - h;
      hm_tape_invalidate(t);
      hmL_check(L, fn, hm_tape_eval(t, o->out));
      double lm = t->node[o->out].val[0];
      p->x[j] = x;
      double fd = (lp - lm) / (2 * h);
      maxerr = fmax(maxerr, fabs(g[off + j] - fd));
      maxfd = fmax(maxfd, fabs(fd));
    }
    off += p->size;
    double rel = maxerr / fmax(maxfd, 1e-300);
    worst = fmax(worst, rel);
    lua_pushnumber(L, rel);
    lua_setfield(L, -2, p->name);
  }
  hm_tape_invalidate(t);
  hmL_check(L, fn, hm_tape_eval(t, o->out));
  lua_pushnumber(L, worst);
  lua_insert(L, -2);
  return 2;
}

static int obj_tostring(lua_State *L) {
  hm_adobj *o = (hm_adobj *)luaL_checkudata(L, 1, HM_ADOBJ_TNAME);
  lua_pushfstring(L, "ad.objective(%d parameters, %d nodes)", o->obj.nparam, o->tp->t.n);
  return 1;
}

void hmL_ad_objective_register(lua_State *L) {
  static const luaL_Reg meta[] = {{"__tostring", obj_tostring}, {NULL, NULL}};
  static const luaL_Reg methods[] = {{"eval", obj_eval}, {"grad", obj_grad}, {"value", obj_value},
                                     {"params", obj_params}, {"gradcheck", obj_gradcheck}, {NULL, NULL}};
  hmL_newtype(L, HM_ADOBJ_TNAME, meta, methods);
}
