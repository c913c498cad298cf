/* hardmax.ad — reverse-mode automatic differentiation over mat (docs/ad.md): the module, the
 * node type (operators and methods) and every op, a thin layer over hm_ad.c. Nodes exist
 * while a function given to ad.grad / ad.objective is being traced; mats and numbers given
 * to an op become constants of the trace. */
#include <math.h>
#include <string.h>

#include "hm_lad.h"

/* ---- tapes and nodes ----------------------------------------------------------------------- */

static int tape_gc(lua_State *L) {
  hm_ltape *tp = (hm_ltape *)luaL_testudata(L, 1, HM_ADTAPE_TNAME);
  if (tp) hm_tape_free(&tp->t);
  return 0;
}

hm_ltape *hmL_ad_newtape(lua_State *L) {
  hm_ltape *tp = (hm_ltape *)lua_newuserdatauv(L, sizeof(hm_ltape), 1);
  hm_tape_init(&tp->t);
  tp->open = 1;
  luaL_setmetatable(L, HM_ADTAPE_TNAME);
  lua_newtable(L);
  lua_setiuservalue(L, -2, 1);
  return tp;
}

hm_lnode *hmL_ad_pushnode(lua_State *L, int tape_idx, int id) {
  tape_idx = lua_absindex(L, tape_idx);
  hm_lnode *u = (hm_lnode *)lua_newuserdatauv(L, sizeof(hm_lnode), 1);
  u->tp = (hm_ltape *)lua_touserdata(L, tape_idx);
  u->id = id;
  luaL_setmetatable(L, HM_ADNODE_TNAME);
  lua_pushvalue(L, tape_idx);
  lua_setiuservalue(L, -2, 1);
  return u;
}

hm_lnode *hmL_ad_testnode(lua_State *L, int idx) { return (hm_lnode *)luaL_testudata(L, idx, HM_ADNODE_TNAME); }

static hm_ad_node *node_of(const hm_lnode *u) { return &u->tp->t.node[u->id]; }

/* Push the tape of the op whose operands are args first..last (the first node among them,
 * else the trace in progress) and return it; raise when there is none or it is finished. */
static hm_ltape *op_tape(lua_State *L, int first, int last, const char *fn) {
  if (lua_gettop(L) < 4) lua_settop(L, 4); /* the tape goes above every argument slot (ops take <= 4) */
  for (int i = first; i <= last; i++) {
    hm_lnode *u = hmL_ad_testnode(L, i);
    if (!u) continue;
    lua_getiuservalue(L, i, 1);
    if (!u->tp->open)
      hmL_error(L, fn, "argument #%d belongs to a finished trace (nodes are valid only while the "
                       "function given to ad.grad / ad.objective runs)", i);
    return u->tp;
  }
  lua_getfield(L, LUA_REGISTRYINDEX, HM_AD_CURRENT);
  hm_ltape *tp = (hm_ltape *)luaL_testudata(L, -1, HM_ADTAPE_TNAME);
  if (!tp || !tp->open)
    hmL_error(L, fn, "no node among the arguments and no trace in progress (ad ops run inside the "
                     "function given to ad.grad / ad.objective)");
  return tp;
}

/* Status of a core op -> Lua error "fn: message" */
static void check(lua_State *L, hm_status s, const char *err, const char *fn) {
  if (s == HM_OK) return;
  if (err[0]) hmL_error(L, fn, "%s", err);
  hmL_check(L, fn, s);
}

/* Node id of argument arg on tape tp: a node of that tape, a mat (a new constant) or a
 * number (a 1-element constant). */
static int node_arg(lua_State *L, int arg, hm_ltape *tp, const char *fn) {
  hm_lnode *u = hmL_ad_testnode(L, arg);
  if (u) {
    if (u->tp != tp) hmL_argerror(L, fn, arg, "node of another trace");
    return u->id;
  }
  int id;
  hm_status s;
  if (lua_type(L, arg) == LUA_TNUMBER) {
    double v = lua_tonumber(L, arg);
    size_t one = 1;
    s = hm_ad_const(&tp->t, 1, &one, &v, &id);
  } else {
    hm_mat *m = hmL_testmat(L, arg);
    if (!m) hmL_argerror(L, fn, arg, "ad node, mat or number expected, got %s", luaL_typename(L, arg));
    hmL_checkmat(L, arg, fn);
    s = hm_ad_const(&tp->t, m->rank, m->dim, m->data, &id);
  }
  hmL_check(L, fn, s);
  return id;
}

