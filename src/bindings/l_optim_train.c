/* hardmax.optim — optim.train: the in-C training loop of hm_train.c with its recorders
 * (names -> hm_recorder), stop criteria, Lua callback and the result table. */
#include <math.h>
#include <string.h>

#include "hm_loptim.h"
#include "hm_train.h"

typedef struct cb_state {
  lua_State *L;
  int fn_idx, model_idx, err_idx;
  hm_objective *obj;
  double *gsave; /* the trainable gradients of step k while the callback runs */
} cb_state;

/* Copy the gradients of the trainable parameters to (save = 1) or back from buf. */
static void copy_grads(hm_objective *obj, double *buf, int save) {
  for (int i = 0; i < obj->nparam; i++) {
    const hm_param *p = &obj->param[i];
    if (!p->trainable) continue;
    memcpy(save ? buf : p->grad, save ? p->grad : buf, p->size * sizeof(double));
    buf += p->size;
  }
}

/* The callback may evaluate the model (m:grad on other data overwrites its gradient
 * buffers); the step from theta_k must still use the gradient at theta_k. */
static int train_callback(void *ud, long k) {
  cb_state *c = (cb_state *)ud;
  lua_State *L = c->L;
  copy_grads(c->obj, c->gsave, 1);
  lua_pushvalue(L, c->fn_idx);
  lua_pushinteger(L, (lua_Integer)k);
  lua_pushvalue(L, c->model_idx);
  int st = lua_pcall(L, 2, 1, 0);
  copy_grads(c->obj, c->gsave, 0);
  if (st != LUA_OK) {
    lua_replace(L, c->err_idx);
    return -1;
  }
  int stop = lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1);
  lua_pop(L, 1);
  return stop ? 1 : 0;
}

/* target mat for recorder `name` of a tensor of `size` elements */
static const double *get_target(lua_State *L, int opts, const char *tname, size_t size,
                                const char *fn) {
  if (hmL_optfield(L, opts, "targets") != LUA_TTABLE)
    hmL_error(L, fn, "recording '%s' needs targets = {%s = ...}", tname, tname);
  if (lua_getfield(L, -1, tname) == LUA_TNIL)
    hmL_error(L, fn, "recording needs a target for '%s' in targets", tname);
  hm_mat *m = hmL_testmat(L, -1);
  if (!m) hmL_error(L, fn, "targets.%s: mat expected, got %s", tname, luaL_typename(L, -1));
  if (m->size != size)
    hmL_error(L, fn, "targets.%s: %I elements expected, got %I", tname, (lua_Integer)size, (lua_Integer)m->size);
  if (!hm_all_finite(m->data, m->size)) hmL_error(L, fn, "targets.%s: non-finite entries", tname);
  lua_pop(L, 2); /* the mat stays alive in the options table */
  return m->data;
}

static const char *status_string(lua_State *L, const hm_train_result *r, const hm_objective *obj,
                                 const hm_train_stop *sp) {
  switch (r->status) {
    case HM_TRAIN_OK: return lua_pushstring(L, "ok");
    case HM_TRAIN_DIVERGED_LOSS: return lua_pushfstring(L, "diverged at step %I: loss is inf/nan", (lua_Integer)r->step);
    case HM_TRAIN_DIVERGED_GRAD: return lua_pushfstring(L, "diverged at step %I: gradient is inf/nan", (lua_Integer)r->step);
    case HM_TRAIN_DIVERGED_PARAM:
      return lua_pushfstring(L, "diverged at step %I: parameter '%s' is inf/nan after the update",
                             (lua_Integer)r->step, obj->param[r->bad_param].name);
    case HM_TRAIN_UNDERFLOW:
      return lua_pushfstring(L, "gradient underflow at step %I: the gradient is exactly zero", (lua_Integer)r->step);
    case HM_TRAIN_INTERRUPTED: return lua_pushfstring(L, "interrupted at step %I", (lua_Integer)r->step);
    case HM_TRAIN_CALLBACK: return lua_pushfstring(L, "stopped by callback at step %I", (lua_Integer)r->step);
    case HM_TRAIN_STOPPED: {
      const char *what[] = {"loss <= %f", "grad_norm <= %f", "param_norm >= %f"};
      double v[] = {sp->loss_below, sp->grad_norm_below, sp->param_norm_above};
      lua_pushfstring(L, "stopped at step %I: ", (lua_Integer)r->step);
      lua_pushfstring(L, what[r->stop_reason], v[r->stop_reason]);
      lua_concat(L, 2);
      return lua_tostring(L, -1);
    }
    default: return lua_pushstring(L, "error");
  }
}

