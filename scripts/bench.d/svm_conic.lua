-- Benchmark of the conic SVM solvers (docs/svm_conic.md). Run:
--   OPENBLAS_NUM_THREADS=1 build/hardmax scripts/bench.d/svm_conic.lua
-- Target (issue 4): nuclear W-SVM at n=6, T=8, d=10 (42 constraints) <= 2 ms on one core
-- (cvxopt: 49 ms). Times are the solvers' own wall-clock times (result.time), median of reps.
local svm = require "hardmax.svm"

local function gen(seed)
  local s = seed
  local function unif()
    s = (s * 6364136223846793005 + 1442695040888963407) & 0x7fffffffffffffff
    return ((s >> 11) + 0.5) / (1 << 52)
  end
  return function() return math.sqrt(-2 * math.log(unif())) * math.cos(2 * math.pi * unif()) end
end

local function instance(seed, n, T, d)
  local g = gen(seed)
  local A, Z, b = {}, {}, {}
  for _ = 1, n do
    local z = {}
    for j = 1, d do z[j] = g() end
    for _ = 1, T - 1 do
      local a = {}
      for j = 1, d do a[j] = g() end
      A[#A + 1], Z[#Z + 1], b[#b + 1] = a, z, 1
    end
  end
  return A, Z, b
end

local function median(t)
  table.sort(t)
  local n = #t
  return n % 2 == 1 and t[(n + 1) // 2] or 0.5 * (t[n // 2] + t[n // 2 + 1])
end

local function bench(name, reps, f)
  local times, last = {}, nil
  for i = 1, reps do
    last = f(i)
    times[#times + 1] = last.time
  end
  print(string.format("%-44s median %8.3f ms  min %8.3f ms  iters %3d  gap %.1e  %s",
    name, 1e3 * median(times), 1e3 * math.min(table.unpack(times)), last.iterations,
    last.rel_gap, last.status))
end

local sizes = { { 6, 8, 10 }, { 5, 5, 10 }, { 12, 6, 14 }, { 20, 6, 20 } }
for _, s in ipairs(sizes) do
  local n, T, d = s[1], s[2], s[3]
  local tag = string.format("n=%d T=%d d=%d m=%d", n, T, d, n * (T - 1))
  local inst = {}
  for seed = 1, 5 do inst[seed] = { instance(seed, n, T, d) } end
  bench("nuclear IPM      " .. tag, 50, function(i)
    local A, Z, b = table.unpack(inst[(i - 1) % 5 + 1])
    return svm.nuclear_raw(A, Z, b)
  end)
  if d <= 14 then
    bench("nuclear ADMM     " .. tag, 3, function(i)
      local A, Z, b = table.unpack(inst[(i - 1) % 5 + 1])
      return svm.nuclear_admm_raw(A, Z, b)
    end)
  end
  for _, p in ipairs { 1.5, 2, 3 } do
    bench(string.format("l_p W p=%-4g     %s", p, tag), 10, function(i)
      local A, Z, b = table.unpack(inst[(i - 1) % 5 + 1])
      return svm.lp_raw(A, Z, b, p)
    end)
  end
end
