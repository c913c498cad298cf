/* hardmax.mat — .npy load/save (through the core's hm_npy). */
#include "hm_lmat.h"

const luaL_Reg hmL_mat_io_funcs[] = {{NULL, NULL}};
