/* Reverse-mode automatic differentiation over dense arrays of rank 1..3 (docs/ad.md).
 *
 * A tape is a list of nodes in creation (= topological) order. Each node owns its value
 * buffer (a variable's value is external: it aliases the caller's parameter storage) and, if
 * it depends on a variable, a gradient buffer. Nodes are created with hm_ad_push, which
 * checks shapes and evaluates the node at once (so a trace is also the first forward pass);
 * after the variables change (hm_tape_invalidate), hm_tape_eval re-evaluates the nodes a
 * given node depends on (nodes of constants only are folded: computed once at creation),
 * hm_tape_backward sweeps the tape in reverse over the nodes the output depends on.
 * All buffers are allocated at creation, so replaying a tape allocates nothing.
 *
 * The saturated regime is exact: softmax, log-softmax, logsumexp and the log-mass op are
 * max-shifted and their backward passes never form 1 - s (theory.md D.5): the softmax
 * Jacobian-vector product is taken relative to the slice's argmax,
 *   dx_t = y_t ((dy_t - dy_m) - sum_{u != m} y_u (dy_u - dy_m)),
 * log-softmax uses 1 - p_m = sum_{u != m} p_u, and log_mass (log of the softmax mass of a
 * set S, the cross-entropy and next-token losses) has gradient q_t P_out on S and -p_t
 * outside, with P_out the mass outside S summed from its own (small) terms. */
#ifndef HM_AD_H
#define HM_AD_H

#include <stddef.h>
#include "hm_status.h"

typedef enum hm_ad_op {
  HM_AD_VAR = 0, HM_AD_CONST,
  /* element-wise with NumPy broadcasting (trailing axes aligned, size-1 axes stretched) */
  HM_AD_ADD, HM_AD_SUB, HM_AD_MUL, HM_AD_DIV,
  /* with the scalar attribute s: s*x, x+s, s-x, s/x, x^s */
  HM_AD_SCALE, HM_AD_SHIFT, HM_AD_RSUB, HM_AD_RDIV, HM_AD_POW,
  /* element-wise functions */
  HM_AD_EXP, HM_AD_LOG, HM_AD_LOG1P, HM_AD_RELU, HM_AD_TANH, HM_AD_SIGMOID, HM_AD_ABS,
  /* margin losses, element-wise: log(1+e^-x), e^-x */
  HM_AD_LOGISTIC, HM_AD_EXPONENTIAL,
  HM_AD_MATMUL,        /* attribute mode: HM_AD_MM_* */
  HM_AD_SUM, HM_AD_MEAN, /* attribute axis (-1: all elements -> a scalar) */
  HM_AD_TRANSPOSE,     /* rank 2, or the last two axes of rank 3 */
  HM_AD_RESHAPE,       /* attribute rank, dim */
  HM_AD_SLICE,         /* attributes axis, from, count */
  HM_AD_GATHER,        /* rows of a rank-2 table by an index array of rank 1 or 2 */
  HM_AD_PICK,          /* y[b] = x[b, idx_b] along axis 1 of a rank-2 or rank-3 x */
  HM_AD_SOFTMAX, HM_AD_LOG_SOFTMAX, HM_AD_LOGSUMEXP, /* along attribute axis */
  HM_AD_LOG_MASS,      /* log sum_{t in S} softmax(x)_t along the last axis; in[1]: 0/1 mask */
  HM_AD_CONCAT,        /* in[0], in[1] along attribute axis */
  HM_AD_ATTEND,        /* fused attention: y_i = sum_t softmax(a_i)_t v_it for logits a = in[0]
                        * (n x T) and values v = in[1] (n x T -> y n; n x T x d -> y n x d) */
  HM_AD_NOPS
} hm_ad_op;

/* matrix-product modes (shapes: A = in[0], B = in[1]) */
enum {
  HM_AD_MM_22 = 0, /* (m x k)(k x n) -> m x n; also (b x m x k)(k x n) -> b x m x n */
  HM_AD_MM_21,     /* (m x k)(k) -> m; also (b x m x k)(k) -> b x m */
  HM_AD_MM_12,     /* (k)(k x n) -> n */
  HM_AD_MM_33,     /* (b x m x k)(b x k x n) -> b x m x n */
  HM_AD_MM_BMV,    /* (b x m x k)(b x k) -> b x m:  y_i = A_i x_i */
  HM_AD_MM_BVM     /* (b x m)(b x m x k) -> b x k:  y_i = B_i^T a_i */
};

