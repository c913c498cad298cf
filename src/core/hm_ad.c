/* The tape of hm_ad.h: node creation with shape inference, replay and the reverse sweep.
 * The numeric kernels of every op are in hm_ad_ops.c. */
#include "hm_ad.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_names[HM_AD_NOPS] = {
  "var", "const", "add", "sub", "mul", "div", "scale", "shift", "rsub", "rdiv", "pow",
  "exp", "log", "log1p", "relu", "tanh", "sigmoid", "abs", "logistic", "exponential",
  "matmul", "sum", "mean", "transpose", "reshape", "slice", "gather", "pick",
  "softmax", "log_softmax", "logsumexp", "log_mass", "concat", "attend"};

const char *hm_ad_opname(hm_ad_op op) { return op >= 0 && op < HM_AD_NOPS ? op_names[op] : "?"; }

const char *hm_ad_shapestr(int rank, const size_t *dim, char *buf) {
  int k = 0;
  buf[0] = 0;
  for (int r = 0; r < rank && k < 70; r++) k += snprintf(buf + k, 80 - (size_t)k, r ? "x%zu" : "%zu", dim[r]);
  return buf;
}

void hm_tape_init(hm_tape *t) {
  memset(t, 0, sizeof *t);
  t->live_for = -1;
}

void hm_tape_free(hm_tape *t) {
  for (int i = 0; i < t->n; i++) {
    hm_ad_node *y = &t->node[i];
    if (!y->external) free(y->val);
    free(y->grad);
    free(y->idx);
    free(y->aux);
  }
  free(t->node);
  free(t->need);
  hm_tape_init(t);
}

static hm_status shape_size(int rank, const size_t *dim, size_t *size) {
  size_t s = 1;
  for (int r = 0; r < rank; r++) {
    if (dim[r] && s > (size_t)-1 / 8 / dim[r]) return HM_ENOMEM;
    s *= dim[r];
  }
  *size = s;
  return HM_OK;
}

/* A new node slot of the given shape with its buffers (val unless external). */
static hm_status new_node(hm_tape *t, hm_ad_op op, int rank, const size_t *dim, int varying,
                          int external, hm_ad_node **out) {
  if (rank < 1 || rank > 3) return HM_EARG;
  if (t->n == t->cap) {
    int cap = t->cap ? 2 * t->cap : 32;
    hm_ad_node *nn = (hm_ad_node *)realloc(t->node, (size_t)cap * sizeof *nn);
    if (!nn) return HM_ENOMEM;
    t->node = nn;
    t->cap = cap;
  }
  hm_ad_node *y = &t->node[t->n];
  memset(y, 0, sizeof *y);
  y->op = op;
  y->rank = rank;
  for (int r = 0; r < 3; r++) y->dim[r] = r < rank ? dim[r] : 1;
  hm_status s = shape_size(rank, dim, &y->size);
  if (s) return s;
  y->in[0] = y->in[1] = -1;
  y->gen = t->gen;
  y->varying = varying;
  y->external = external;
  size_t alloc = y->size ? y->size : 1;
  if (!external && !(y->val = (double *)calloc(alloc, sizeof(double)))) return HM_ENOMEM;
  if (varying && !(y->grad = (double *)calloc(alloc, sizeof(double)))) {
    if (!external) free(y->val);
    return HM_ENOMEM;
  }
  t->n++;
  t->live_for = -1;
  *out = y;
  return HM_OK;
}

hm_status hm_ad_var(hm_tape *t, int rank, const size_t *dim, double *ext, int *out) {
  hm_ad_node *y;
  hm_status s = new_node(t, HM_AD_VAR, rank, dim, 1, 1, &y);
  if (s) return s;
  y->val = ext;
  *out = t->n - 1;
  return HM_OK;
}

hm_status hm_ad_const(hm_tape *t, int rank, const size_t *dim, const double *data, int *out) {
  hm_ad_node *y;
  hm_status s = new_node(t, HM_AD_CONST, rank, dim, 0, 0, &y);
  if (s) return s;
  if (y->size) memcpy(y->val, data, y->size * sizeof(double));
  *out = t->n - 1;
  return HM_OK;
}