/* Push the op over in0 (in1) onto the tape at stack index tidx, as a new node. */
static int push_op(lua_State *L, int tidx, hm_ad_op op, int in0, int in1, const hm_ad_attr *a, const char *fn) {
  hm_ltape *tp = (hm_ltape *)lua_touserdata(L, tidx);
  char err[200] = "";
  int id;
  check(L, hm_ad_push(&tp->t, op, in0, in1, a, &id, err, sizeof err), err, fn);
  hmL_ad_pushnode(L, tidx, id);
  return 1;
}

/* 1-based axis argument (absent: def, 0-based, may be -1) -> 0-based */
static int axis_arg(lua_State *L, int arg, int def, const char *fn) {
  if (lua_isnoneornil(L, arg)) return def;
  lua_Integer a = hmL_checkint(L, arg, fn);
  if (a < 1 || a > 3) hmL_argerror(L, fn, arg, "axis in 1..3 expected, got %I", a);
  return (int)a - 1;
}


/* ---- element-wise binary ops --------------------------------------------------------------- */

static int binop(lua_State *L, hm_ad_op op, const char *fn) {
  hm_ltape *tp = op_tape(L, 1, 2, fn);
  int tidx = lua_gettop(L);
  int n1 = lua_type(L, 1) == LUA_TNUMBER, n2 = lua_type(L, 2) == LUA_TNUMBER;
  hm_ad_attr a;
  memset(&a, 0, sizeof a);
  /* a number on one side: the scalar ops (exact: x + s, s - x, s * x as written) */
  if ((n1 || n2) && !(n1 && n2) && op != HM_AD_DIV) {
    int x = node_arg(L, n1 ? 2 : 1, tp, fn);
    a.s = lua_tonumber(L, n1 ? 1 : 2);
    hm_ad_op sop = op == HM_AD_MUL ? HM_AD_SCALE : HM_AD_SHIFT;
    if (op == HM_AD_SUB) {
      if (n1) sop = HM_AD_RSUB;
      else a.s = -a.s;
    }
    return push_op(L, tidx, sop, x, -1, &a, fn);
  }
  if (op == HM_AD_DIV && n1 && !n2) {
    a.s = lua_tonumber(L, 1);
    return push_op(L, tidx, HM_AD_RDIV, node_arg(L, 2, tp, fn), -1, &a, fn);
  }
  int x = node_arg(L, 1, tp, fn), y = node_arg(L, 2, tp, fn);
  return push_op(L, tidx, op, x, y, NULL, fn);
}

static int ad_add(lua_State *L) { return binop(L, HM_AD_ADD, "ad.add"); }
static int ad_sub(lua_State *L) { return binop(L, HM_AD_SUB, "ad.sub"); }
static int ad_mul(lua_State *L) { return binop(L, HM_AD_MUL, "ad.mul"); }
static int ad_div(lua_State *L) { return binop(L, HM_AD_DIV, "ad.div"); }

static int matmul_mode(lua_State *L, int mode, const char *fn) {
  hm_ltape *tp = op_tape(L, 1, 2, fn);
  int tidx = lua_gettop(L);
  if (lua_type(L, 1) == LUA_TNUMBER || lua_type(L, 2) == LUA_TNUMBER)
    hmL_error(L, fn, "a number operand: use ad.mul (or '*' with a number) for scaling");
  int x = node_arg(L, 1, tp, fn), y = node_arg(L, 2, tp, fn);
  hm_ad_attr a;
  memset(&a, 0, sizeof a);
  a.mode = mode;
  return push_op(L, tidx, HM_AD_MATMUL, x, y, &a, fn);
}