typedef struct hm_ad_attr {
  int axis;              /* 0-based; -1 = all (sum / mean) */
  int mode;              /* HM_AD_MM_* */
  int tb;                /* MM_22 only: in[1] holds B transposed (set by hm_ad_push when B is
                          * the transpose of a matrix: a * W:t() reads W, no copy) */
  double s;              /* scalar of SCALE..POW */
  int rank;              /* RESHAPE */
  size_t dim[3];
  size_t from, count;    /* SLICE */
  const size_t *idx;     /* GATHER / PICK: 0-based indices (copied into the node) */
  int idx_rank;          /* GATHER: 1 or 2 */
  size_t idx_dim[2];
} hm_ad_attr;

typedef struct hm_ad_node {
  hm_ad_op op;
  int rank;
  size_t dim[3];
  size_t size;
  int in[2];             /* operand nodes, -1 if absent */
  hm_ad_attr a;          /* a.idx points to idx below */
  size_t *idx;
  double *aux;           /* ATTEND: the probabilities of the last evaluation (n x T) */
  double *val, *grad;    /* grad is NULL unless the node depends on a variable */
  int external;          /* val belongs to the caller (variables) */
  int varying;           /* depends on a variable */
  int live;              /* contributes to the output of the last backward */
  unsigned long gen;     /* the tape generation its value belongs to */
} hm_ad_node;

typedef struct hm_tape {
  hm_ad_node *node;
  int n, cap;
  int live_for;          /* output node whose liveness is marked, -1 none */
  unsigned long gen;     /* bumped when the variables change (hm_tape_invalidate) */
  unsigned char *need;   /* scratch of hm_tape_eval, one flag per node */
  int need_cap;
} hm_tape;

void hm_tape_init(hm_tape *t);
void hm_tape_free(hm_tape *t);

/* A variable of the given shape whose value is the caller's storage ext (size elements,
 * which must stay valid for the tape's lifetime); a constant copies data. *out = node id. */
hm_status hm_ad_var(hm_tape *t, int rank, const size_t *dim, double *ext, int *out);
hm_status hm_ad_const(hm_tape *t, int rank, const size_t *dim, const double *data, int *out);

/* Append op over the operand nodes in0 (and in1, or -1) with attributes a (may be NULL when
 * the op has none), evaluate it, *out = new node id. HM_ESHAPE / HM_EARG with a message in
 * err ("shapes 2x3 and 4 do not broadcast") for bad operands; HM_ENOMEM. */
hm_status hm_ad_push(hm_tape *t, hm_ad_op op, int in0, int in1, const hm_ad_attr *a, int *out,
                     char *err, size_t errlen);

/* The variables changed: every node that depends on one is stale. */
void hm_tape_invalidate(hm_tape *t);
/* Bring node `id` up to date, evaluating only the stale nodes it depends on (so outputs that
 * are only recorded now and then cost nothing on the other evaluations). HM_ENOMEM. */
hm_status hm_tape_eval(hm_tape *t, int id);
/* hm_tape_invalidate, then re-evaluate every node. */
void hm_tape_forward(hm_tape *t);
/* d out / d node for every node out depends on (out must have one element and be up to
 * date, hm_tape_eval): the gradient of each variable is then in node[var].grad. */
hm_status hm_tape_backward(hm_tape *t, int out);

/* "2x3x4" into buf (80 bytes) */
const char *hm_ad_shapestr(int rank, const size_t *dim, char *buf);
/* op name as used in docs and errors ("matmul", "log_softmax", ...) */
const char *hm_ad_opname(hm_ad_op op);

/* ---- kernels (hm_ad_ops.c), used by hm_ad.c ---------------------------------------------- */
void hm_ad_forward_node(hm_tape *t, hm_ad_node *y);
void hm_ad_backward_node(hm_tape *t, hm_ad_node *y);

#endif
