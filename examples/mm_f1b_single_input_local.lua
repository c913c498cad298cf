-- MM-F1b: as MM-F1a but x_3 = 0, so the non-optimal scores differ (0.9 vs 0): the equal-score
-- assumption fails and normalized GD on p converges to the *locally* optimal token 2 from the
-- last two starts, to the global p^mm from the first four (theory.md §E.1, §D.1 "GD, local").
-- Differs from the official notebook on purpose: float64, stable gradients, certified QP.
local report = require "hardmax.report"
local o = exp.args(arg, {iters = 1000, show = 200, lr = 0.1, eps = 1e-9, out = "out/mm_f1b"})
local ds, info = data.example("mm_f1b")
local glob = svm.prompt(ds, {1}, {W = info.W})     -- optimal token 1
local loc = svm.prompt(ds, {2}, {W = info.W})      -- token 2: p^mm(alpha=2) = (1, 0, 0)
local inits = {{0, 1, 0}, {0, 0.5, 0}, {0, 0, 0}, {0, -0.5, 0}, {0, -1, 0}, {0, -1.5, 0}}
local expect_local = {false, false, false, false, true, true}

local R = report.new("MM-F1b")
R:check("alpha = (2) is locally optimal (support token 3 has score 0 < 0.9)",
        report.locally_optimal(loc, {2}, ds:scores()), ("support tokens: %s"):format(table.concat(loc.support[1], ",")))
local fig = plot.figure{xlabel = "p_1", ylabel = "p_2", legend = "outside right", size = {16, 9}}
local cg, cl, sel = {}, {}, {}
for j, p0 in ipairs(inits) do
  local m = model.attention{param = "p", W = info.W, v = ds.v, p = p0}
  local r = optim.train(m, ds, optim.ngd{lr = o.lr, eps = o.eps}, {iters = o.iters, record = {"p"}})
  cg[j], cl[j], sel[j] = mat.corr(m.p, glob.p), mat.corr(m.p, loc.p), m:selected(ds)[1]
  local target, c = expect_local[j] and "local (1,0)" or "global", expect_local[j] and cl[j] or cg[j]
  R:check(("init %d -> %s: cos >= 0.99"):format(j, target), c >= 0.99 and sel[j] == (expect_local[j] and 2 or 1),
          ("cos_glob %.4f, cos_loc %.4f, selects token %d, s = %.6f"):format(cg[j], cl[j], sel[j], m:probs(ds)[1][sel[j]]))
  fig:trajectory(report.xy(r.p, o.show + 1), {arrow_every = 10, label = ("p_0 = (%g, %g)"):format(p0[1], p0[2])})
end
local keys = ds.X[1] * info.W
fig:scatter(keys:slice(2, 1, 1), keys:slice(2, 2, 2), {marker = "star", size = 2, color = "black", label = "tokens"})
fig:ray(glob.p[1], glob.p[2], {color = "red", label = "global p^{mm}"})
fig:ray(loc.p[1], loc.p[2], {color = "blue", label = "p^{mm}(\\alpha=2)"})
fig:save(o.out .. "/mm_f1b.png", {also = {"pdf"}})
R:finish{figure = o.out .. "/mm_f1b.png", cos_glob = cg, cos_local = cl, selected = sel, p_mm = glob.p, p_mm_local = loc.p}