static int ad_matmul(lua_State *L) { return matmul_mode(L, -1, "ad.matmul"); }
static int ad_bmv(lua_State *L) { return matmul_mode(L, HM_AD_MM_BMV, "ad.bmv"); }
static int ad_bvm(lua_State *L) { return matmul_mode(L, HM_AD_MM_BVM, "ad.bvm"); }
static int ad_bmm(lua_State *L) {
  const char *fn = "ad.bmm";
  for (int i = 1; i <= 2; i++) {
    hm_lnode *u = hmL_ad_testnode(L, i);
    hm_mat *m = u ? NULL : hmL_testmat(L, i);
    int rank = u ? node_of(u)->rank : m ? m->rank : 0;
    if (rank != 3) hmL_argerror(L, fn, i, "rank-3 operand expected");
  }
  return matmul_mode(L, -1, fn);
}

/* metamethods follow mat: '*' is the matrix product unless a side is a number, '/' needs a
 * number operand */
static int meta_mul(lua_State *L) {
  if (lua_type(L, 1) == LUA_TNUMBER || lua_type(L, 2) == LUA_TNUMBER) return ad_mul(L);
  return ad_matmul(L);
}

static int meta_div(lua_State *L) {
  if (lua_type(L, 1) != LUA_TNUMBER && lua_type(L, 2) != LUA_TNUMBER)
    return hmL_error(L, "ad.div", "'/' needs a number operand (use ad.div(a, b) or a:div(b) for "
                     "element-wise division)");
  return ad_div(L);
}

/* ---- unary ops ----------------------------------------------------------------------------- */

static int unop(lua_State *L, hm_ad_op op, double s, const char *fn) {
  hm_ltape *tp = op_tape(L, 1, 1, fn);
  int tidx = lua_gettop(L);
  hm_ad_attr a;
  memset(&a, 0, sizeof a);
  a.s = s;
  return push_op(L, tidx, op, node_arg(L, 1, tp, fn), -1, &a, fn);
}

#define UNOP(name, op) \
  static int ad_##name(lua_State *L) { return unop(L, op, 0.0, "ad." #name); }
UNOP(exp, HM_AD_EXP)
UNOP(log, HM_AD_LOG)
UNOP(log1p, HM_AD_LOG1P)
UNOP(relu, HM_AD_RELU)
UNOP(tanh, HM_AD_TANH)
UNOP(sigmoid, HM_AD_SIGMOID)
UNOP(abs, HM_AD_ABS)
UNOP(logistic, HM_AD_LOGISTIC)
UNOP(exponential, HM_AD_EXPONENTIAL)
UNOP(transpose, HM_AD_TRANSPOSE)
#undef UNOP

static int ad_neg(lua_State *L) { return unop(L, HM_AD_SCALE, -1.0, "ad.neg"); }
static int ad_pow(lua_State *L) {
  double p = hmL_checkfinite(L, 2, "ad.pow");
  return unop(L, HM_AD_POW, p, "ad.pow");
}

/* ---- reductions and the softmax family ----------------------------------------------------- */

static int axis_op(lua_State *L, hm_ad_op op, int def_last, const char *fn) {
  hm_ltape *tp = op_tape(L, 1, 1, fn);
  int tidx = lua_gettop(L);
  int x = node_arg(L, 1, tp, fn);
  hm_ad_attr a;
  memset(&a, 0, sizeof a);
  a.axis = axis_arg(L, 2, def_last ? tp->t.node[x].rank - 1 : -1, fn);
  return push_op(L, tidx, op, x, -1, &a, fn);
}

static int ad_sum(lua_State *L) { return axis_op(L, HM_AD_SUM, 0, "ad.sum"); }
static int ad_mean(lua_State *L) { return axis_op(L, HM_AD_MEAN, 0, "ad.mean"); }
static int ad_softmax(lua_State *L) { return axis_op(L, HM_AD_SOFTMAX, 1, "ad.softmax"); }
static int ad_log_softmax(lua_State *L) { return axis_op(L, HM_AD_LOG_SOFTMAX, 1, "ad.log_softmax"); }
static int ad_logsumexp(lua_State *L) { return axis_op(L, HM_AD_LOGSUMEXP, 1, "ad.logsumexp"); }

