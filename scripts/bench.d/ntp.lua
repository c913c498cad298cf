-- Next-token-prediction benchmarks (not tests): the NTP model's loss+gradient through
-- optim.train (built-in and on ad), the graph SVM with W_fin, and the soft-label NTP-SVM at
-- the paper's size.
--   build/hardmax scripts/bench.d/ntp.lua [quick]
local quick = (... == "quick")

local function bench(f, min_time)
  local reps, t = 1, 0
  while true do
    local t0 = os.clock()
    for _ = 1, reps do f() end
    t = os.clock() - t0
    if t >= (min_time or 0.2) then break end
    reps = reps * 4
  end
  return t / reps
end

for _, sz in ipairs { { 6, 4, 6, 8 }, { 100, 16, 50, 32 } } do
  local n, T, K, d = table.unpack(sz)
  local ds = data.ntp { n = n, T = T, K = K, d = d, seed = 1, cyclic = "any" }
  for _, par in ipairs { "W", "KQ" } do
    local m = model.ntp { d = d, param = par, init = "uniform", seed = 2 }
    local steps = quick and 100 or 1000
    local t = bench(function() optim.train(m, ds, optim.ngd { lr = 0.01, eps = 2.22e-16 }, { iters = steps }) end)
    print(string.format("ntp %-2s n=%-3d T=%-2d K=%-2d d=%-2d  NGD step (loss+grad+update) %8.2f us", par, n, T, K, d, t / steps * 1e6))
  end
  local f, params = require("hardmax.ntp").ad_model(ds)
  local obj = ad.objective(f, params)
  local steps = quick and 100 or 1000
  local ta = bench(function() optim.train(obj, optim.ngd { lr = 0.01, eps = 2.22e-16 }, { iters = steps }) end)
  print(string.format("ntp on ad n=%-3d T=%-2d K=%-2d d=%-2d  NGD step %8.2f us", n, T, K, d, ta / steps * 1e6))
  local t = bench(function() svm.ntp(ds) end)
  print(string.format("svm.ntp (graph SVM + S_fin + W_fin) n=%d T=%d K=%d d=%d  %8.3f ms", n, T, K, d, t * 1e3))
end

local ds = data.ntp_soft { seed = 1 } -- n = 5000, m = 50, d = 60, V = 10, |S| = 6
local t = bench(function() svm.ntp_soft(ds) end, quick and 0 or 0.5)
print(string.format("svm.ntp_soft (NTP-SVM + W* + basis of F) m=50 d=60 V=10  %8.1f ms", t * 1e3))
local m = model.ntp_soft { V = 10, d = 60 }
local steps = quick and 100 or 2000
t = bench(function() optim.train(m, ds, optim.gd { lr = 1 }, { iters = steps }) end)
print(string.format("ntp_soft GD step m=50 d=60 V=10  %8.2f us", t / steps * 1e6))
