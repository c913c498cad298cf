/* hardmax.loss — margin losses l(x) (theory.md A.3) as objects: loss.logistic,
 * loss.exponential, loss.correlation, loss.custom(f, df). */
#include <math.h>
#include <string.h>

#include "hm_ldata.h"

static hm_status custom_cb(void *ud, double x, double *value, double *deriv) {
  hm_lloss *u = (hm_lloss *)ud;
  lua_State *L = u->L;
  u->err[0] = 0;
  if (!L) return HM_EARG;
  for (int which = 0; which < 2; which++) {
    double *out = which ? deriv : value;
    if (!out) continue;
    lua_rawgeti(L, LUA_REGISTRYINDEX, which ? u->ref_df : u->ref_f);
    lua_pushnumber(L, x);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
      const char *msg = lua_tostring(L, -1);
      snprintf(u->err, sizeof u->err, "%s raised: %s", which ? "derivative" : "value",
               msg ? msg : "(error object is not a string)");
      lua_pop(L, 1);
      return HM_EARG;
    }
    if (!lua_isnumber(L, -1)) {
      snprintf(u->err, sizeof u->err, "%s function returned %s, number expected",
               which ? "derivative" : "value", luaL_typename(L, -1));
      lua_pop(L, 1);
      return HM_EARG;
    }
    *out = (double)lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (!isfinite(*out)) {
      snprintf(u->err, sizeof u->err, "%s function returned a non-finite number at x = %.17g",
               which ? "derivative" : "value", x);
      return HM_ENONFINITE;
    }
  }
  return HM_OK;
}

hm_lloss *hmL_checkloss(lua_State *L, int idx, const char *fn) {
  hm_lloss *u = (hm_lloss *)luaL_testudata(L, idx, HM_LOSS_TNAME);
  if (!u) hmL_argerror(L, fn, idx, "loss expected, got %s", luaL_typename(L, idx));
  return u;
}

static hm_lloss *newloss(lua_State *L, hm_loss_kind k) {
  hm_lloss *u = (hm_lloss *)lua_newuserdatauv(L, sizeof(hm_lloss), 0);
  memset(u, 0, sizeof *u);
  u->loss.kind = k;
  u->ref_f = u->ref_df = LUA_NOREF;
  luaL_setmetatable(L, HM_LOSS_TNAME);
  return u;
}

hm_lloss *hmL_toloss(lua_State *L, int idx, const char *fn) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) == LUA_TSTRING) {
    const char *s = lua_tostring(L, idx);
    hm_loss_kind k;
    if (strcmp(s, "logistic") == 0) k = HM_LOSS_LOGISTIC;
    else if (strcmp(s, "exponential") == 0) k = HM_LOSS_EXPONENTIAL;
    else if (strcmp(s, "correlation") == 0) k = HM_LOSS_CORRELATION;
    else {
      hmL_error(L, fn, "unknown loss '%s' (expected logistic, exponential, correlation or a loss object)", s);
      return NULL;
    }
    hm_lloss *u = newloss(L, k);
    lua_replace(L, idx);
    return u;
  }
  hm_lloss *u = (hm_lloss *)luaL_testudata(L, idx, HM_LOSS_TNAME);
  if (!u) hmL_error(L, fn, "loss object or name expected, got %s", luaL_typename(L, idx));
  return u;
}

/* Evaluate at a number or elementwise on a mat. */
static int eval_common(lua_State *L, int deriv, const char *fn) {
  hm_lloss *u = hmL_checkloss(L, 1, fn);
  u->L = L;
  hm_mat *a = hmL_testmat(L, 2);
  if (a) {
    hm_mat *out = hmL_newmat(L, a->rank, a->dim, fn);
    for (size_t j = 0; j < a->size; j++) {
      double r;
      hm_status s = hm_loss_eval(&u->loss, a->data[j], deriv ? NULL : &r, deriv ? &r : NULL);
      if (s) goto fail;
      out->data[j] = r;
      continue;
    fail:
      if (u->err[0]) hmL_error(L, fn, "%s", u->err);
      hmL_error(L, fn, "%s loss is not finite at x = %f", hm_loss_name(u->loss.kind), a->data[j]);
    }
    return 1;
  }
  double x = hmL_checkfinite(L, 2, fn), r;
  hm_status s = hm_loss_eval(&u->loss, x, deriv ? NULL : &r, deriv ? &r : NULL);
  if (s) {
    if (u->err[0]) hmL_error(L, fn, "%s", u->err);
    hmL_error(L, fn, "%s loss %s overflows at x = %f", hm_loss_name(u->loss.kind),
              deriv ? "derivative" : "value", x);
  }
  lua_pushnumber(L, r);
  return 1;
}

static int loss_value(lua_State *L) { return eval_common(L, 0, "loss.value"); }
static int loss_deriv(lua_State *L) { return eval_common(L, 1, "loss.deriv"); }

static int loss_name(lua_State *L) {
  hm_lloss *u = hmL_checkloss(L, 1, "loss.name");
  lua_pushstring(L, hm_loss_name(u->loss.kind));
  return 1;
}

static int loss_tostring(lua_State *L) {
  hm_lloss *u = hmL_checkloss(L, 1, "loss.__tostring");
  lua_pushfstring(L, "loss(%s)", hm_loss_name(u->loss.kind));
  return 1;
}

static int loss_gc(lua_State *L) {
  hm_lloss *u = (hm_lloss *)luaL_testudata(L, 1, HM_LOSS_TNAME);
  if (u) {
    luaL_unref(L, LUA_REGISTRYINDEX, u->ref_f);
    luaL_unref(L, LUA_REGISTRYINDEX, u->ref_df);
    u->ref_f = u->ref_df = LUA_NOREF;
  }
  return 0;
}

static int loss_custom(lua_State *L) {
  const char *fn = "loss.custom";
  if (!lua_isfunction(L, 1)) hmL_argerror(L, fn, 1, "function expected, got %s", luaL_typename(L, 1));
  if (!lua_isfunction(L, 2)) hmL_argerror(L, fn, 2, "function expected, got %s", luaL_typename(L, 2));
  hm_lloss *u = newloss(L, HM_LOSS_CUSTOM);
  u->loss.fn = custom_cb;
  u->loss.ud = u;
  lua_pushvalue(L, 1);
  u->ref_f = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushvalue(L, 2);
  u->ref_df = luaL_ref(L, LUA_REGISTRYINDEX);
  return 1;
}

static const luaL_Reg meta[] = {{"__tostring", loss_tostring}, {"__gc", loss_gc}, {NULL, NULL}};
static const luaL_Reg methods[] = {
  {"value", loss_value}, {"deriv", loss_deriv}, {"name", loss_name}, {NULL, NULL}};

int luaopen_hardmax_loss(lua_State *L) {
  hmL_newtype(L, HM_LOSS_TNAME, meta, methods);
  lua_newtable(L);
  lua_pushcfunction(L, loss_custom);
  lua_setfield(L, -2, "custom");
  const hm_loss_kind kinds[] = {HM_LOSS_LOGISTIC, HM_LOSS_EXPONENTIAL, HM_LOSS_CORRELATION};
  for (int k = 0; k < 3; k++) {
    newloss(L, kinds[k]);
    lua_setfield(L, -2, hm_loss_name(kinds[k]));
  }
  return 1;
}
