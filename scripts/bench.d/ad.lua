-- ad vs the built-in model (issue 13 item 3): cost of one loss + gradient evaluation and of
-- one NGD step (optim.train, 200 steps) for the W and (K,Q) models written with ad
-- (hardmax.ad_models.attention) against model.attention, at paper size and at n=100,T=32,d=64.
-- Targets: ad within 2x of the built-in model at n=6,T=8,d=10 and within 1.3x at n=100,T=32,d=64.
local data = require "hardmax.data"
local model = require "hardmax.model"
local optim = require "hardmax.optim"
local rng = require "hardmax.rng"
local ad = require "hardmax.ad"
local ad_models = require "hardmax.ad_models"

local function bench(f, min_time)
  local reps, t = 1, 0
  while true do
    local t0 = os.clock()
    for _ = 1, reps do f() end
    t = os.clock() - t0
    if t >= (min_time or 0.3) then break end
    reps = reps * 4
  end
  return t / reps * 1e6
end

local function median3(f) -- the median of three measurements (the machine is shared)
  local a = { f(), f(), f() }
  table.sort(a)
  return a[2]
end

for _, sz in ipairs { { 6, 8, 10 }, { 100, 32, 64 } } do
  local n, T, d = sz[1], sz[2], sz[3]
  local ds = data.grand(n, T, d, { seed = 1 })
  for _, param in ipairs { "W", "KQ" } do
    local m = model.attention { param = param, d = d, v = ds.v }
    m:init { rng = rng.new(2) }
    local init = param == "W" and { W = m.W:clone() } or { K = m.K:clone(), Q = m.Q:clone() }
    init.param = param
    local f, params = ad_models.attention(ds, init)
    local obj = ad.objective(f, params)
    local tb = median3(function() return bench(function() m:grad(ds) end) end)
    local ta = median3(function() return bench(function() obj:grad() end) end)
    local iters = 200
    local function ngd_builtin()
      local mm = m:clone()
      return bench(function() optim.train(mm, ds, optim.ngd { lr = 0.1, eps = 2.22e-16 }, { iters = iters }) end) / iters
    end
    local function ngd_ad()
      return bench(function() optim.train(obj, optim.ngd { lr = 0.1, eps = 2.22e-16 }, { iters = iters }) end) / iters
    end
    local sb, sa = median3(ngd_builtin), median3(ngd_ad)
    local target = n == 6 and 2.0 or 1.3
    print(string.format("ad %-2s n=%-3d T=%-2d d=%-2d  grad: built-in %8.2f us  ad %8.2f us  (x%.2f)   NGD step: built-in %8.2f us  ad %8.2f us  (x%.2f)  target x%.1f",
      param, n, T, d, tb, ta, ta / tb, sb, sa, sa / sb, target))
  end
end
