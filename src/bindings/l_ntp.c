/* Next-token prediction (docs/ntp.md): data.ntp (generator), svm.ntp_graph (token-priority
 * graphs and their SCCs), svm.ntp (graph SVM, W_fin, S_fin) and model.ntp (the one-layer
 * self-attention NTP model, an hm_objective for optim.train). Numerics in hm_ntp.c.
 *
 * An NTP dataset is a Lua table {E = K x d mat, tokens = n x T (1-based), labels = n
 * (1-based), ...}; data.ntp returns one (with X = E[tokens] as well). The model is in
 * l_ntp_model.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hm_ldata.h"
#include "hm_lntp.h"
#include "hm_lsvm.h"
#include "hm_lsvm_args.h"
#include "hm_ntp.h"
#include "hm_svm.h"


/* ---- datasets -------------------------------------------------------------------------- */

void hmL_ntp_buf_free(ntp_buf *b) {
  free(b->E);
  free(b->tok);
  free(b->lab);
  free(b->sel);
  free(b->excl);
  memset(b, 0, sizeof *b);
}

/* Optional n x T 0/1 field key of the dataset at idx into a malloc'd flag array *out (a
 * field of b; NULL when absent); raises on a bad shape or value (b is freed first). */
static void read_flags(lua_State *L, int idx, const char *key, ntp_buf *b, unsigned char **out,
                       const char *fn, int argn) {
  *out = NULL;
  lua_getfield(L, idx, key);
  int absent = lua_isnil(L, -1);
  lua_pop(L, 1);
  if (absent) return;
  svm_arr a;
  char what[64];
  snprintf(what, sizeof what, "field %s", key);
  lua_getfield(L, idx, key);
  if (!hmL_svm_toarr(L, lua_gettop(L), fn, what, &a) || a.rank != 2 || a.dim[0] != b->n ||
      a.dim[1] != b->T) {
    int n = (int)b->n, T = (int)b->T;
    hmL_ntp_buf_free(b);
    hmL_argerror(L, fn, argn, "NTP dataset field '%s': %dx%d array of 0/1 expected", key, n, T);
  }
  unsigned char *f = malloc(b->n * b->T > 0 ? b->n * b->T : 1);
  if (!f) {
    hmL_ntp_buf_free(b);
    hmL_check(L, fn, HM_ENOMEM);
  }
  *out = f; /* owned by b from here on */
  for (size_t k = 0; k < b->n * b->T; k++) {
    if (a.data[k] != 0 && a.data[k] != 1) {
      hmL_ntp_buf_free(b);
      hmL_argerror(L, fn, argn, "NTP dataset field '%s': entries must be 0 or 1", key);
    }
    f[k] = a.data[k] != 0;
  }
}

static void field_arr(lua_State *L, int idx, const char *key, int rank, const char *fn, int argn,
                      svm_arr *a) {
  lua_getfield(L, idx, key);
  char what[64];
  snprintf(what, sizeof what, "field %s", key);
  if (!hmL_svm_toarr(L, lua_gettop(L), fn, what, a))
    hmL_argerror(L, fn, argn, "NTP dataset field '%s': mat or table expected, got %s", key,
                 luaL_typename(L, -1));
  if (a->rank != rank && !(rank == 1 && a->rank == 2 && (a->dim[0] == 1 || a->dim[1] == 1)))
    hmL_argerror(L, fn, argn, "NTP dataset field '%s': rank-%d array expected, got rank %d", key,
                 rank, a->rank);
  /* the value (or its converted copy) stays on the stack: a->data stays valid */
}

