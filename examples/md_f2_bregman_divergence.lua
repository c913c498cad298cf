-- MD-F2: for every p, normalized lp mirror descent from a random N(0,1) init ends closest (in
-- the directional Bregman divergence of its own potential) to the lp-Att-SVM of its selection
-- (Optimizing Attention with Mirror Descent; theory.md §E.4, §B.5). 3x3 table: SVM norm q
-- (from the q-run of the same seed) x algorithm p. 100 seeds as in the paper (about 20 s of
-- cpu on one core; --runs 20 for a quick look). Seeded init (one W_0 ~ N(0, std^2) per seed,
-- shared by the three algorithms); exact certified lp-SVMs.
local report = require "hardmax.report"
local o = exp.args(arg, {runs = 100, n = 6, T = 8, d = 10, lr = 0.1, eps = 2.22e-16, std = 1.0,
                         its = "1500,2000,20000", points = 200, seed = 0, out = "out/md_f2"})
local ps, its = {1.75, 2, 3}, {}
for k in o.its:gmatch("%d+") do its[#its + 1] = tonumber(k) end
local name = function(q, p) return ("q%g_p%g"):format(q, p):gsub("%.", "") end

local res = report.sweep(o, function(_, _, g)
  local ds = data.gmd(o.n, o.T, o.d, {rng = g})
  local m0 = model.attention{v = ds.v}:init{scheme = "normal", std = o.std, rng = g}
  local W, svms, out = {}, {}, {}
  for j, p in ipairs(ps) do
    local m = m0:clone()
    local r = optim.train(m, ds, optim.mirror{p = p, lr = o.lr, normalized = true, eps = o.eps},
                          {iters = its[j], every = its[j] // o.points, record = {"W"}})
    assert(r.status == "ok", r.status)
    local s = svm.att(ds, m:selected(ds), {norm = p})
    assert(s.status == "optimal", ("l%g-Att-SVM is %s"):format(p, s.status))
    W[p], svms[p], out["steps_" .. j] = r.W, s.W, r.steps
  end
  for _, q in ipairs(ps) do
    for _, p in ipairs(ps) do
      local c = {}
      for k = 1, #W[p] do c[k] = optim.bregman(svms[q], W[p][k], p) end
      out[name(q, p)] = c
    end
  end
  return out
end)

local R, figs, tab, start, starts_ok = report.new("MD-F2"), {}, {}, {}, true
for j, p in ipairs(ps) do
  local f = plot.figure{title = ("l_{%g} mirror descent"):format(p), xlabel = "iteration",
                        ylabel = "BD_p(W^{mm}_q, W_k)", log = "y", legend = "top right"}
  local steps = res[1].metrics["steps_" .. j]
  for i, q in ipairs(ps) do
    local b = report.band(res, name(q, p))
    tab[name(q, p)] = b.mean[#b.mean]
    f:line(steps, b.mean, {label = ("l_{%g}-SVM"):format(q), dash = q == p and "solid" or "dashed",
                                 color = plot.palette[i]})
    start[#start + 1] = ("%.3f"):format(b.mean[1])   -- a random W_0 has E[BD] = 1 (symmetry W_0 -> -W_0)
    starts_ok = starts_ok and math.abs(b.mean[1] - 0.95) <= 0.15 and b.mean[#b.mean] < b.mean[1]
  end
  figs[j] = f
end
R:check("all curves start near 0.95 (+-0.15) and decrease", starts_ok, "starts " .. table.concat(start, " "))
for _, p in ipairs(ps) do
  local own = tab[name(p, p)]
  print(("p = %-4g  final mean BD: q=1.75 %.4f  q=2 %.4f  q=3 %.4f"):format(p, tab[name(1.75, p)], tab[name(2, p)], tab[name(3, p)]))
  R:check(("p = %g: matching SVM has the smallest divergence"):format(p),
          own <= math.min(tab[name(1.75, p)], tab[name(2, p)], tab[name(3, p)]))
  R:check(("p = %g: matching divergence <= %g"):format(p, p < 2 and 0.02 or 0.01), own <= (p < 2 and 0.02 or 0.01), ("%.4f"):format(own))
  for _, q in ipairs(ps) do
    if (p < 3) ~= (q < 3) then
      R:check(("far pair q = %g vs p = %g >= 5x matching"):format(q, p), tab[name(q, p)] >= 5 * own,
              ("%.4f vs %.4f"):format(tab[name(q, p)], own))
    end
  end
end
tab.figure = plot.panels(o.out .. "/md_f2.png", figs, {cols = 3})
tab.runs, tab.bd_final = #res, {}   -- rows: SVM norm q, columns: algorithm p (theory.md's table)
for i, q in ipairs(ps) do tab.bd_final[i] = {tab[name(q, 1.75)], tab[name(q, 2)], tab[name(q, 3)]} end
R:finish(tab)
