-- `luarocks make` in a clone builds hardmax.so (the whole numeric core, OpenBLAS + LAPACKE)
-- and installs it with the Lua-side library for stock Lua 5.4: `lua5.4 -e 'require "hardmax"'`.
-- The host (`hardmax`, REPL, Jupyter kernel) is built with CMake directly (README).
-- Needs the Debian packages liblua5.4-dev libopenblas-dev liblapacke-dev zlib1g-dev cmake
-- pkg-config (scripts/setup installs them).
rockspec_format = "3.0"
package = "hardmax"
version = "scm-1"
source = {
  url = "git+file://.", -- `luarocks make` builds the clone it runs in
}
description = {
  summary = "Softmax-attention implicit-bias experiments: dense arrays, attention models, optimizers and certified Att-SVMs",
  detailed = [[
hardmax exposes dense arrays (mat), datasets, attention models with exact gradients,
optimizers (GD, NGD, Adam, mirror descent, regularization paths) and certified max-margin
solvers (Frobenius, nuclear-norm and lp Att-SVMs) to Lua 5.4, backed by OpenBLAS and LAPACKE.]],
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
build = {
  type = "cmake",
  variables = {
    CMAKE_BUILD_TYPE = "Release",
    HARDMAX_MODULE_ONLY = "ON",
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    HARDMAX_LUA_LIBDIR = "$(LIBDIR)",
    HARDMAX_LUADIR = "$(LUADIR)",
  },
}
