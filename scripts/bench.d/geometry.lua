-- Benchmark of the optimizer-geometry pieces at n=6, T=8, d=10 (G-rand, optimal selection):
-- the l_inf / l_1 W-SVM LPs (target <= 1 ms) and the spectral-norm SDP (target <= 3 ms),
-- median and min of repeated solves; and one optimizer step in optim.train (2000 steps, C
-- loop) for each steepest-descent optimizer against NGD (target: within 2x of NGD).
-- Run: build/hardmax scripts/bench.d/geometry.lua
local data = require "hardmax.data"
local model = require "hardmax.model"
local optim = require "hardmax.optim"
local rng = require "hardmax.rng"
local svm = require "hardmax.svm"
local sys = require "hardmax.sys"

local function times(reps, f)
  local t = {}
  for i = 1, reps do
    local t0 = sys.clock()
    f()
    t[i] = sys.clock() - t0
  end
  table.sort(t)
  return t[(reps + 1) // 2], t[1]
end

local ds = data.grand(6, 8, 10, { seed = 1 })
local alpha = ds:optimal()
print("Att-SVM at n=6, T=8, d=10 (m = 42 rows)       median      min   iters  rel_gap")
for _, nrm in ipairs { "fro", "inf", "l1", "spec", "nuc" } do
  local r
  local med, mn = times(41, function() r = svm.att(ds, alpha, { norm = nrm }) end)
  print(("  norm = %-5s %-28s %7.3f ms %7.3f ms %5d  %.1e"):format(nrm, r.method, 1e3 * med, 1e3 * mn,
    r.iterations, r.rel_gap))
end

local iters = 2000
local opts = {
  { "ngd (reference)", function() return optim.ngd { lr = 0.1, eps = 2.22e-16 } end },
  { "sign", function() return optim.sign { lr = 0.01 } end },
  { "coord (l_1)", function() return optim.coord { lr = 0.1 } end },
  { "spectral (SVD)", function() return optim.spectral { lr = 0.03 } end },
  { "spectral ns_steps=5", function() return optim.spectral { lr = 0.03, ns_steps = 5 } end },
  { "muon", function() return optim.muon { lr = 0.03 } end },
  { "adam beta1=0", function() return optim.adam { lr = 0.01, beta1 = 0 } end },
}
print(("optimizer step (W model, %d steps via optim.train)   us/step   vs ngd"):format(iters))
local m0 = model.attention { v = ds.v }
m0:init { scheme = "uniform", rng = rng.new(0) }
local ref
for _, p in ipairs(opts) do
  local med = times(7, function()
    local m = m0:clone()
    local r = optim.train(m, ds, p[2](), { iters = iters, every = iters })
    assert(r.status == "ok", r.status)
  end)
  ref = ref or med
  print(("  %-22s %28.2f   %5.2fx"):format(p[1], 1e6 * med / iters, med / ref))
end
