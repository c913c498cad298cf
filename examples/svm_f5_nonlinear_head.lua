-- SVM-F5: with a ReLU head GD selects several tokens and W_GD ~ W_fin + R W_dir (generalized
-- SVM equivalence; Transformers as SVMs, theory.md §E.2, §C.4). The official run accepted 500
-- runs per d; the default here is 100 accepted runs (seeds scanned up to --max_seeds).
local report = require "hardmax.report"
local o = exp.args(arg, {accepted = 100, max_seeds = 10000, iters = 2000, every = 100, n = 3, T = 4,
                         ds = "4,6,8,10", lr = 0.1, eps = 2.22e-16, seed = 0, out = "out/svm_f5"})
local base, dims, targets = rng.new(o.seed), report.numbers(o.ds), {"eq", "dir", "1token"}

local R, curves, all = report.new("SVM-F5"), {}, {}
for _, d in ipairs(dims) do
  local runs, tried = report.accept(o.accepted, o.max_seeds, function(seed)
    local g = base:split(("d=%d/seed=%d"):format(d, seed))
    local ds = data.relu_mode(o.n, o.T, d, {rng = g})
    local m = model.attention{param = "W", head = "relu", V = ds.V}:init{rng = g}
    local r = optim.train(m, ds, optim.ngd{lr = o.lr, eps = o.eps}, {iters = o.iters, every = o.every, record = {"W"}})
    local gen = svm.gen(ds, m.W, {norm = "fro"})
    local one = svm.att(ds, m:selected(ds), {norm = "fro"})
    if gen.accept.ok and gen.W_eq and one.status == "optimal" then   -- 1 - corr(W_k, target) along the run
      local omc = function(W) return report.map(report.corr_path(r.W, W), function(c) return 1 - c end) end
      return {masked = gen.accept.masked_max, eq = omc(gen.W_eq), dir = omc(gen.W_dir), ["1token"] = omc(one.W)}
    end
  end)
  curves[d] = report.bands(report.results(runs), targets)
  for _, run in ipairs(runs) do all[#all + 1] = run end
  print(("d=%2d: %d accepted of %d seeds; 1-corr at the end: SVMeq %.4f  W_dir %.4f  1token %.4f"):format(
    d, #runs, tried, curves[d].eq.final, curves[d].dir.final, curves[d]["1token"].final))
end
local fin, order = {}, true   -- fin[target][k]: final mean 1-corr at dims[k]
for _, t in ipairs(targets) do fin[t] = report.map(dims, function(d) return curves[d][t].final end) end
for k = 1, #dims do order = order and fin.eq[k] < fin.dir[k] and fin.dir[k] < fin["1token"][k] end
R:check("1-corr: SVMeq < W_dir < 1token for every d", order)
R:check("1-corr(SVMeq) <= 0.06 at the smallest d", fin.eq[1] <= 0.06, ("%.4f"):format(fin.eq[1]))
R:check("1-corr(SVMeq) <= 0.01 at the largest d", fin.eq[#dims] <= 0.01, ("%.4f"):format(fin.eq[#dims]))
R:check("1-corr(SVMeq) decreasing in d", report.nonincreasing(nil, fin.eq, {strict = true}))
local scatter = {x = report.map(all, function(run) return run.masked end), y = report.map(all, function(run) return run.eq[#run.eq] end)}
local rho = report.spearman(scatter.x, scatter.y)
R:check("Spearman(log masked prob, log(1-corr SVMeq)) > 0", rho > 0, ("%.3f"):format(rho))

local steps = report.map(curves[dims[1]].eq.mean, function(_, i) return (i - 1) * o.every end)
local top = plot.figure{xlabel = "iteration", ylabel = "1 - corr(W, ·)", log = "y", legend = "outside right"}
for k, d in ipairs(dims) do   -- colour = d, dash = target
  report.plot_lines(top, steps, curves[d], targets, {labels = {"W^{SVMeq}, d=" .. d, "W^{mm}, d=" .. d, "W^{1token}, d=" .. d},
    styles = {{color = plot.palette[k]}, {dash = "dashed", color = plot.palette[k]}, {dash = "dotted", color = plot.palette[k]}}})
end
local bottom = plot.figure{xlabel = "max masked probability", ylabel = "1 - corr(W, W^{SVMeq})", log = "xy"}
bottom:scatter(scatter.x, scatter.y, {marker = "circle", label = "accepted runs"})
plot.panels(o.out .. "/svm_f5.png", {top, bottom}, {cols = 1, also = {"pdf"}})
R:finish{d = dims, one_minus_corr_SVMeq = fin.eq, one_minus_corr_mm = fin.dir, one_minus_corr_1token = fin["1token"],
         spearman = rho}
