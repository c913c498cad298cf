-- MD-F2: for every p, normalized lp mirror descent from a random N(0,1) init ends closest (in
-- the directional Bregman divergence of its own potential) to the lp-Att-SVM of its selection
-- (Optimizing Attention with Mirror Descent; theory.md §E.4, §B.5). 3x3 table: SVM norm q
-- (from the q-run of the same seed) x algorithm p. 100 seeds as in the paper (about 20 s of
-- cpu on one core; --runs 20 for a quick look). Seeded init (one W_0 ~ N(0, std^2) per seed,
-- shared by the three algorithms); exact certified lp-SVMs.
local report = require "hardmax.report"
local o = exp.args(arg, {runs = 100, n = 6, T = 8, d = 10, lr = 0.1, eps = 2.22e-16, std = 1.0,
                         its = "1500,2000,20000", points = 200, seed = 0, out = "out/md_f2"})
local ps, its = {1.75, 2, 3}, report.numbers(o.its)
local name = function(q, p) return ("q%g_p%g"):format(q, p):gsub("%.", "") end

local res = report.sweep(o, function(_, _, g)
  local ds, W, svms, out = data.gmd(o.n, o.T, o.d, {rng = g}), {}, {}, {}
  local m0 = model.attention{v = ds.v}:init{scheme = "normal", std = o.std, rng = g}
  for j, p in ipairs(ps) do
    local m = m0:clone()
    local r = report.ok(optim.train(m, ds, optim.mirror{p = p, lr = o.lr, normalized = true, eps = o.eps},
                                    {iters = its[j], every = its[j] // o.points, record = {"W"}}))
    local s = report.optimal(svm.att(ds, m:selected(ds), {norm = p}), ("l%g-Att-SVM"):format(p))
    W[p], svms[p], out["steps_" .. j] = r.W, s.W, r.steps
  end
  for _, q in ipairs(ps) do
    for _, p in ipairs(ps) do out[name(q, p)] = report.map(W[p], function(S) return optim.bregman(svms[q], S, p) end) end
  end
  return out
end)

local R, figs, tab, all = report.new("MD-F2"), {}, {}, {}
for j, p in ipairs(ps) do   -- panel p: divergence of the p-iterates to each q-SVM (solid: q = p)
  local keys = report.map(ps, function(q) return name(q, p) end)
  local b = report.bands(res, keys)
  figs[j] = report.plot_lines({title = ("l_{%g} mirror descent"):format(p), xlabel = "iteration", ylabel = "BD_p(W^{mm}_q, W_k)",
                               log = "y", legend = "top right"}, res[1].metrics["steps_" .. j], b, keys,
    {labels = report.map(ps, function(q) return ("l_{%g}-SVM"):format(q) end),
     styles = report.map(ps, function(q, i) return {dash = q == p and "solid" or "dashed", color = plot.palette[i]} end)})
  for _, k in ipairs(keys) do tab[k], all[#all + 1] = b[k].final, b[k] end
end
-- a random W_0 has E[BD] = 1 (symmetry W_0 -> -W_0)
local near = function(x) return math.abs(x.mean[1] - 0.95) <= 0.15 and x.final < x.mean[1] end
R:check("all curves start near 0.95 (+-0.15) and decrease", report.all(all, near),
        "starts " .. table.concat(report.map(all, function(x) return ("%.3f"):format(x.mean[1]) end), " "))
for j, p in ipairs(ps) do
  local col = report.map(ps, function(q) return tab[name(q, p)] end)   -- q = 1.75, 2, 3
  print(("p = %-4g  final mean BD: q=1.75 %.4f  q=2 %.4f  q=3 %.4f"):format(p, table.unpack(col)))
  R:check(("p = %g: matching SVM has the smallest divergence"):format(p), col[j] <= math.min(table.unpack(col)))
  R:at_most(("p = %g: matching divergence"):format(p), col[j], p < 2 and 0.02 or 0.01)
  for _, q in ipairs(p == 3 and {1.75, 2} or {3}) do   -- far pairs: exactly one of p, q is 3
    R:check(("far pair q = %g vs p = %g >= 5x matching"):format(q, p), tab[name(q, p)] >= 5 * col[j], ("%.4f vs %.4f"):format(tab[name(q, p)], col[j]))
  end
end
tab.figure = plot.panels(o.out .. "/md_f2.png", figs, {cols = 3, also = {"pdf"}})
-- bd_final: rows = SVM norm q, columns = algorithm p (theory.md's table)
tab.runs, tab.bd_final = #res, report.map(ps, function(q) return {tab[name(q, 1.75)], tab[name(q, 2)], tab[name(q, 3)]} end)
R:finish(tab)
