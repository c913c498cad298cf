/* hardmax.optim — optimizers (theory.md §A.5), the in-C training loop with recorders,
 * regularization paths, and metric helpers. Thin layer over hm_optim.c / hm_train.c /
 * hm_regpath.c; models are reached only through hmL_model_objective. This file registers
 * the module; the functions live in l_optim_opt.c (optimizer objects), l_optim_train.c
 * (optim.train), l_optim_regpath.c (optim.regpath) and l_optim_metrics.c (metric helpers);
 * see hm_loptim.h. */
#include "hm_loptim.h"

static const luaL_Reg meta[] = {{"__gc", hmL_opt_gc},
                                {"__index", hmL_opt_index},
                                {"__newindex", hmL_opt_newindex},
                                {"__tostring", hmL_opt_tostring},
                                {NULL, NULL}};
static const luaL_Reg methods[] = {{"step", hmL_opt_step},
                                   {"reset", hmL_opt_reset},
                                   {"settings", hmL_opt_settings},
                                   {NULL, NULL}};
static const luaL_Reg funcs[] = {{"gd", hmL_optim_gd},
                                 {"ngd", hmL_optim_ngd},
                                 {"polyak", hmL_optim_polyak},
                                 {"momentum", hmL_optim_momentum},
                                 {"adam", hmL_optim_adam},
                                 {"mirror", hmL_optim_mirror},
                                 {"steepest", hmL_optim_steepest},
                                 {"sign", hmL_optim_sign},
                                 {"coord", hmL_optim_coord},
                                 {"spectral", hmL_optim_spectral},
                                 {"muon", hmL_optim_muon},
                                 {"train", hmL_optim_train},
                                 {"regpath", hmL_optim_regpath},
                                 {"corr", hmL_optim_corr},
                                 {"bregman", hmL_optim_bregman},
                                 {"lp_normalize", hmL_optim_lp_normalize},
                                 {"lp_norm", hmL_optim_lp_norm},
                                 {"project", hmL_optim_project},
                                 {NULL, NULL}};

int luaopen_hardmax_optim(lua_State *L) {
  luaL_newmetatable(L, HM_OPTIM_TNAME);
  luaL_setfuncs(L, meta, 0);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__methods");
  lua_pushstring(L, HM_OPTIM_TNAME);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  return 1;
}
