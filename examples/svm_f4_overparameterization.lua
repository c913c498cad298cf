-- SVM-F4: over-parameterization makes global convergence likely (Transformers as SVMs;
-- theory.md §E.2, §B.7). Protocol reconstructed (the paper's exact grid is unknown):
-- G-rand(6, 8, d), W-NGD as in SVM-F3, each run classified as global / local / not-local
-- (svm.classify: selection == opt, or locally optimal, and corr >= 0.95 with its Att-SVM).
local report = require "hardmax.report"
local o = exp.args(arg, {runs = 100, iters = 2000, n = 6, T = 8, ds = "2,4,6,8,10,15,20", lr = 0.1,
                         eps = 2.22e-16, seed = 0, out = "out/svm_f4"})
local dims = {}
for d in o.ds:gmatch("%d+") do dims[#dims + 1] = tonumber(d) end

local res = report.sweep(o, function(cfg, _, g)
  local ds = data.grand(o.n, o.T, cfg.d, {rng = g})
  local m = model.attention{param = "W", v = ds.v}:init{rng = g}
  optim.train(m, ds, optim.ngd{lr = o.lr, eps = o.eps}, {iters = o.iters})
  local class, info = svm.classify(ds, m.W, ds.v, {c_thr = 0.95})
  return {class = class, corr = info.corr, feasible = info.feasible}
end, {grid = {d = dims}})

local R, frac = report.new("SVM-F4"), {global = {}, local_ = {}, not_local = {}}
for _, d in ipairs(dims) do
  local sub = {}
  for _, r in ipairs(res) do if r.params.d == d then sub[#sub + 1] = r end end
  local fg = report.fraction(sub, function(m) return m.class == "global" end)
  local fl = report.fraction(sub, function(m) return m.class == "local" end)
  local fn = report.fraction(sub, function(m) return m.class == "not_local" end)
  frac.global[#frac.global + 1], frac.local_[#frac.local_ + 1], frac.not_local[#frac.not_local + 1] = fg, fl, fn
  print(("d=%2d  global %.2f  local-only %.2f  not-local %.2f"):format(d, fg, fl, fn))
end
local mono, nl_ok, hi_ok = true, true, true
for k, d in ipairs(dims) do
  for j = 1, k - 1 do if frac.global[k] < frac.global[j] - 0.1 then mono = false end end
  if d >= 15 and frac.global[k] < 0.75 then hi_ok = false end
  if d >= math.max(o.n, o.T - 1) and frac.not_local[k] > 0.1 then nl_ok = false end
end
R:check("global fraction non-decreasing in d (+-0.1)", mono)
R:check("global fraction >= 0.75 for d >= 15", hi_ok)
R:check("not-local fraction <= 0.1 for d >= max(n, T-1)", nl_ok)
local fig = plot.figure{xlabel = "d", ylabel = "fraction of runs", yrange = {0, 1.05}, legend = "center right"}
fig:line(dims, frac.global, {label = "global", marker = "circle", color = "#D55E00"})
local loc = {}
for k in ipairs(dims) do loc[k] = frac.global[k] + frac.local_[k] end
fig:line(dims, loc, {label = "locally optimal (incl. global)", marker = "square", color = "#0072B2"})
fig:line(dims, frac.not_local, {label = "not local", marker = "triangle", color = "#009E73"})
fig:save(o.out .. "/svm_f4.png", {also = {"pdf"}})
R:finish{d = dims, frac_global = frac.global, frac_local_only = frac.local_, frac_not_local = frac.not_local}
