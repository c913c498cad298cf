-- MD-F1: normalized lp mirror descent on W (zero init) converges in direction to the
-- lp-Att-SVM of its final selection (Optimizing Attention with Mirror Descent; theory.md
-- §E.4, §C.8). One G-md(6, 8, 10) instance drawn with hardmax's seeded generator (the
-- official instance uses torch seed 1, so numbers differ); SVMs are exact and certified.
-- Plotted entries: W[2][3] and W[4][5] in Lua's 1-based indexing = W[1,2], W[3,4] 0-based
-- (the official notebook's indices of model.W.weight.T, i.e. of our W).
local report = require "hardmax.report"
local o = exp.args(arg, {n = 6, T = 8, d = 10, lr = 0.1, eps = 2.22e-16, its = "1500,2000,20000",
                         every = 10, seed = 1, out = "out/md_f1"})
local ps, its, far = {1.75, 2, 3}, {}, {[1.75] = 3, [2] = 3, [3] = 1.75}
for k in o.its:gmatch("%d+") do its[#its + 1] = tonumber(k) end
local ds = data.gmd(o.n, o.T, o.d, {seed = o.seed})

local R, figs, fin = report.new("MD-F1"), {}, {p = ps, bd = {}, bd_far = {}, locally_optimal = {}, alpha = {}}
for j, p in ipairs(ps) do
  local m = model.attention{v = ds.v}   -- W_0 = 0 (std = 0 in the official runs)
  local r = optim.train(m, ds, optim.mirror{p = p, lr = o.lr, normalized = true, eps = o.eps},
                        {iters = its[j], every = o.every, record = {"W"}})
  assert(r.status == "ok", r.status)
  local alpha = m:selected(ds)
  local s, sf = svm.att(ds, alpha, {norm = p}), svm.att(ds, alpha, {norm = far[p]})
  assert(s.status == "optimal" and sf.status == "optimal", "lp-Att-SVM not solved")
  local bd, bdf = optim.bregman(s.W, m.W, p), optim.bregman(sf.W, m.W, p)
  local lo = svm.locally_optimal(ds, alpha, ds.v, {Wmm = s.W})   -- support tokens of the lp-SVM
  fin.bd[j], fin.bd_far[j], fin.locally_optimal[j], fin.alpha[j] = bd, bdf, lo, alpha
  print(("p = %g: %d its, selection %s (opt %s), BD_p to l%g-SVM %.4g, to l%g-SVM %.4g"):format(p, its[j],
        table.concat(alpha, ","), table.concat(ds:optimal(), ","), p, bd, far[p], bdf))
  R:check(("p = %g: BD_p(W^mm_p, W) <= 0.02"):format(p), bd <= 0.02, ("%.4g"):format(bd))
  R:check(("p = %g: closer to the l%g-SVM than to the l%g-SVM"):format(p, p, far[p]), bd < bdf)
  R:check(("p = %g: final selection locally optimal"):format(p), lo)
  local f = plot.figure{title = ("l_{%g} mirror descent, %d its"):format(p, its[j]), xlabel = "W[1,2] (0-based)",
                        ylabel = "W[3,4] (0-based)", legend = "top left"}
  local path = {}
  for k = 1, #r.W do path[k] = {r.W:get(k, 2, 3), r.W:get(k, 4, 5)} end
  f:trajectory(path, {label = "MD path"})
  f:ray(s.W:get(2, 3), s.W:get(4, 5), {label = ("l_{%g}-Att-SVM"):format(p), dash = "solid"})
  f:ray(sf.W:get(2, 3), sf.W:get(4, 5), {label = ("l_{%g}-Att-SVM"):format(far[p])})
  figs[j] = f
end
fin.figure = plot.panels(o.out .. "/md_f1.png", figs, {cols = 3, also = {"pdf"}})
R:finish(fin)