#define MAXREC 48

/* The recorders named by option 'record' (options table at stack index 4). */
typedef struct rec_set {
  hm_recorder rec[MAXREC];
  const char *names[MAXREC]; /* anchored in the record table */
  int n;
  int want_w, want_s;        /* scratch needed for the effective W / the probabilities */
  size_t *idx;               /* softmax_at tokens (a buffer left on the stack), or NULL */
} rec_set;

static void read_stop(lua_State *L, hm_train_stop *sp, const char *fn) {
  sp->loss_below = NAN;
  sp->grad_norm_below = NAN;
  sp->param_norm_above = 0.0;
  int t = hmL_optfield(L, 4, "stop");
  if (t == LUA_TTABLE) {
    static const char *const skeys[] = {"loss", "grad_norm", "param_norm", NULL};
    hmL_checkoptions(L, -1, "optim.train: option 'stop'", skeys);
    sp->loss_below = hmL_optnumber(L, lua_gettop(L), "loss", NAN, fn);
    sp->grad_norm_below = hmL_optnumber(L, lua_gettop(L), "grad_norm", NAN, fn);
    sp->param_norm_above = hmL_optnumber(L, lua_gettop(L), "param_norm", 0.0, fn);
  } else if (t != LUA_TNIL) {
    hmL_error(L, fn, "option 'stop': table {loss=, grad_norm=, param_norm=} expected, got %s", luaL_typename(L, -1));
  }
  lua_pop(L, 1);
}

/* Kind and tensor of the recorder called nm (c->param: a parameter index, or -1 for the
 * total / the effective W); returns the tensor name of targets (NULL if none). */
static const char *parse_name(lua_State *L, const hm_objective *obj, const char *nm, hm_recorder *c,
                              const char *fn) {
  memset(c, 0, sizeof *c);
  c->param = -1;
  const char *sub = NULL;
  if (strcmp(nm, "loss") == 0) c->kind = HM_REC_LOSS;
  else if (strcmp(nm, "grad_norm") == 0) c->kind = HM_REC_GRAD_NORM;
  else if (strncmp(nm, "grad_norm_", 10) == 0) { c->kind = HM_REC_GRAD_NORM; sub = nm + 10; }
  else if (strcmp(nm, "param_norm") == 0) c->kind = HM_REC_PARAM_NORM;
  else if (strncmp(nm, "param_norm_", 11) == 0) { c->kind = HM_REC_PARAM_NORM; sub = nm + 11; }
  else if (strcmp(nm, "softmax_max") == 0) c->kind = HM_REC_SOFTMAX_MAX;
  else if (strcmp(nm, "softmax_at") == 0) c->kind = HM_REC_SOFTMAX_AT;
  else if (strcmp(nm, "min_logit_gap") == 0) c->kind = HM_REC_MIN_LOGIT_GAP;
  else if (strcmp(nm, "lr") == 0) c->kind = HM_REC_LR;
  else if (strcmp(nm, "grad_underflow") == 0) c->kind = HM_REC_GRAD_UNDERFLOW;
  else if (strcmp(nm, "corr") == 0) { c->kind = HM_REC_CORR; sub = "W"; }
  else if (strncmp(nm, "corr_", 5) == 0) { c->kind = HM_REC_CORR; sub = nm + 5; }
  else if (strncmp(nm, "cos_", 4) == 0) { c->kind = HM_REC_CORR; sub = nm + 4; }
  else if (strcmp(nm, "bregman") == 0) { c->kind = HM_REC_BREGMAN; sub = "W"; }
  else if (strncmp(nm, "bregman_", 8) == 0) { c->kind = HM_REC_BREGMAN; sub = nm + 8; }
  else { c->kind = HM_REC_VALUE; sub = nm; }
  if (!sub) return NULL;
  if (c->kind == HM_REC_VALUE || c->kind == HM_REC_CORR || c->kind == HM_REC_BREGMAN) {
    /* "W" is the effective attention matrix (K Q^T for (K,Q) models) */
    int pi = strcmp(sub, "W") == 0 ? -1 : hmL_objective_param(obj, sub);
    if (pi == -2)
      hmL_error(L, fn, "option 'record': unknown name '%s' (recordable: loss, grad_norm[_X], "
                       "param_norm[_X], W, <param>, softmax_max, softmax_at, corr[_X], cos_X, "
                       "bregman[_X], min_logit_gap, lr, grad_underflow)", nm);
    if (pi == -1 && (!obj->effective_w || obj->w_size == 0))
      hmL_error(L, fn, "option 'record': '%s' needs a model with an effective W", nm);
    c->param = pi;
  } else {
    int pi = hmL_objective_param(obj, sub);
    if (pi < 0) hmL_error(L, fn, "option 'record': '%s': the model has no parameter '%s'", nm, sub);
    c->param = pi;
  }
  return sub;
}