/* Read the dataset table at idx into b (malloc'd copies, 0-based indices). */
void hmL_ntp_read(lua_State *L, int idx, const char *fn, int argn, ntp_buf *b) {
  if (!lua_istable(L, idx))
    hmL_argerror(L, fn, argn, "NTP dataset table {E=, tokens=, labels=} expected, got %s",
                 luaL_typename(L, idx));
  int top = lua_gettop(L);
  svm_arr E, X, Y;
  field_arr(L, idx, "E", 2, fn, argn, &E);
  field_arr(L, idx, "tokens", 2, fn, argn, &X);
  field_arr(L, idx, "labels", 1, fn, argn, &Y);
  size_t K = E.dim[0], d = E.dim[1], n = X.dim[0], T = X.dim[1];
  if (Y.size != n)
    hmL_argerror(L, fn, argn, "NTP dataset: %d labels for %d sequences", (int)Y.size, (int)n);
  ntp_buf nb = {n, T, K, d, malloc((K * d > 0 ? K * d : 1) * sizeof(double)),
                malloc((n * T > 0 ? n * T : 1) * sizeof(size_t)), malloc((n ? n : 1) * sizeof(size_t)), NULL, NULL};
  if (!nb.E || !nb.tok || !nb.lab) {
    hmL_ntp_buf_free(&nb);
    hmL_check(L, fn, HM_ENOMEM);
  }
  memcpy(nb.E, E.data, K * d * sizeof(double));
  for (size_t k = 0; k < n * T + n; k++) {
    double v = k < n * T ? X.data[k] : Y.data[k - n * T];
    if (!(v >= 1 && v <= (double)K && v == floor(v))) {
      hmL_ntp_buf_free(&nb);
      if (k < n * T)
        hmL_argerror(L, fn, argn, "NTP dataset: token %d of sequence %d must be an integer in 1..%d",
                     (int)(k % T + 1), (int)(k / T + 1), (int)K);
      hmL_argerror(L, fn, argn, "NTP dataset: label %d must be an integer in 1..%d", (int)(k - n * T + 1), (int)K);
    }
    if (k < n * T) nb.tok[k] = (size_t)v - 1;
    else nb.lab[k - n * T] = (size_t)v - 1;
  }
  read_flags(L, idx, "selected", &nb, &nb.sel, fn, argn);
  read_flags(L, idx, "excluded", &nb, &nb.excl, fn, argn);
  lua_settop(L, top);
  hm_ntp_data D = {nb.n, nb.T, nb.K, nb.d, nb.E, nb.tok, nb.lab, nb.sel, nb.excl, HM_NTP_NLL};
  char msg[160];
  hm_status st = hm_ntp_check(&D, msg);
  if (st != HM_OK) {
    hmL_ntp_buf_free(&nb);
    hmL_argerror(L, fn, argn, "NTP dataset: %s", msg);
  }
  hmL_ntp_buf_free(b);
  *b = nb;
}

/* A scratch-owned copy (freed with the stack) for functions that do not keep the data. */
static hm_ntp_data scratch_ntp(lua_State *L, int idx, const char *fn, int argn) {
  ntp_buf b;
  memset(&b, 0, sizeof b);
  hmL_ntp_read(L, idx, fn, argn, &b);
  double *E = hmL_svm_scratch(L, b.K * b.d * sizeof *E);
  size_t *tok = hmL_svm_scratch(L, b.n * b.T * sizeof *tok), *lab = hmL_svm_scratch(L, b.n * sizeof *lab);
  memcpy(E, b.E, b.K * b.d * sizeof *E);
  memcpy(tok, b.tok, b.n * b.T * sizeof *tok);
  memcpy(lab, b.lab, b.n * sizeof *lab);
  unsigned char *sel = NULL, *excl = NULL;
  if (b.sel) memcpy(sel = hmL_svm_scratch(L, b.n * b.T), b.sel, b.n * b.T);
  if (b.excl) memcpy(excl = hmL_svm_scratch(L, b.n * b.T), b.excl, b.n * b.T);
  hm_ntp_data D = {b.n, b.T, b.K, b.d, E, tok, lab, sel, excl, HM_NTP_NLL};
  hmL_ntp_buf_free(&b);
  return D;
}

static void push_index_mat(lua_State *L, const size_t *v, size_t r, size_t c, const char *fn) {
  hm_mat *m = c ? hmL_newmat2(L, r, c, fn) : hmL_newvec(L, r, fn);
  for (size_t k = 0; k < (c ? r * c : r); k++) m->data[k] = (double)v[k] + 1;
}