/* ---- shape inference ------------------------------------------------------------------- */

typedef struct shape { int rank; size_t dim[3]; } shape;

static const char *shp(const hm_ad_node *x, char *buf) { return hm_ad_shapestr(x->rank, x->dim, buf); }

static hm_status broadcast_shape(const hm_ad_node *a, const hm_ad_node *b, shape *o, char *err, size_t el) {
  o->rank = a->rank > b->rank ? a->rank : b->rank;
  for (int r = 0; r < o->rank; r++) { /* r-th axis from the right */
    size_t da = r < a->rank ? a->dim[a->rank - 1 - r] : 1, db = r < b->rank ? b->dim[b->rank - 1 - r] : 1;
    if (da != db && da != 1 && db != 1) {
      char ba[80], bb[80];
      return hm_fail(err, el, HM_ESHAPE, "shapes %s and %s do not broadcast", shp(a, ba), shp(b, bb));
    }
    o->dim[o->rank - 1 - r] = da == 1 ? db : da;
  }
  return HM_OK;
}

static hm_status matmul_shape(const hm_ad_node *a, const hm_ad_node *b, hm_ad_attr *at, shape *o,
                              char *err, size_t el) {
  char ba[80], bb[80];
  int ra = a->rank, rb = b->rank, mode = at->mode;
  size_t k1 = 0, k2 = 0;
  if (mode == HM_AD_MM_BMV) {
    if (ra != 3 || rb != 2 || a->dim[0] != b->dim[0] || a->dim[2] != b->dim[1]) goto bad;
    o->rank = 2; o->dim[0] = a->dim[0]; o->dim[1] = a->dim[1];
    return HM_OK;
  }
  if (mode == HM_AD_MM_BVM) {
    if (ra != 2 || rb != 3 || a->dim[0] != b->dim[0] || a->dim[1] != b->dim[1]) goto bad;
    o->rank = 2; o->dim[0] = b->dim[0]; o->dim[1] = b->dim[2];
    return HM_OK;
  }
  /* plain products: the mode follows from the ranks, as mat's '*' */
  if (ra == 1 && rb == 1) return hm_fail(err, el, HM_ESHAPE, "two vectors (shapes %s and %s): use ad.sum(a:mul(b)) for a dot product", shp(a, ba), shp(b, bb));
  if (rb == 3 && ra != 3) goto bad;
  if (ra == 3 && rb == 3) {
    mode = HM_AD_MM_33; k1 = a->dim[2]; k2 = b->dim[1];
    if (a->dim[0] != b->dim[0]) goto bad;
    o->rank = 3; o->dim[0] = a->dim[0]; o->dim[1] = a->dim[1]; o->dim[2] = b->dim[2];
  } else if (rb == 2 && ra >= 2) {
    mode = HM_AD_MM_22; k1 = a->dim[ra - 1]; k2 = b->dim[0];
    o->rank = ra;
    for (int r = 0; r < ra - 1; r++) o->dim[r] = a->dim[r];
    o->dim[ra - 1] = b->dim[1];
  } else if (rb == 1) {
    mode = HM_AD_MM_21; k1 = a->dim[ra - 1]; k2 = b->dim[0];
    o->rank = ra - 1;
    for (int r = 0; r < ra - 1; r++) o->dim[r] = a->dim[r];
  } else { /* ra == 1, rb == 2 */
    mode = HM_AD_MM_12; k1 = a->dim[0]; k2 = b->dim[0];
    o->rank = 1; o->dim[0] = b->dim[1];
  }
  if (k1 != k2) goto bad;
  at->mode = mode;
  return HM_OK;
bad:
  return hm_fail(err, el, HM_ESHAPE, "shapes %s and %s do not conform", shp(a, ba), shp(b, bb));
}

static hm_status axis_ok(const hm_ad_node *x, int axis, char *err, size_t el) {
  char b[80];
  if (axis < 0 || axis >= x->rank)
    return hm_fail(err, el, HM_EARG, "axis %d out of range for shape %s", axis + 1, shp(x, b));
  return HM_OK;
}

