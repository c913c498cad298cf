-- Per-call cost of common mat operations through Lua (not a test; run with
-- `build/hardmax scripts/bench.d/mat.lua`). Each figure is the mean over many calls,
-- timed with os.clock (CPU time), after a warm-up.
local mat = require "hardmax.mat"
local rng = require "hardmax.rng"

local g = rng.new(1)
local function bench(name, n, f)
  for _ = 1, math.min(n, 100) do f() end -- warm-up
  collectgarbage()
  local t0 = os.clock()
  for _ = 1, n do f() end
  local dt = os.clock() - t0
  print(("%-34s %10.3f us/call  (%d calls)"):format(name, dt / n * 1e6, n))
end

local A, B = mat.randn(g, 10, 10), mat.randn(g, 10, 10)
local x, y = mat.randn(g, 1000), mat.randn(g, 1000)
local X = mat.randn(g, 64, 10, 10)

print("mat benchmarks (" .. (require "hardmax".config().openblas_core or "?") .. ")")
bench("10x10 gemm  A * B", 200000, function() return A * B end)
bench("10x10 svd   A:svd()", 20000, function() return A:svd() end)
bench("10x10 svdvals", 20000, function() return A:svdvals() end)
bench("+ on 1000 elements (fresh)", 200000, function() return x + y end)
bench("add_ on 1000 elements (in place)", 200000, function() return x:add_(y) end)
bench("get(i, j)", 1000000, function() return A:get(3, 4) end)
bench("A[i] row view", 1000000, function() return A[3] end)
bench("64x10x10 batched * 10x10", 20000, function() return X * A end)
bench("softmax 64x10x10", 20000, function() return X:softmax() end)
