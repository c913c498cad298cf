-- Experiment-harness overheads: per-trial cost of exp.sweep (in memory, with atomic trial files,
-- with 2 worker processes), merge of the records, and one gnuplot rendering.
-- Run as: build/hardmax scripts/bench.d/harness.lua [TRIALS]
local sys = require "hardmax.sys"
local N = tonumber((...)) or 2000
local tmp = os.tmpname()
os.remove(tmp)
sys.mkdir_p(tmp)

local function timed(label, n, f)
  local t0 = sys.clock()
  f()
  local dt = sys.clock() - t0
  print(("%-44s %8.3f s  %9.1f us/trial"):format(label, dt, dt / n * 1e6))
end

local runs = N // 10
local grid = { a = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 } }
local function work(cfg, run, g) return { u = g:uniform() * cfg.a, run = run } end
timed(("sweep in memory (%d trials)"):format(N), N, function()
  exp.sweep { grid = grid, runs = runs, seed = 1, run = work, quiet = true }
end)
timed(("sweep with trial files (%d trials)"):format(N), N, function()
  exp.sweep { grid = grid, runs = runs, seed = 1, run = work, out = tmp .. "/seq", quiet = true }
end)
timed(("merge of %d trial files"):format(N), N, function() exp.merge(tmp .. "/seq") end)
timed(("resume of a finished sweep (%d trials)"):format(N), N, function()
  exp.sweep { grid = grid, runs = runs, seed = 1, run = work, out = tmp .. "/seq", resume = true, quiet = true }
end)
local t, y = {}, {}
for i = 1, 1000 do t[i], y[i] = i, 1 / i end
local f = plot.figure { log = "xy" }
f:mean_std(t, y, y, { label = "x" })
local t0 = sys.clock()
f:save(tmp .. "/fig.png")
print(("%-44s %8.3f s"):format("plot.save PNG (1000-point band + line)", sys.clock() - t0))
os.execute("rm -rf '" .. tmp .. "'")
