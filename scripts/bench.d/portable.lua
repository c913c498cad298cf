-- Cost of portable numerics (docs/host.md): the same work under --portable (Prescott kernel,
-- generic libm) and --native (this CPU's kernel and libm), alternating, best of 3 each:
-- the flagship's compute phases (scripts/bench.d/flagship.lua), a BLAS-bound product and a
-- libm-bound loop. CPU seconds of the child processes.
local exe = sys.exe()
local function run(mode, args)
  local p = assert(io.popen(("%s --%s --threads 1 %s 2>&1"):format(exe, mode, args)))
  local out = p:read("a")
  p:close()
  return out
end
local cases = {
  {"flagship phases (SVM-F3, 100 runs)", "scripts/bench.d/flagship.lua", "total ([%d.]+) s cpu"},
  {"dgemm 600x600x600 x 20", [[-e "local A = rng.new(1):randn(600, 600) local c = os.clock() for _ = 1, 20 do local _ = A * A end print(os.clock() - c)"]], "([%d.]+)"},
  {"exp, log, tanh of 2e6 entries x 5", [[-e "local A = rng.new(1):randn(1000, 2000) local c = os.clock() for _ = 1, 5 do local _ = A:exp():log() local _ = A:tanh() end print(os.clock() - c)"]], "([%d.]+)"},
}
for _, c in ipairs(cases) do
  local best = {portable = math.huge, native = math.huge}
  for _ = 1, 3 do
    for _, mode in ipairs{"portable", "native"} do
      local out = run(mode, c[2])
      local t = tonumber(out:match(c[3]))
      assert(t, c[1] .. " (" .. mode .. "): no time in output:\n" .. out)
      best[mode] = math.min(best[mode], t)
    end
  end
  print(("%-40s portable %.3f s, native %.3f s: portable/native = %.2f"):format(c[1], best.portable, best.native,
    best.portable / best.native))
end
local c = hardmax.config()
print(("native here: BLAS core %s, %s libm"):format(run("native", [[-e "io.write(hardmax.config().openblas_core)"]]),
  run("native", [[-e "io.write(hardmax.config().libm)"]])), "this process: " .. c.mode)
