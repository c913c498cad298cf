-- svm benchmarks (not tests): solve times of the certified QP solvers.
--   build/hardmax scripts/bench.d/svm.lua [quick]
-- Reports the core solve time (result.time, wall clock) and the CPU time of the call
-- (os.clock; equal to the wall time on an idle machine with one BLAS thread).
local svm = require "hardmax.svm"
local quick = (... == "quick")

local function gen(seed)
  local s = seed * 2654435761 + 88172645463325252
  local spare
  local function u()
    s = s ~ (s << 13); s = s ~ (s >> 7); s = s ~ (s << 17)
    return ((s >> 11) & ((1 << 53) - 1)) / 2 ^ 53
  end
  return function()
    if spare then local v = spare; spare = nil; return v end
    local a, b = u(), u()
    if a < 1e-300 then a = 1e-300 end
    local r = math.sqrt(-2 * math.log(a))
    spare = r * math.sin(2 * math.pi * b)
    return r * math.cos(2 * math.pi * b)
  end
end

local function unit(g, d)
  local v, s = {}, 0
  for j = 1, d do v[j] = g(); s = s + v[j] ^ 2 end
  s = math.sqrt(s)
  for j = 1, d do v[j] = v[j] / s end
  return v
end

-- Frobenius W-SVM, G-rand(6, 8, 10): 42 constraints
do
  local n, T, d = 6, 8, 10
  local reps = quick and 20 or 200
  local core, wall, gaps, iters = 0, 0, 0, 0
  for seed = 1, reps do
    local g = gen(seed)
    local v = unit(g, d)
    local X, Z, al = {}, {}, {}
    for i = 1, n do
      local y = g() > 0 and 1 or -1
      X[i] = {}
      local best = -math.huge
      for t = 1, T do
        X[i][t] = unit(g, d)
        local s = 0
        for j = 1, d do s = s + v[j] * X[i][t][j] end
        if y * s > best then best, al[i] = y * s, t end
      end
      Z[i] = unit(g, d)
    end
    local t0 = os.clock()
    local r = svm.att(X, al, { Z = Z })
    wall = wall + (os.clock() - t0) -- CPU time of the call, including the table conversion
    core = core + r.time
    gaps = math.max(gaps, r.rel_gap)
    iters = iters + r.iterations
    assert(r.status == "optimal")
  end
  print(string.format("svm.att fro n=6 T=8 d=10 (m=42): core %.3f ms wall, call %.3f ms CPU, %.1f iters, max certified gap %.1e (%d instances)",
    1e3 * core / reps, 1e3 * wall / reps, iters / reps, gaps, reps))
end

-- hard-margin SVM, n = 1e4, d = 1e3 (teacher labels), data as mat arrays
do
  local rng = require "hardmax.rng"
  local n, d = quick and 2000 or 10000, quick and 200 or 1000
  local g = rng.new(42)
  local X = g:randn(n, d)
  local y = (X * g:randn(d)):sign()
  local t0 = os.clock()
  local r = svm.hard_margin(X, y)
  local cpu = os.clock() - t0
  print(string.format("svm.hard_margin n=%d d=%d: core %.2f s wall, %.2f s CPU, %d iters, status %s, certified gap %.1e, %d support vectors, method %s",
    n, d, r.time, cpu, r.iterations, r.status, r.rel_gap, #r.support, r.method))
end