/* data.ntp{n=, T=, K=, d=, embedding=, rho=, cyclic=, seed=|rng=} */
static int data_ntp(lua_State *L) {
  const char *fn = "data.ntp";
  static const char *const keys[] = {"n", "T", "K", "d", "embedding", "rho", "cyclic", "seed", "rng", NULL};
  if (!lua_istable(L, 1)) hmL_argerror(L, fn, 1, "options table expected, got %s", luaL_typename(L, 1));
  lua_settop(L, 1);
  hmL_checkoptions(L, 1, fn, keys);
  lua_Integer n = hmL_optinteger(L, 1, "n", 6, fn), T = hmL_optinteger(L, 1, "T", 4, fn);
  lua_Integer K = hmL_optinteger(L, 1, "K", 6, fn), d = hmL_optinteger(L, 1, "d", 8, fn);
  if (n < 1 || T < 1 || K < 1 || d < 1 || n > 10000000 || K > 100000 || d > 100000 || T > K)
    hmL_error(L, fn, "need n, T, K, d >= 1 and T <= K (distinct tokens), got n=%I T=%I K=%I d=%I",
              n, T, K, d);
  const char *emb = hmL_optstring(L, 1, "embedding", "random", fn);
  int kind = strcmp(emb, "random") == 0 ? 0 : strcmp(emb, "orthonormal") == 0 ? 1
             : strcmp(emb, "equicorrelated") == 0 ? 2 : -1;
  if (kind < 0)
    hmL_error(L, fn, "option 'embedding': \"random\", \"orthonormal\" or \"equicorrelated\" expected, got \"%s\"", emb);
  if (kind == 1 && K > d) hmL_error(L, fn, "orthonormal embedding needs K <= d (K=%I, d=%I)", K, d);
  if (kind == 2 && K + 1 > d) hmL_error(L, fn, "equicorrelated embedding needs K + 1 <= d (K=%I, d=%I)", K, d);
  double rho = hmL_optnumber(L, 1, "rho", 0.5, fn);
  if (kind == 2 && !(rho >= 0 && rho < 1)) hmL_error(L, fn, "option 'rho' must lie in [0, 1), got %g", rho);
  int cyclic = 1;
  if (hmL_optfield(L, 1, "cyclic") != LUA_TNIL) {
    if (lua_isboolean(L, -1)) cyclic = lua_toboolean(L, -1) ? 1 : -1;
    else if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "any") == 0) cyclic = 0;
    else hmL_error(L, fn, "option 'cyclic': true, false or \"any\" expected");
  }
  lua_pop(L, 1);
  hm_rng local;
  int has_seed;
  lua_Integer seed;
  hm_rng *g = hmL_data_optrng(L, 1, fn, &local, &has_seed, &seed);
  size_t un = (size_t)n, uT = (size_t)T, uK = (size_t)K, ud = (size_t)d;
  lua_newtable(L);
  int out = lua_gettop(L);
  hm_mat *E = hmL_newmat2(L, uK, ud, fn);
  lua_setfield(L, out, "E");
  size_t *tok = hmL_svm_scratch(L, un * uT * sizeof *tok), *lab = hmL_svm_scratch(L, un * sizeof *lab);
  int draws = 0;
  hm_status st = hm_ntp_generate(g, un, uT, uK, ud, kind, rho, cyclic, E->data, tok, lab, &draws);
  if (st == HM_ENOCONV)
    hmL_error(L, fn, "no draw in 10000 met cyclic = %s", cyclic > 0 ? "true" : "false");
  hmL_check(L, fn, st);
  push_index_mat(L, tok, un, uT, fn);
  lua_setfield(L, out, "tokens");
  push_index_mat(L, lab, un, 0, fn);
  lua_setfield(L, out, "labels");
  hm_mat *X = hmL_newmat3(L, un, uT, ud, fn);
  for (size_t i = 0; i < un * uT; i++) memcpy(X->data + i * ud, E->data + tok[i] * ud, ud * sizeof(double));
  lua_setfield(L, out, "X");
  lua_pushinteger(L, n), lua_setfield(L, out, "n");
  lua_pushinteger(L, T), lua_setfield(L, out, "T");
  lua_pushinteger(L, K), lua_setfield(L, out, "K");
  lua_pushinteger(L, d), lua_setfield(L, out, "d");
  lua_pushstring(L, emb), lua_setfield(L, out, "embedding");
  lua_pushinteger(L, draws), lua_setfield(L, out, "draws");
  lua_settop(L, out);
  return 1;
}

