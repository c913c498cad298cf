/* hardmax.optim — metric helpers on arrays: optim.corr, optim.bregman (directional Bregman
 * divergence, theory.md §B.5), optim.lp_norm, optim.lp_normalize and optim.project (the
 * balls of optim.regpath). */
#include <math.h>
#include <string.h>

#include "hm_loptim.h"
#include "hm_regpath.h"

int hmL_optim_corr(lua_State *L) {
  const char *fn = "optim.corr";
  hm_mat *a = hmL_checkmat(L, 1, fn), *b = hmL_checkmat(L, 2, fn);
  if (a->size != b->size) {
    char b1[80], b2[80];
    hmL_error(L, fn, "shapes %s and %s have different sizes", hmL_shapestr(a, b1), hmL_shapestr(b, b2));
  }
  lua_pushnumber(L, hm_corr(a->data, b->data, a->size));
  return 1;
}

static double check_p(lua_State *L, int arg, const char *fn, double lo) {
  double p = hmL_checkfinite(L, arg, fn);
  if (!(p > lo)) hmL_argerror(L, fn, arg, "p > %d expected, got %f", (int)lo, p);
  return p;
}

int hmL_optim_bregman(lua_State *L) {
  const char *fn = "optim.bregman";
  hm_mat *a = hmL_checkmat(L, 1, fn), *b = hmL_checkmat(L, 2, fn);
  double p = check_p(L, 3, fn, 1.0);
  if (a->size != b->size) {
    char b1[80], b2[80];
    hmL_error(L, fn, "shapes %s and %s have different sizes", hmL_shapestr(a, b1), hmL_shapestr(b, b2));
  }
  if (!hm_all_finite(a->data, a->size) || !hm_all_finite(b->data, b->size))
    hmL_error(L, fn, "non-finite entries");
  double v = hm_bregman_dir(a->data, b->data, a->size, p);
  if (isnan(v)) hmL_error(L, fn, "an argument is zero (its direction is undefined)");
  lua_pushnumber(L, v);
  return 1;
}

int hmL_optim_lp_normalize(lua_State *L) {
  const char *fn = "optim.lp_normalize";
  hm_mat *a = hmL_checkmat(L, 1, fn);
  double p = lua_isnoneornil(L, 2) ? 2.0 : hmL_checkfinite(L, 2, fn);
  if (!(p > 0.0)) hmL_argerror(L, fn, 2, "p > 0 expected, got %f", p);
  hm_mat *y = hmL_newmat(L, a->rank, a->dim, fn);
  hm_status s = hm_lp_normalize(a->data, y->data, a->size, p);
  if (s == HM_EARG) hmL_error(L, fn, "cannot normalize a zero array");
  if (s == HM_ENONFINITE) hmL_error(L, fn, "non-finite entries");
  return 1;
}

int hmL_optim_lp_norm(lua_State *L) {
  const char *fn = "optim.lp_norm";
  hm_mat *a = hmL_checkmat(L, 1, fn);
  double p = 2.0;
  if (!lua_isnoneornil(L, 2)) {
    if (!lua_isnumber(L, 2)) hmL_argerror(L, fn, 2, "number expected, got %s", luaL_typename(L, 2));
    p = lua_tonumber(L, 2);
    if (!(p > 0.0)) hmL_argerror(L, fn, 2, "p > 0 expected, got %f", p);
  }
  lua_pushnumber(L, hm_normp(a->data, a->size, p));
  return 1;
}

int hmL_optim_project(lua_State *L) {
  const char *fn = "optim.project";
  hm_mat *a = hmL_checkmat(L, 1, fn);
  double rho = hmL_checkfinite(L, 2, fn);
  if (!(rho >= 0.0)) hmL_argerror(L, fn, 2, "radius >= 0 expected, got %f", rho);
  hm_ball_kind ball = HM_BALL_L2;
  if (lua_type(L, 3) == LUA_TSTRING) {
    const char *s = lua_tostring(L, 3);
    if (strcmp(s, "nuc") == 0) ball = HM_BALL_NUC;
    else if (strcmp(s, "fro") == 0) ball = HM_BALL_L2;
    else if (strcmp(s, "inf") == 0) ball = HM_BALL_LINF;
    else hmL_argerror(L, fn, 3, "'fro', 'nuc', 1, 2 or math.huge expected, got '%s'", s);
  } else if (lua_isnumber(L, 3)) {
    double p = lua_tonumber(L, 3);
    if (p == 1.0) ball = HM_BALL_L1;
    else if (p == 2.0) ball = HM_BALL_L2;
    else if (isinf(p) && p > 0) ball = HM_BALL_LINF;
    else hmL_argerror(L, fn, 3, "'fro', 'nuc', 1, 2 or math.huge expected, got %f", p);
  } else if (!lua_isnoneornil(L, 3)) {
    hmL_argerror(L, fn, 3, "norm name or number expected, got %s", luaL_typename(L, 3));
  }
  if (ball == HM_BALL_NUC && a->rank != 2) hmL_argerror(L, fn, 1, "matrix expected for the nuclear ball");
  if (!hm_all_finite(a->data, a->size)) hmL_argerror(L, fn, 1, "non-finite entries");
  hm_mat *y = hmL_pushcopy(L, a, fn);
  hmL_check(L, fn, hm_proj_ball(ball, y->data, y->size, rho, a->rank == 2 ? a->dim[0] : a->size,
                                a->rank == 2 ? a->dim[1] : 1));
  return 1;
}