static int ad_attend(lua_State *L) {
  const char *fn = "ad.attend";
  hm_ltape *tp = op_tape(L, 1, 2, fn);
  int tidx = lua_gettop(L);
  int x = node_arg(L, 1, tp, fn), v = node_arg(L, 2, tp, fn);
  return push_op(L, tidx, HM_AD_ATTEND, x, v, NULL, fn);
}

static int ad_log_mass(lua_State *L) {
  const char *fn = "ad.log_mass";
  hm_ltape *tp = op_tape(L, 1, 2, fn);
  int tidx = lua_gettop(L);
  int x = node_arg(L, 1, tp, fn), m = node_arg(L, 2, tp, fn);
  return push_op(L, tidx, HM_AD_LOG_MASS, x, m, NULL, fn);
}

/* ---- indices ------------------------------------------------------------------------------- */

/* 1-based integer indices from a table or a mat of rank 1 (or 2 when rank2_ok) into a
 * buffer left on the stack; *rank and dim[] describe the index array. */
static size_t *read_indices(lua_State *L, int arg, int rank2_ok, int *rank, size_t *dim, const char *fn) {
  hm_mat *m = hmL_testmat(L, arg);
  size_t n;
  if (m) {
    hmL_checkmat(L, arg, fn);
    if (m->rank > (rank2_ok ? 2 : 1)) hmL_argerror(L, fn, arg, "index array of rank %s expected", rank2_ok ? "1 or 2" : "1");
    *rank = m->rank;
    dim[0] = m->dim[0];
    dim[1] = m->rank == 2 ? m->dim[1] : 1;
    n = m->size;
  } else if (lua_type(L, arg) == LUA_TTABLE) {
    *rank = 1;
    n = dim[0] = (size_t)lua_rawlen(L, arg);
    dim[1] = 1;
  } else {
    hmL_argerror(L, fn, arg, "indices (table or mat of integers) expected, got %s", luaL_typename(L, arg));
    return NULL;
  }
  if (n == 0) hmL_argerror(L, fn, arg, "at least one index expected");
  size_t *idx = (size_t *)hmL_newuserdata(L, n * sizeof(size_t), 0, fn);
  for (size_t i = 0; i < n; i++) {
    double v;
    if (m) {
      v = m->data[i];
    } else {
      lua_rawgeti(L, arg, (lua_Integer)i + 1);
      int ok = lua_type(L, -1) == LUA_TNUMBER;
      v = ok ? lua_tonumber(L, -1) : NAN;
      lua_pop(L, 1);
    }
    if (!(v >= 1 && v <= 9.0e15 && v == floor(v)))
      hmL_argerror(L, fn, arg, "entry %I: positive integer index expected", (lua_Integer)i + 1);
    idx[i] = (size_t)v - 1;
  }
  return idx;
}

static int index_op(lua_State *L, hm_ad_op op, const char *fn) {
  hm_ltape *tp = op_tape(L, 1, 1, fn);
  int tidx = lua_gettop(L);
  int x = node_arg(L, 1, tp, fn);
  hm_ad_attr a;
  memset(&a, 0, sizeof a);
  a.idx = read_indices(L, 2, op == HM_AD_GATHER, &a.idx_rank, a.idx_dim, fn);
  return push_op(L, tidx, op, x, -1, &a, fn);
}

static int ad_gather(lua_State *L) { return index_op(L, HM_AD_GATHER, "ad.gather"); }
static int ad_pick(lua_State *L) { return index_op(L, HM_AD_PICK, "ad.pick"); }

/* cross_entropy(logits, labels): -log softmax(logits)_label per row (a log_mass with a
 * one-hot mask, so the gradient at the label is -sum of the other probabilities, exactly) */
