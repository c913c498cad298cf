-- SVM-F3 at full size, split by phase (CPU seconds, one BLAS thread): data + training of both
-- models (100 runs x 2000 NGD steps each), the four certified SVM solves per run, and the
-- correlation paths. Target (issue 6): <= 1.5 s of compute for the experiment.
local report = require "hardmax.report"
local runs, t = 100, {train = 0, svm = 0, corr = 0}
local base = rng.new(0)
for r = 1, runs do
  local g = base:split(r)
  local c0 = os.clock()
  local ds = data.grand(6, 8, 10, {rng = g})
  local ms = {model.attention{param = "W", v = ds.v}:init{rng = g},
              model.attention{param = "KQ", v = ds.v, ridge = 2.22e-16}:init{rng = g}}
  local rec = {}
  for i, m in ipairs(ms) do
    rec[i] = optim.train(m, ds, optim.ngd{lr = 0.1, eps = 2.22e-16}, {iters = 2000, every = 10, record = {"W", "softmax_max"}})
  end
  local c1 = os.clock()
  local sol = {}
  for i, m in ipairs(ms) do
    for _, norm in ipairs{"fro", "nuc"} do sol[#sol + 1] = {rec[i].W, svm.att(ds, m:selected(ds), {norm = norm}).W} end
  end
  local c2 = os.clock()
  for _, s in ipairs(sol) do report.corr_path(s[1], s[2]) end
  local c3 = os.clock()
  t.train, t.svm, t.corr = t.train + c1 - c0, t.svm + c2 - c1, t.corr + c3 - c2
end
print(("SVM-F3 full size (%d runs): train %.3f s, SVM solves %.3f s (%.2f ms each), corr paths %.3f s, total %.3f s cpu"):format(
  runs, t.train, t.svm, 1e3 * t.svm / (4 * runs), t.corr, t.train + t.svm + t.corr))
