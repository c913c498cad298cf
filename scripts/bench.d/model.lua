-- Per-call cost of model evaluation (loss only, loss + gradient) through Lua, for the W and
-- (K,Q) parameterizations (cross-attention, linear head, logistic loss).
local data = require "hardmax.data"
local model = require "hardmax.model"
local rng = require "hardmax.rng"

local function bench(f, min_time)
  local reps, t = 1, 0
  while true do
    local t0 = os.clock()
    for _ = 1, reps do f() end
    t = os.clock() - t0
    if t >= (min_time or 0.2) then break end
    reps = reps * 4
  end
  return t / reps * 1e6
end

for _, sz in ipairs { { 6, 8, 10 }, { 100, 32, 64 } } do
  local n, T, d = sz[1], sz[2], sz[3]
  local ds = data.grand(n, T, d, { seed = 1 })
  for _, param in ipairs { "W", "KQ" } do
    local m = model.attention { param = param, d = d, v = ds.v }
    m:init { rng = rng.new(2) }
    local tl = bench(function() m:loss(ds) end)
    local tg = bench(function() m:grad(ds) end)
    -- BLAS-floor estimate: flops of the GEMMs/GEMVs (2 per multiply-add)
    local flops = 2 * (n * d * d + 2 * n * T * d + n * T * d + n * d * d)
    if param == "KQ" then flops = flops + 2 * (d * d * d) * 3 end
    print(string.format("model %-2s n=%-3d T=%-2d d=%-2d  loss %8.2f us  loss+grad %8.2f us  (%.2f GFLOP/s on ~%d flops)",
      param, n, T, d, tl, tg, flops / tg / 1e3, flops))
  end
end