static int ad_cross_entropy(lua_State *L) {
  const char *fn = "ad.cross_entropy";
  hm_ltape *tp = op_tape(L, 1, 1, fn);
  int tidx = lua_gettop(L);
  int x = node_arg(L, 1, tp, fn);
  const hm_ad_node *xn = &tp->t.node[x];
  if (xn->rank != 2) hmL_argerror(L, fn, 1, "logits of rank 2 (rows x classes) expected");
  int irank;
  size_t idim[2];
  size_t *idx = read_indices(L, 2, 0, &irank, idim, fn);
  size_t rows = xn->dim[0], C = xn->dim[1];
  if (idim[0] != rows) hmL_argerror(L, fn, 2, "%I labels expected (one per row), got %I", (lua_Integer)rows, (lua_Integer)idim[0]);
  hm_mat *mask = hmL_newmat2(L, rows, C, fn);
  for (size_t r = 0; r < rows; r++) {
    if (idx[r] >= C) hmL_argerror(L, fn, 2, "entry %I: label in 1..%I expected", (lua_Integer)r + 1, (lua_Integer)C);
    mask->data[r * C + idx[r]] = 1.0;
  }
  int m = node_arg(L, lua_gettop(L), tp, fn);
  push_op(L, tidx, HM_AD_LOG_MASS, x, m, NULL, fn);
  hm_ad_attr a;
  memset(&a, 0, sizeof a);
  a.s = -1.0;
  hm_lnode *lm = hmL_ad_testnode(L, -1);
  return push_op(L, tidx, HM_AD_SCALE, lm->id, -1, &a, fn);
}

/* ---- shape ops ----------------------------------------------------------------------------- */

static int ad_reshape(lua_State *L) {
  const char *fn = "ad.reshape";
  hm_ltape *tp = op_tape(L, 1, 1, fn);
  int tidx = lua_gettop(L);
  int x = node_arg(L, 1, tp, fn);
  hm_ad_attr a;
  memset(&a, 0, sizeof a);
  for (int r = 0; r < 3 && !lua_isnoneornil(L, r + 2); r++) {
    a.dim[r] = hmL_checksize(L, r + 2, fn);
    a.rank = r + 1;
  }
  if (a.rank == 0) hmL_argerror(L, fn, 2, "dimensions expected");
  return push_op(L, tidx, HM_AD_RESHAPE, x, -1, &a, fn);
}

static int ad_slice(lua_State *L) {
  const char *fn = "ad.slice";
  hm_ltape *tp = op_tape(L, 1, 1, fn);
  int tidx = lua_gettop(L);
  int x = node_arg(L, 1, tp, fn);
  hm_ad_attr a;
  memset(&a, 0, sizeof a);
  a.axis = axis_arg(L, 2, 0, fn);
  lua_Integer from = hmL_checkint(L, 3, fn), to = hmL_checkint(L, 4, fn);
  if (from < 1) hmL_argerror(L, fn, 3, "start index >= 1 expected, got %I", from);
  if (to < from) hmL_argerror(L, fn, 4, "end index >= start expected, got %I", to);
  a.from = (size_t)(from - 1);
  a.count = (size_t)(to - from + 1);
  return push_op(L, tidx, HM_AD_SLICE, x, -1, &a, fn);
}

static int ad_concat(lua_State *L) {
  const char *fn = "ad.concat";
  hm_ltape *tp = op_tape(L, 1, 2, fn);
  int tidx = lua_gettop(L);
  int x = node_arg(L, 1, tp, fn), y = node_arg(L, 2, tp, fn);
  hm_ad_attr a;
  memset(&a, 0, sizeof a);
  a.axis = axis_arg(L, 3, tp->t.node[x].rank - 1, fn);
  return push_op(L, tidx, HM_AD_CONCAT, x, y, &a, fn);
}

static int ad_const(lua_State *L) {
  const char *fn = "ad.const";
  if (!hmL_testmat(L, 1) && lua_type(L, 1) != LUA_TNUMBER)
    hmL_argerror(L, fn, 1, "mat or number expected, got %s", luaL_typename(L, 1));
  lua_settop(L, 1);
  hm_ltape *tp = op_tape(L, 2, 1, fn); /* no node argument: the trace in progress */
  int tidx = lua_gettop(L);
  hmL_ad_pushnode(L, tidx, node_arg(L, 1, tp, fn));
  return 1;
}

/* ---- node methods -------------------------------------------------------------------------- */

