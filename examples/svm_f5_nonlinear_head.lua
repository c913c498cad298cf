-- SVM-F5: with a ReLU head GD selects several tokens and W_GD ~ W_fin + R W_dir (generalized
-- SVM equivalence; Transformers as SVMs, theory.md §E.2, §C.4). The official run accepted 500
-- runs per d; the default here is 100 accepted runs (seeds scanned up to --max_seeds).
local report = require "hardmax.report"
local o = exp.args(arg, {accepted = 100, max_seeds = 10000, iters = 2000, every = 100, n = 3, T = 4,
                         ds = "4,6,8,10", lr = 0.1, eps = 2.22e-16, seed = 0, out = "out/svm_f5"})
local base, dims = rng.new(o.seed), {}
for d in o.ds:gmatch("%d+") do dims[#dims + 1] = tonumber(d) end
local targets = {"eq", "dir", "1token"}

local R, curves, final, scatter = report.new("SVM-F5"), {}, {}, {x = {}, y = {}}
for _, d in ipairs(dims) do
  local runs, tried = {}, 0
  while #runs < o.accepted and tried < o.max_seeds do
    tried = tried + 1
    local g = base:split(("d=%d/seed=%d"):format(d, tried))
    local ds = data.relu_mode(o.n, o.T, d, {rng = g})
    local m = model.attention{param = "W", head = "relu", V = ds.V}:init{rng = g}
    local r = optim.train(m, ds, optim.ngd{lr = o.lr, eps = o.eps}, {iters = o.iters, every = o.every, record = {"W"}})
    local gen = svm.gen(ds, m.W, {norm = "fro"})
    local one = svm.att(ds, m:selected(ds), {norm = "fro"})
    if gen.accept.ok and gen.W_eq and one.status == "optimal" then
      local run = {masked = gen.accept.masked_max}
      for k, W in pairs{eq = gen.W_eq, dir = gen.W_dir, ["1token"] = one.W} do
        run[k] = {}
        for i, c in ipairs(report.corr_path(r.W, W)) do run[k][i] = 1 - c end
      end
      runs[#runs + 1] = run
    end
  end
  local res = {}
  for i, run in ipairs(runs) do res[i] = {status = "ok", metrics = run} end
  curves[d], final[d] = {}, {}
  for _, k in ipairs(targets) do
    curves[d][k] = report.band(res, k).mean
    final[d][k] = curves[d][k][#curves[d][k]]
  end
  for _, run in ipairs(runs) do
    scatter.x[#scatter.x + 1], scatter.y[#scatter.y + 1] = run.masked, run.eq[#run.eq]
  end
  print(("d=%2d: %d accepted of %d seeds; 1-corr at the end: SVMeq %.4f  W_dir %.4f  1token %.4f"):format(
    d, #runs, tried, final[d].eq, final[d].dir, final[d]["1token"]))
end
local order, dec = true, true
for k, d in ipairs(dims) do
  order = order and final[d].eq < final[d].dir and final[d].dir < final[d]["1token"]
  if k > 1 then dec = dec and final[d].eq < final[dims[k - 1]].eq end
end
R:check("1-corr: SVMeq < W_dir < 1token for every d", order)
R:check("1-corr(SVMeq) <= 0.06 at the smallest d", final[dims[1]].eq <= 0.06, ("%.4f"):format(final[dims[1]].eq))
R:check("1-corr(SVMeq) <= 0.01 at the largest d", final[dims[#dims]].eq <= 0.01, ("%.4f"):format(final[dims[#dims]].eq))
R:check("1-corr(SVMeq) decreasing in d", dec)
local rho = report.spearman(scatter.x, scatter.y)
R:check("Spearman(log masked prob, log(1-corr SVMeq)) > 0", rho > 0, ("%.3f"):format(rho))

local steps = {}
for i = 1, #curves[dims[1]].eq do steps[i] = (i - 1) * o.every end
local top = plot.figure{xlabel = "iteration", ylabel = "1 - corr(W, ·)", log = "y", legend = "outside right"}
for k, d in ipairs(dims) do   -- colour = d, dash = target
  top:line(steps, curves[d].eq, {label = "W^{SVMeq}, d=" .. d, color = plot.palette[k]})
  top:line(steps, curves[d].dir, {label = "W^{mm}, d=" .. d, dash = "dashed", color = plot.palette[k]})
  top:line(steps, curves[d]["1token"], {label = "W^{1token}, d=" .. d, dash = "dotted", color = plot.palette[k]})
end
local bottom = plot.figure{xlabel = "max masked probability", ylabel = "1 - corr(W, W^{SVMeq})", log = "xy"}
bottom:scatter(scatter.x, scatter.y, {marker = "circle", label = "accepted runs"})
plot.panels(o.out .. "/svm_f5.png", {top, bottom}, {cols = 1})
local fin = {eq = {}, dir = {}, ["1token"] = {}}
for k, d in ipairs(dims) do for _, t in ipairs(targets) do fin[t][k] = final[d][t] end end
R:finish{d = dims, one_minus_corr_SVMeq = fin.eq, one_minus_corr_mm = fin.dir, one_minus_corr_1token = fin["1token"],
         spearman = rho}
