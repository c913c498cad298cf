#!/usr/bin/env bash
# `luarocks make` of a copy of this clone into a temporary tree with Debian's luarocks, then
# stock lua5.4 loads the installed hardmax.so (and nothing from the build tree) and runs a
# small experiment: (K,Q)-attention trained by NGD aligns with the nuclear-norm Att-SVM.
# Usage: test_luarocks.sh SOURCE_DIR WORK_DIR   (exit 77 = skipped: no luarocks/lua5.4)
set -euo pipefail
src=$1 work=$2
command -v luarocks >/dev/null || { echo "skipped: luarocks not installed (Debian package luarocks)"; exit 77; }
command -v lua5.4 >/dev/null || { echo "skipped: lua5.4 not installed"; exit 77; }
rm -rf "$work" && mkdir -p "$work/src"
# a copy, so luarocks' build.luarocks/ never lands in the source tree
tar -C "$src" --exclude='./build' --exclude='./build-*' --exclude='./build.luarocks' \
    --exclude='./out' --exclude='./.git' -cf - . | tar -C "$work/src" -xf -
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2}
(cd "$work/src" && luarocks --lua-version 5.4 --tree "$work/tree" make >"$work/make.log" 2>&1) ||
  { tail -40 "$work/make.log"; exit 1; }
test -f "$work/tree/lib/lua/5.4/hardmax.so" || { echo "FAIL hardmax.so not installed"; exit 1; }
test -f "$work/tree/share/lua/5.4/hardmax/report.lua" || { echo "FAIL Lua library not installed"; exit 1; }
# only the tree: no LUA_INIT, no build directory on the paths
unset LUA_INIT LUA_INIT_5_4 LUA_PATH_5_4 LUA_CPATH_5_4
eval "$(luarocks --lua-version 5.4 --tree "$work/tree" path)"
out=$(cd "$work" && OPENBLAS_NUM_THREADS=1 HM_TREE="$work/tree" lua5.4 -e '
local hm = require "hardmax"
assert(package.searchpath("hardmax", package.cpath):find(os.getenv("HM_TREE"), 1, true), "hardmax.so from the tree")
local json = require "hardmax.json"
local ds = hm.data.grand(6, 8, 10, {seed = 1})
local m = hm.model.attention{param = "KQ", v = ds.v, ridge = 2.22e-16}:init{rng = hm.rng.new(1)}
hm.optim.train(m, ds, hm.optim.ngd{lr = 0.1, eps = 2.22e-16}, {iters = 2000})
local sol = hm.svm.att(ds, m:selected(ds), {norm = "nuc"})
print(json.encode{status = sol.status, rel_gap = sol.rel_gap, corr = hm.mat.corr(m:effective_w(), sol.W)})
')
echo "$out"
# certified: optimal with a small duality gap; the direction claim of the README tour
HM_OUT=$out lua5.4 -e '
local j = require("hardmax.json").decode(os.getenv("HM_OUT"))
assert(j.status == "optimal", "Att-SVM status " .. tostring(j.status))
assert(j.rel_gap < 1e-6, "duality gap " .. tostring(j.rel_gap))
assert(j.corr > 0.99, "corr(KQ^T, W_nuc) = " .. tostring(j.corr))
print("ok   luarocks make -> lua5.4 require \"hardmax\" -> (K,Q) NGD aligns with the nuclear Att-SVM")'
