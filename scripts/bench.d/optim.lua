-- Benchmark of the optim step path: 2000 NGD steps (eta = 0.1, eps = 2.22e-16) on
-- G-rand(6,8,10) for the W and (K,Q) models, through optim.train (loop in C, no Lua per
-- step) and through opt:step from Lua, plus the flagship SVM-F3 workload estimate
-- (100 runs x 2000 its x both models), and normalized lp mirror descent for p = 2, 3, 1.75.
-- Run: build/hardmax scripts/bench.d/optim.lua
local data = require "hardmax.data"
local model = require "hardmax.model"
local optim = require "hardmax.optim"
local rng = require "hardmax.rng"

local function best_of(reps, f)
  local best = math.huge
  for _ = 1, reps do
    local t0 = os.clock()
    f()
    best = math.min(best, os.clock() - t0)
  end
  return best
end

local function setup(param, seed)
  local ds = data.grand(6, 8, 10, { seed = seed })
  local m = model.attention { param = param, v = ds.v, ridge = param == "KQ" and 2.22e-16 or nil }
  m:init { scheme = "uniform", rng = rng.new(seed) }
  return ds, m
end

local iters = 2000
local per = {}
for _, param in ipairs { "W", "KQ" } do
  local ds, m0 = setup(param, 0)
  local t_train = best_of(15, function()
    local m = m0:clone()
    local r = optim.train(m, ds, optim.ngd { lr = 0.1, eps = 2.22e-16 }, { iters = iters, every = iters })
    assert(r.status == "ok", r.status)
  end)
  local t_rec = best_of(3, function()
    local m = m0:clone()
    optim.train(m, ds, optim.ngd { lr = 0.1, eps = 2.22e-16 },
      { iters = iters, every = 10, record = { "loss", "softmax_max", "param_norm", "W" } })
  end)
  local t_lua = best_of(3, function()
    local m = m0:clone()
    local o = optim.ngd { lr = 0.1, eps = 2.22e-16 }
    for _ = 1, iters do o:step(m, ds) end
  end)
  -- the model's own loss+gradient cost, for the optimizer overhead
  local t_grad = best_of(3, function()
    for _ = 1, iters do m0:grad(ds) end
  end)
  per[param] = t_train
  print(string.format("%-3s NGD %d steps via optim.train: %8.3f ms  (%.2f us/step)", param, iters,
    1e3 * t_train, 1e6 * t_train / iters))
  print(string.format("%-3s   with 4 recorders every 10 steps:   %8.3f ms  (%.2f us/step)", param,
    1e3 * t_rec, 1e6 * t_rec / iters))
  print(string.format("%-3s   opt:step from Lua:                 %8.3f ms  (%.2f us/step)", param,
    1e3 * t_lua, 1e6 * t_lua / iters))
  print(string.format("%-3s   m:grad from Lua (reference):       %8.3f ms  (%.2f us/call)", param,
    1e3 * t_grad, 1e6 * t_grad / iters))
end
-- lp mirror descent (normalized, as in MD-F2) on the same W workload: p = 2 and p = 3 have
-- pow-free fast paths, other p (here 1.75) take the general pow() path
do
  local ds, m0 = setup("W", 0)
  for _, p in ipairs { 2, 3, 1.75 } do
    local t = best_of(15, function()
      local m = m0:clone()
      local r = optim.train(m, ds, optim.mirror { p = p, lr = 0.1, normalized = true, eps = 2.22e-16 },
        { iters = iters, every = iters })
      assert(r.status == "ok", r.status)
    end)
    print(string.format("W   normalized l%g-MD %d steps via optim.train: %8.3f ms  (%.2f us/step)", p, iters,
      1e3 * t, 1e6 * t / iters))
  end
end
local flagship = 100 * (per.W + per.KQ)
print(string.format("SVM-F3 estimate: 100 runs x %d its x {W, KQ} = %.3f s (target <= 1.5 s)", iters, flagship))

-- larger size: n = 100, T = 32, d = 64 (the optimizer's share is O(d^2) per step)
for _, param in ipairs { "W", "KQ" } do
  local ds = data.grand(100, 32, 64, { seed = 1 })
  local m0 = model.attention { param = param, v = ds.v }
  m0:init { scheme = "uniform", rng = rng.new(1) }
  local n = 200
  local t = best_of(3, function()
    local m = m0:clone()
    optim.train(m, ds, optim.ngd { lr = 0.1, eps = 2.22e-16 }, { iters = n, every = n })
  end)
  print(string.format("%-3s n=100 T=32 d=64: NGD via optim.train %.1f us/step", param, 1e6 * t / n))
end