/* option 'indices' for softmax_at: 0-based tokens in a buffer left on the stack (made once) */
static size_t *read_indices(lua_State *L, const hm_objective *obj, size_t *idx, const char *fn) {
  if (obj->probs_size != obj->n * obj->T)
    hmL_error(L, fn, "option 'record': 'softmax_at' needs a single-output model (n x T probabilities)");
  if (hmL_optfield(L, 4, "indices") != LUA_TTABLE)
    hmL_error(L, fn, "recording 'softmax_at' needs indices = {alpha_1, ..., alpha_n} (1-based)");
  if ((size_t)lua_rawlen(L, -1) != obj->n)
    hmL_error(L, fn, "option 'indices': %I entries expected (one per sample), got %I", (lua_Integer)obj->n,
              (lua_Integer)lua_rawlen(L, -1));
  if (!idx) {
    idx = (size_t *)lua_newuserdatauv(L, (obj->n ? obj->n : 1) * sizeof(size_t), 0);
    lua_insert(L, -2); /* keep the buffer below the indices table */
    for (size_t i = 0; i < obj->n; i++) {
      lua_rawgeti(L, -1, (lua_Integer)i + 1);
      int isint;
      lua_Integer v = lua_tointegerx(L, -1, &isint);
      if (!isint || v < 1 || (size_t)v > obj->T)
        hmL_error(L, fn, "option 'indices': entry %I: integer in [1, %I] expected", (lua_Integer)i + 1, (lua_Integer)obj->T);
      idx[i] = (size_t)(v - 1);
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1); /* indices table; the size_t buffer stays on the stack */
  return idx;
}

/* option 'record' (the list stays on the stack: it anchors the names) */
static void read_recorders(lua_State *L, const hm_objective *obj, double bp, rec_set *rs, const char *fn) {
  memset(rs, 0, sizeof *rs);
  int t = hmL_optfield(L, 4, "record");
  if (t != LUA_TNIL && t != LUA_TTABLE)
    hmL_error(L, fn, "option 'record': list of names expected, got %s", luaL_typename(L, -1));
  int rec_idx = lua_gettop(L);
  lua_Integer nr = t == LUA_TTABLE ? (lua_Integer)lua_rawlen(L, rec_idx) : 0;
  if (nr > MAXREC) hmL_error(L, fn, "option 'record': at most %d names", MAXREC);
  for (lua_Integer r = 1; r <= nr; r++) {
    lua_rawgeti(L, rec_idx, r);
    if (lua_type(L, -1) != LUA_TSTRING)
      hmL_error(L, fn, "option 'record': entry %I: string expected, got %s", r, luaL_typename(L, -1));
    const char *nm = lua_tostring(L, -1);
    lua_pop(L, 1); /* anchored in the record table */
    hm_recorder *c = &rs->rec[rs->n];
    const char *sub = parse_name(L, obj, nm, c, fn);
    size_t size = c->param < 0 ? obj->w_size : obj->param[c->param].size;
    if (c->kind == HM_REC_CORR || c->kind == HM_REC_BREGMAN) c->target = get_target(L, 4, sub, size, fn);
    if (c->kind == HM_REC_BREGMAN) {
      c->p = bp;
      if (!(bp > 1.0 && isfinite(bp))) hmL_error(L, fn, "option 'bregman_p': number > 1 expected, got %f", bp);
    }
    if (c->param < 0 && (c->kind == HM_REC_VALUE || c->kind == HM_REC_CORR || c->kind == HM_REC_BREGMAN)) rs->want_w = 1;
    if (c->kind == HM_REC_SOFTMAX_MAX || c->kind == HM_REC_SOFTMAX_AT) {
      if (!obj->probs) hmL_error(L, fn, "option 'record': '%s' needs attention probabilities", nm);
      rs->want_s = 1;
    }
    if (c->kind == HM_REC_SOFTMAX_AT) c->idx = rs->idx = read_indices(L, obj, rs->idx, fn);
    rs->names[rs->n++] = nm;
  }
}

/* One zero-filled scratch vector (left on the stack) for the rows of every recorder, the step
 * indices and the effective-W / probability buffers of the run. */
static void alloc_rows(lua_State *L, const hm_objective *obj, rec_set *rs, hm_train_cfg *cfg, const char *fn) {
  hmL_check(L, fn, hm_train_prepare(obj, rs->rec, rs->n));
  long maxrows = hm_train_rows(cfg->iters, cfg->every);
  size_t total = 0;
  for (int r = 0; r < rs->n; r++) total += rs->rec[r].width;
  if (rs->n > 0) total += 1; /* step indices (only when something is recorded) */
  size_t need = total * (size_t)maxrows + (rs->want_w ? obj->w_size : 0) + (rs->want_s ? obj->probs_size : 0);
  if (maxrows > 0 && total > 0 && need / (size_t)maxrows < total) hmL_error(L, fn, "recording too large");
  hm_mat *scratch = hmL_newvec(L, need, fn);
  size_t off = 0;
  for (int r = 0; r < rs->n; r++) {
    rs->rec[r].out = scratch->data + off;
    off += rs->rec[r].width * (size_t)maxrows;
  }
  if (rs->n > 0) {
    cfg->steps = scratch->data + off;
    off += (size_t)maxrows;
  }
  if (rs->want_w) { cfg->wbuf = scratch->data + off; off += obj->w_size; }
  if (rs->want_s) cfg->sbuf = scratch->data + off;
  cfg->nrec = rs->n;
  cfg->rec = rs->rec;
}

/* option 'callback': the function and a gradient buffer stay on the stack */
static void read_callback(lua_State *L, hm_objective *obj, int err_idx, cb_state *cbs, hm_train_cfg *cfg,
                          const char *fn) {
  if (hmL_optfield(L, 4, "callback") == LUA_TNIL) return;
  if (!lua_isfunction(L, -1)) hmL_error(L, fn, "option 'callback': function expected, got %s", luaL_typename(L, -1));
  cbs->L = L;
  cbs->fn_idx = lua_gettop(L);
  cbs->model_idx = 1;
  cbs->err_idx = err_idx;
  cbs->obj = obj;
  size_t ng = 0;
  for (int i = 0; i < obj->nparam; i++)
    if (obj->param[i].trainable) ng += obj->param[i].size;
  cbs->gsave = hmL_newvec(L, ng, fn)->data;
  cfg->callback = train_callback;
  cfg->cb_ud = cbs;
}

/* the result table: one array per recorder, steps, iters, status, final_loss, optimizer */
static void push_result(lua_State *L, const hm_objective *obj, const hm_optim *o, const rec_set *rs,
                        const hm_train_cfg *cfg, const hm_train_result *res, const char *fn) {
  lua_newtable(L);
  int out = lua_gettop(L);
  long rows = res->rows;
  for (int r = 0; r < rs->n; r++) {
    const hm_recorder *c = &rs->rec[r];
    hm_mat *m;
    if (c->kind == HM_REC_VALUE) {
      size_t pr = c->param < 0 ? (size_t)sqrt((double)obj->w_size) : obj->param[c->param].rows;
      size_t pc = c->param < 0 ? pr : obj->param[c->param].cols;
      if (c->param >= 0 && pc == 1) m = hmL_newmat2(L, (size_t)rows, pr, fn);
      else m = hmL_newmat3(L, (size_t)rows, pr, pc, fn);
    } else {
      m = hmL_newvec(L, (size_t)rows, fn);
    }
    if (m->size) memcpy(m->data, c->out, m->size * sizeof(double));
    lua_setfield(L, out, rs->names[r]);
  }
  hm_mat *steps = hmL_newvec(L, cfg->steps ? (size_t)rows : 0, fn);
  if (cfg->steps && rows) memcpy(steps->data, cfg->steps, (size_t)rows * sizeof(double));
  lua_setfield(L, out, "steps");
  lua_pushinteger(L, (lua_Integer)res->iters);
  lua_setfield(L, out, "iters");
  status_string(L, res, obj, &cfg->stop);
  lua_setfield(L, out, "status");
  lua_pushnumber(L, res->final_loss);
  lua_setfield(L, out, "final_loss");
  hmL_optim_push_settings(L, o);
  lua_setfield(L, out, "optimizer");
}

int hmL_optim_train(lua_State *L) {
  const char *fn = "optim.train";
  static const char *const keys[] = {"iters", "every", "record", "callback", "stop", "targets",
                                     "indices", "bregman_p", NULL};
  hmL_optim_normalize_args(L, 2, fn);
  hmL_optim_claim(L, 1, 3, fn); /* stack slot 5: the lease */
  hm_objective *obj = hmL_optim_objective(L, 1, 2, fn);
  hm_loptim *u = hmL_checkopt(L, 3, fn);
  hmL_checkoptions(L, 4, fn, keys);
  if (lua_isnil(L, 4)) hmL_error(L, fn, "options table with iters = ... expected");
  lua_Integer iters = hmL_optinteger(L, 4, "iters", -1, fn);
  if (iters < 0) hmL_error(L, fn, "option 'iters': integer >= 0 required");
  lua_Integer every = hmL_optinteger(L, 4, "every", 1, fn);
  if (every < 1) hmL_error(L, fn, "option 'every': integer >= 1 expected, got %I", every);
  hmL_optim_check_objective(L, &u->o, obj, fn);
  double bp = hmL_optnumber(L, 4, "bregman_p", u->o.kind == HM_OPT_MIRROR ? u->o.p : 2.0, fn);
  hm_train_cfg cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.iters = (long)iters;
  cfg.every = (long)every;
  read_stop(L, &cfg.stop, fn);
  rec_set rs;
  read_recorders(L, obj, bp, &rs, fn);
  alloc_rows(L, obj, &rs, &cfg, fn);
  cb_state cbs;
  lua_pushnil(L); /* error slot */
  int err_idx = lua_gettop(L);
  read_callback(L, obj, err_idx, &cbs, &cfg, fn);
  hm_train_result res;
  hmL_optim_set_rescaled(L, &u->o, obj, 1, fn);
  hm_status st = hm_train_run(&u->o, obj, &cfg, &res);
  hmL_optim_set_rescaled(L, &u->o, obj, 0, fn);
  hmL_check(L, fn, st);
  if (res.status == HM_TRAIN_CALLBACK_ERROR) {
    lua_pushvalue(L, err_idx);
    return lua_error(L);
  }
  if (res.status == HM_TRAIN_ERROR) hmL_error(L, fn, "at step %I: %s", (lua_Integer)res.step, hm_status_message(res.err));
  push_result(L, obj, &u->o, &rs, &cfg, &res, fn);
  return 1;
}