/* the output shape of op, validating operands and attributes (at may be updated: mode) */
static hm_status infer(hm_tape *t, hm_ad_op op, const hm_ad_node *a, const hm_ad_node *b, hm_ad_attr *at,
                       shape *o, char *err, size_t el) {
  char ba[80], bb[80];
  o->rank = a->rank;
  memcpy(o->dim, a->dim, sizeof o->dim);
  switch (op) {
    case HM_AD_ADD: case HM_AD_SUB: case HM_AD_MUL: case HM_AD_DIV:
      return broadcast_shape(a, b, o, err, el);
    case HM_AD_MATMUL: return matmul_shape(a, b, at, o, err, el);
    case HM_AD_SUM: case HM_AD_MEAN: case HM_AD_LOGSUMEXP:
      if (at->axis < 0 && op != HM_AD_LOGSUMEXP) { o->rank = 1; o->dim[0] = 1; return HM_OK; }
      if (axis_ok(a, at->axis, err, el)) return HM_EARG;
      if (a->rank == 1) { o->dim[0] = 1; return HM_OK; }
      for (int r = at->axis; r < a->rank - 1; r++) o->dim[r] = a->dim[r + 1];
      o->rank = a->rank - 1;
      return HM_OK;
    case HM_AD_SOFTMAX: case HM_AD_LOG_SOFTMAX:
      return axis_ok(a, at->axis, err, el);
    case HM_AD_TRANSPOSE:
      if (a->rank < 2) return hm_fail(err, el, HM_ESHAPE, "rank-2 or rank-3 operand expected, got shape %s", shp(a, ba));
      o->dim[a->rank - 1] = a->dim[a->rank - 2];
      o->dim[a->rank - 2] = a->dim[a->rank - 1];
      return HM_OK;
    case HM_AD_RESHAPE: {
      size_t sz;
      if (at->rank < 1 || at->rank > 3 || shape_size(at->rank, at->dim, &sz) || sz != a->size)
        return hm_fail(err, el, HM_ESHAPE, "cannot reshape %s (%zu elements) to %s", shp(a, ba), a->size,
                       hm_ad_shapestr(at->rank < 1 || at->rank > 3 ? 0 : at->rank, at->dim, bb));
      o->rank = at->rank;
      memcpy(o->dim, at->dim, sizeof o->dim);
      return HM_OK;
    }
    case HM_AD_SLICE:
      if (axis_ok(a, at->axis, err, el)) return HM_EARG;
      if (at->count == 0 || at->from >= a->dim[at->axis] || at->count > a->dim[at->axis] - at->from)
        return hm_fail(err, el, HM_EARG, "range %zu..%zu out of 1..%zu on axis %d", at->from + 1,
                       at->from + at->count, a->dim[at->axis], at->axis + 1);
      o->dim[at->axis] = at->count;
      return HM_OK;
    case HM_AD_GATHER:
      if (a->rank != 2) return hm_fail(err, el, HM_ESHAPE, "table of rank 2 expected, got shape %s", shp(a, ba));
      for (size_t i = 0, ni = at->idx_rank == 2 ? at->idx_dim[0] * at->idx_dim[1] : at->idx_dim[0]; i < ni; i++)
        if (at->idx[i] >= a->dim[0])
          return hm_fail(err, el, HM_EARG, "index %zu out of range 1..%zu", at->idx[i] + 1, a->dim[0]);
      o->rank = at->idx_rank + 1;
      o->dim[0] = at->idx_dim[0];
      if (at->idx_rank == 2) o->dim[1] = at->idx_dim[1];
      o->dim[o->rank - 1] = a->dim[1];
      return HM_OK;
    case HM_AD_PICK:
      if (a->rank < 2) return hm_fail(err, el, HM_ESHAPE, "rank-2 or rank-3 operand expected, got shape %s", shp(a, ba));
      if (at->idx_dim[0] != a->dim[0])
        return hm_fail(err, el, HM_ESHAPE, "%zu indices expected (one per row of %s), got %zu", a->dim[0], shp(a, ba), at->idx_dim[0]);
      for (size_t i = 0; i < at->idx_dim[0]; i++)
        if (at->idx[i] >= a->dim[1]) return hm_fail(err, el, HM_EARG, "index %zu out of range 1..%zu", at->idx[i] + 1, a->dim[1]);
      o->rank = a->rank - 1;
      o->dim[0] = a->dim[0];
      if (a->rank == 3) o->dim[1] = a->dim[2];
      return HM_OK;
    case HM_AD_LOG_MASS: {
      if (b->rank != a->rank || memcmp(a->dim, b->dim, sizeof a->dim))
        return hm_fail(err, el, HM_ESHAPE, "mask of shape %s expected, got %s", shp(a, ba), shp(b, bb));
      if (b->varying) return hm_fail(err, el, HM_EARG, "the mask must be a constant");
      size_t n = a->dim[a->rank - 1], rows = a->size / (n ? n : 1);
      for (size_t r = 0; r < rows; r++) {
        int any = 0;
        for (size_t j = 0; j < n; j++) {
          double m = b->val[r * n + j];
          if (m != 0.0 && m != 1.0) return hm_fail(err, el, HM_EARG, "mask entries must be 0 or 1, got %g", m);
          any |= m == 1.0;
        }
        if (!any) return hm_fail(err, el, HM_EARG, "mask row %zu selects no position", r + 1);
      }
      if (a->rank == 1) o->dim[0] = 1;
      else o->rank = a->rank - 1;
      return HM_OK;
    }
    case HM_AD_CONCAT:
      if (axis_ok(a, at->axis, err, el)) return HM_EARG;
      if (b->rank != a->rank) goto noconcat;
      for (int r = 0; r < a->rank; r++)
        if (r != at->axis && a->dim[r] != b->dim[r]) goto noconcat;
      o->dim[at->axis] = a->dim[at->axis] + b->dim[at->axis];
      return HM_OK;
    noconcat:
      return hm_fail(err, el, HM_ESHAPE, "shapes %s and %s cannot be concatenated along axis %d", shp(a, ba), shp(b, bb), at->axis + 1);
    case HM_AD_ATTEND:
      if (a->rank != 2 || (b->rank != 2 && b->rank != 3) || b->dim[0] != a->dim[0] || b->dim[1] != a->dim[1])
        return hm_fail(err, el, HM_ESHAPE, "logits n x T and values n x T or n x T x d expected, got %s and %s",
                       shp(a, ba), shp(b, bb));
      o->rank = b->rank - 1;
      o->dim[0] = a->dim[0];
      if (b->rank == 3) o->dim[1] = b->dim[2];
      return HM_OK;
    default:
      (void)t;
      return HM_OK; /* element-wise: same shape */
  }
}

