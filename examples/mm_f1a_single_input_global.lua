-- MM-F1a: one input, three tokens whose non-optimal scores are equal (0.9, 0.9): normalized GD
-- on the prompt p converges in direction to the global Att-SVM p^mm from every start
-- (Max-Margin Token Selection; theory.md §E.1, §D.1 "GD, global").
-- Differs from the official notebook on purpose: float64 and hardmax's stable gradients
-- (the notebook runs float32), certified QP for the SVMs (cvxopt there).
local report = require "hardmax.report"
local o = exp.args(arg, {iters = 1000, show = 200, lr = 0.1, eps = 1e-9, out = "out/mm_f1a"})
local ds, info = data.example("mm_f1a")
local glob = svm.prompt(ds, {1}, {W = info.W})     -- optimal token 1
local loc = svm.prompt(ds, {2}, {W = info.W})      -- token 2 (score 0.9)
local inits = {{0, 1, 0}, {0, 0.5, 0}, {0, 0, 0}, {0, -0.5, 0}, {0, -1, 0}, {0, -1.5, 0}}

local R = report.new("MM-F1a")
local dev = (glob.p - mat.new{-10 / 101, 100 / 101, 0}):norm(math.huge)
R:check("svm.prompt returns p^mm = (-10/101, 100/101, 0) +- 1e-8", dev <= 1e-8, ("max dev %.1e"):format(dev))
R:check("alpha = (2) is not locally optimal (equal scores 0.9, 0.9)",
        not report.locally_optimal(loc, {2}, ds:scores()))
local fig = plot.figure{xlabel = "p_1", ylabel = "p_2", legend = "outside right", size = {16, 9}}
local cos, soft = {}, {}
for j, p0 in ipairs(inits) do
  local m = model.attention{param = "p", W = info.W, v = ds.v, p = p0}
  local r = optim.train(m, ds, optim.ngd{lr = o.lr, eps = o.eps}, {iters = o.iters, record = {"p"}})
  cos[j], soft[j] = mat.corr(m.p, glob.p), m:probs(ds)[1][1]
  R:check(("init %d: cos(p, p^mm) >= 0.99 and s_opt >= 0.999"):format(j), cos[j] >= 0.99 and soft[j] >= 0.999,
          ("cos %.4f, s_1 %.6f, |p| %.1f"):format(cos[j], soft[j], m.p:norm()))
  fig:trajectory(report.xy(r.p, o.show + 1), {arrow_every = 10, label = ("p_0 = (%g, %g)"):format(p0[1], p0[2])})
end
local keys = ds.X[1] * info.W                      -- tokens as seen by p: k_t = W^T x_t
fig:scatter(keys:slice(2, 1, 1), keys:slice(2, 2, 2), {marker = "star", size = 2, color = "black", label = "tokens"})
fig:ray(glob.p[1], glob.p[2], {color = "red", label = "global p^{mm}"})
fig:ray(loc.p[1], loc.p[2], {color = "blue", label = "p^{mm}(\\alpha=2)"})
fig:save(o.out .. "/mm_f1a.png", {also = {"pdf"}})
R:finish{figure = o.out .. "/mm_f1a.png", cos_glob = cos, s_opt = soft, p_mm = glob.p, p_mm_local = loc.p}