static hm_lnode *checknode(lua_State *L, int idx, const char *fn) {
  hm_lnode *u = hmL_ad_testnode(L, idx);
  if (!u) hmL_argerror(L, fn, idx, "ad node expected, got %s", luaL_typename(L, idx));
  return u;
}

static int node_value(lua_State *L) {
  hm_lnode *u = checknode(L, 1, "node:value");
  const hm_ad_node *y = node_of(u);
  hm_mat m;
  hm_mat_init(&m, y->rank, y->dim, y->val);
  hmL_pushcopy(L, &m, "node:value");
  return 1;
}

static int node_item(lua_State *L) {
  hm_lnode *u = checknode(L, 1, "node:item");
  const hm_ad_node *y = node_of(u);
  char b[80];
  if (y->size != 1) hmL_error(L, "node:item", "one-element node expected, got shape %s", hm_ad_shapestr(y->rank, y->dim, b));
  lua_pushnumber(L, y->val[0]);
  return 1;
}

static int node_shape(lua_State *L) {
  const hm_ad_node *y = node_of(checknode(L, 1, "node:shape"));
  for (int r = 0; r < y->rank; r++) lua_pushinteger(L, (lua_Integer)y->dim[r]);
  return y->rank;
}

static int node_tostring(lua_State *L) {
  const hm_ad_node *y = node_of(checknode(L, 1, "node:__tostring"));
  char b[80];
  lua_pushfstring(L, "ad.node(%s, %s)", hm_ad_opname(y->op), hm_ad_shapestr(y->rank, y->dim, b));
  return 1;
}

/* ops that are both ad.f(x, ...) and x:f(...) */
static const luaL_Reg op_funcs[] = {
  {"add", ad_add}, {"sub", ad_sub}, {"mul", ad_mul}, {"div", ad_div}, {"neg", ad_neg}, {"pow", ad_pow},
  {"matmul", ad_matmul}, {"bmm", ad_bmm}, {"bmv", ad_bmv}, {"bvm", ad_bvm},
  {"exp", ad_exp}, {"log", ad_log}, {"log1p", ad_log1p}, {"relu", ad_relu}, {"tanh", ad_tanh},
  {"sigmoid", ad_sigmoid}, {"abs", ad_abs}, {"logistic", ad_logistic}, {"exponential", ad_exponential},
  {"sum", ad_sum}, {"mean", ad_mean}, {"softmax", ad_softmax}, {"log_softmax", ad_log_softmax},
  {"logsumexp", ad_logsumexp}, {"log_mass", ad_log_mass}, {"attend", ad_attend}, {"cross_entropy", ad_cross_entropy},
  {"transpose", ad_transpose}, {"t", ad_transpose}, {"reshape", ad_reshape}, {"slice", ad_slice},
  {"gather", ad_gather}, {"pick", ad_pick}, {"concat", ad_concat},
  {NULL, NULL}};

static const luaL_Reg node_methods[] = {
  {"value", node_value}, {"item", node_item}, {"shape", node_shape}, {NULL, NULL}};

static const luaL_Reg node_meta[] = {
  {"__add", ad_add}, {"__sub", ad_sub}, {"__mul", meta_mul}, {"__div", meta_div}, {"__unm", ad_neg},
  {"__tostring", node_tostring}, {NULL, NULL}};

int luaopen_hardmax_ad(lua_State *L) {
  luaL_newmetatable(L, HM_ADTAPE_TNAME);
  lua_pushcfunction(L, tape_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newmetatable(L, HM_ADNODE_TNAME);
  luaL_setfuncs(L, node_meta, 0);
  lua_newtable(L);
  luaL_setfuncs(L, op_funcs, 0);
  luaL_setfuncs(L, node_methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushstring(L, HM_ADNODE_TNAME);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  hmL_ad_objective_register(L);
  lua_newtable(L);
  luaL_setfuncs(L, op_funcs, 0);
  lua_pushcfunction(L, ad_const);
  lua_setfield(L, -2, "const");
  lua_pushcfunction(L, hmL_ad_grad);
  lua_setfield(L, -2, "grad");
  lua_pushcfunction(L, hmL_ad_objective_new);
  lua_setfield(L, -2, "objective");
  return 1;
}