static int has_second(hm_ad_op op) {
  return op == HM_AD_ADD || op == HM_AD_SUB || op == HM_AD_MUL || op == HM_AD_DIV || op == HM_AD_MATMUL ||
         op == HM_AD_LOG_MASS || op == HM_AD_CONCAT || op == HM_AD_ATTEND;
}

hm_status hm_ad_push(hm_tape *t, hm_ad_op op, int in0, int in1, const hm_ad_attr *a, int *out,
                     char *err, size_t errlen) {
  if (op <= HM_AD_CONST || op >= HM_AD_NOPS) return hm_fail(err, errlen, HM_EARG, "bad op");
  int two = has_second(op);
  if (in0 < 0 || in0 >= t->n || (two && (in1 < 0 || in1 >= t->n)))
    return hm_fail(err, errlen, HM_EARG, "operand is not a node of this tape");
  hm_ad_attr at;
  if (a) at = *a;
  else memset(&at, 0, sizeof at);
  shape o;
  hm_status s = infer(t, op, &t->node[in0], two ? &t->node[in1] : NULL, &at, &o, err, errlen);
  if (s) return s;
  if (op == HM_AD_MATMUL && at.mode == HM_AD_MM_22 && t->node[in1].op == HM_AD_TRANSPOSE &&
      t->node[in1].rank == 2) {
    in1 = t->node[in1].in[0]; /* read the matrix itself: its transpose is then never evaluated */
    at.tb = 1;
  }
  int varying = t->node[in0].varying || (two && t->node[in1].varying);
  size_t nidx = 0;
  if (op == HM_AD_GATHER) nidx = at.idx_rank == 2 ? at.idx_dim[0] * at.idx_dim[1] : at.idx_dim[0];
  if (op == HM_AD_PICK) nidx = at.idx_dim[0];
  size_t *idx = NULL;
  if (nidx) {
    if (!(idx = (size_t *)malloc(nidx * sizeof(size_t)))) return HM_ENOMEM;
    memcpy(idx, at.idx, nidx * sizeof(size_t));
  }
  hm_ad_node *y;
  if ((s = new_node(t, op, o.rank, o.dim, varying, 0, &y))) {
    free(idx);
    return s;
  }
  if (op == HM_AD_ATTEND && !(y->aux = (double *)calloc(t->node[in0].size ? t->node[in0].size : 1, sizeof(double)))) {
    t->n--; /* drop the half-made node */
    free(y->val);
    free(y->grad);
    free(idx);
    return HM_ENOMEM;
  }
  y->in[0] = in0;
  y->in[1] = two ? in1 : -1;
  y->a = at;
  y->idx = idx;
  y->a.idx = idx;
  hm_ad_forward_node(t, y);
  *out = t->n - 1;
  return HM_OK;
}