/* ---- graphs and the graph SVM ---------------------------------------------------------- */

/* Push comp (K x K, 1-based ids), ncomp and present (arrays of K) into the table on top. */
static void push_graph(lua_State *L, const hm_ntp_data *D, const size_t *comp, const size_t *nc,
                       const size_t *pres, const char *fn) {
  size_t K = D->K;
  push_index_mat(L, comp, K, K, fn);
  lua_setfield(L, -2, "comp");
  lua_createtable(L, (int)K, 0);
  for (size_t k = 0; k < K; k++) {
    lua_pushinteger(L, (lua_Integer)nc[k]);
    lua_rawseti(L, -2, (lua_Integer)k + 1);
  }
  lua_setfield(L, -2, "ncomp");
  lua_createtable(L, (int)K, 0);
  for (size_t k = 0; k < K; k++) {
    lua_pushinteger(L, (lua_Integer)pres[k]);
    lua_rawseti(L, -2, (lua_Integer)k + 1);
  }
  lua_setfield(L, -2, "present");
  /* cyclic: some present G^(k) has a component with two or more tokens */
  int cyc = 0;
  for (size_t k = 0; k < K && !cyc; k++)
    for (size_t v = 0; v < K && pres[k] && !cyc; v++)
      for (size_t u = 0; u < v && !cyc; u++) cyc = comp[k * K + u] == comp[k * K + v];
  lua_pushboolean(L, cyc);
  lua_setfield(L, -2, "cyclic");
}

static void graph_of(lua_State *L, const hm_ntp_data *D, size_t **comp, size_t **nc, size_t **pres,
                     const char *fn) {
  size_t K = D->K;
  *comp = hmL_svm_scratch(L, K * K * sizeof **comp);
  *nc = hmL_svm_scratch(L, K * sizeof **nc);
  *pres = hmL_svm_scratch(L, K * sizeof **pres);
  hmL_check(L, fn, hm_ntp_graph(D, *comp, *nc, *pres));
}

/* svm.ntp_graph(ds) -> {comp, ncomp, present, cyclic} */
static int svm_ntp_graph(lua_State *L) {
  const char *fn = "svm.ntp_graph";
  lua_settop(L, 1);
  luaL_checkstack(L, 40, fn);
  hm_ntp_data D = scratch_ntp(L, 1, fn, 1);
  size_t *comp, *nc, *pres;
  graph_of(L, &D, &comp, &nc, &pres, fn);
  lua_newtable(L);
  push_graph(L, &D, comp, nc, pres, fn);
  return 1;
}

