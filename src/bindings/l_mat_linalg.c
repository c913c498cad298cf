/* hardmax.mat — linear algebra methods (LAPACKE through the core's hm_linalg). */
#include "hm_linalg.h"
#include "hm_lmat.h"

const luaL_Reg hmL_mat_linalg_methods[] = {{NULL, NULL}};