void hm_tape_invalidate(hm_tape *t) { t->gen++; }

hm_status hm_tape_eval(hm_tape *t, int id) {
  if (id < 0 || id >= t->n) return HM_EARG;
  if (t->node[id].gen == t->gen) return HM_OK;
  if (t->need_cap < t->n) {
    unsigned char *nd = (unsigned char *)realloc(t->need, (size_t)t->n);
    if (!nd) return HM_ENOMEM;
    t->need = nd;
    t->need_cap = t->n;
  }
  memset(t->need, 0, (size_t)id + 1);
  t->need[id] = 1;
  for (int i = id; i >= 0; i--) { /* stale varying ancestors of id */
    if (!t->need[i]) continue;
    const hm_ad_node *y = &t->node[i];
    for (int k = 0; k < 2; k++) {
      int j = y->in[k];
      if (j >= 0 && t->node[j].varying && t->node[j].gen != t->gen) t->need[j] = 1;
    }
  }
  for (int i = 0; i <= id; i++) {
    hm_ad_node *y = &t->node[i];
    if (!t->need[i]) continue;
    if (y->op != HM_AD_VAR) hm_ad_forward_node(t, y);
    y->gen = t->gen;
  }
  return HM_OK;
}

void hm_tape_forward(hm_tape *t) {
  t->gen++;
  for (int i = 0; i < t->n; i++) {
    hm_ad_node *y = &t->node[i];
    if (y->varying && y->op != HM_AD_VAR) hm_ad_forward_node(t, y);
    y->gen = t->gen;
  }
}

/* mark the nodes out depends on (through varying operands) */
static void mark_live(hm_tape *t, int out) {
  for (int i = 0; i < t->n; i++) t->node[i].live = 0;
  t->node[out].live = 1;
  for (int i = out; i >= 0; i--) {
    hm_ad_node *y = &t->node[i];
    if (!y->live) continue;
    for (int k = 0; k < 2; k++)
      if (y->in[k] >= 0 && t->node[y->in[k]].varying) t->node[y->in[k]].live = 1;
  }
  t->live_for = out;
}

hm_status hm_tape_backward(hm_tape *t, int out) {
  if (out < 0 || out >= t->n || t->node[out].size != 1) return HM_EARG;
  if (t->live_for != out) mark_live(t, out);
  for (int i = 0; i < t->n; i++) { /* the variables' and every live node's gradient */
    hm_ad_node *y = &t->node[i];
    if (y->grad && (y->live || y->op == HM_AD_VAR)) memset(y->grad, 0, y->size * sizeof(double));
  }
  if (!t->node[out].varying) return HM_OK; /* a constant output: every gradient is 0 */
  t->node[out].grad[0] = 1.0;
  for (int i = out; i >= 0; i--) {
    hm_ad_node *y = &t->node[i];
    if (y->live && y->op > HM_AD_CONST) hm_ad_backward_node(t, y);
  }
  return HM_OK;
}