/* svm.ntp(ds, {norm=, tol=, ...}) -> graph-SVM result with W, W_fin, S_fin, comp, ... */
static int svm_ntp(lua_State *L) {
  const char *fn = "svm.ntp";
  static const char *const allowed[] = {"norm", HM_LSVM_COMMON_OPTS, NULL};
  hmL_svm_enter(L, fn, 2, allowed);
  hm_ntp_data D = scratch_ntp(L, 1, fn, 1);
  svm_norm ns;
  hmL_svm_getnorm(L, 2, "norm", fn, 1, &ns);
  if (ns.kind > 1) hmL_error(L, fn, "norm must be \"fro\" or \"nuc\"");
  svm_sopts so;
  hmL_svm_getsopts(L, 2, fn, &so);
  size_t *comp, *nc, *pres;
  graph_of(L, &D, &comp, &nc, &pres, fn);
  size_t n = D.n, T = D.T, K = D.K, d = D.d, cap = n * T * (T > 1 ? T - 1 : 1), m = 0, dd = d * d;
  double *A = hmL_svm_scratch(L, cap * d * sizeof *A), *Zr = hmL_svm_scratch(L, cap * d * sizeof *Zr);
  double *b = hmL_svm_scratch(L, cap * sizeof *b);
  unsigned char *eq = hmL_svm_scratch(L, cap);
  size_t *smp = hmL_svm_scratch(L, cap * sizeof *smp), *tk = hmL_svm_scratch(L, cap * sizeof *tk);
  hmL_check(L, fn, hm_ntp_rows(&D, comp, A, Zr, b, eq, smp, tk, &m));
  size_t ne = 0;
  for (size_t k = 0; k < m; k++) ne += eq[k];
  hm_wcons c = {m, d, A, Zr, b, ne ? eq : NULL};
  svm_rowinfo ri = {1, n, T, smp, NULL, tk};
  if (ns.kind == 1 && so.o.tol == 1e-9) so.o.tol = 1e-6; /* the nuclear IPM's default */
  hmL_svm_solve_rows(L, fn, &c, cap, &ri, &ns, &so);
  int res = lua_gettop(L);
  lua_getfield(L, res, "status");
  int infeas = strcmp(lua_tostring(L, -1), "infeasible") == 0;
  lua_pop(L, 1);
  if (!infeas) {
    lua_getfield(L, res, "W");
    hm_mat *W = hmL_checkmat(L, -1, fn);
    lua_pop(L, 1);
    lua_pushnumber(L, hm_svm_eq_residual_w(&c, W->data));
    lua_setfield(L, res, "eq_residual");
  }
  lua_pushinteger(L, (lua_Integer)ne), lua_setfield(L, res, "n_eq");
  lua_pushinteger(L, (lua_Integer)(m - ne)), lua_setfield(L, res, "n_ineq");
  lua_createtable(L, (int)m, 0);
  for (size_t k = 0; k < m; k++) {
    lua_pushboolean(L, eq[k]);
    lua_rawseti(L, -2, (lua_Integer)k + 1);
  }
  lua_setfield(L, res, "eq");
  lua_pushvalue(L, res);
  push_graph(L, &D, comp, nc, pres, fn);
  lua_pop(L, 1);
  /* S_fin and W_fin */
  size_t ng = hm_ntp_sfin_generators(comp, pres, K);
  double *B = hmL_svm_scratch(L, (ng < dd ? ng : dd) * dd * sizeof *B + 1);
  size_t r = 0;
  hmL_check(L, fn, hm_ntp_sfin(&D, comp, pres, B, &r));
  hm_mat *Sf = hmL_newmat3(L, r, d, d, fn);
  memcpy(Sf->data, B, r * dd * sizeof *B);
  lua_setfield(L, res, "S_fin");
  hm_mat *Wf = hmL_newmat2(L, d, d, fn);
  double gn = 0;
  int it = 0;
  hm_status st = hm_ntp_wfin(&D, comp, B, r, Wf->data, &gn, &it);
  if (st != HM_OK && st != HM_ENOCONV) hmL_check(L, fn, st);
  lua_setfield(L, res, "W_fin");
  lua_newtable(L);
  lua_pushinteger(L, (lua_Integer)r), lua_setfield(L, -2, "dim");
  hmL_svm_setnum(L, "grad_norm", gn);
  lua_pushinteger(L, it), lua_setfield(L, -2, "iterations");
  lua_pushboolean(L, st == HM_OK), lua_setfield(L, -2, "converged");
  lua_setfield(L, res, "fin");
  lua_settop(L, res);
  return 1;
}

/* ---- registration ---------------------------------------------------------------------- */

void hmL_ntp_open_svm(lua_State *L) {
  lua_pushcfunction(L, svm_ntp);
  lua_setfield(L, -2, "ntp");
  lua_pushcfunction(L, svm_ntp_graph);
  lua_setfield(L, -2, "ntp_graph");
  hmL_ntps_open_svm(L);
}

void hmL_ntp_open_data(lua_State *L) {
  lua_pushcfunction(L, data_ntp);
  lua_setfield(L, -2, "ntp");
  hmL_ntps_open_data(L);
}
