-- SVM-F1b: GD paths of W z_i for n=2, T=5, d=2 with each sample's separating hyperplane
-- (Transformers as SVMs; theory.md §E.2). The dotted line of sample i is the mid-margin
-- hyperplane {x : w_i.x = w_i.x_{i,alpha_i} - 1/2}, w_i = W^mm z_i: halfway between the
-- selected token and the margin-1 line on which its SVM-neighbours lie.
local report = require "hardmax.report"
local o = exp.args(arg, {iters = 2000, lr = 0.1, eps = 2.22e-16, seed = 3, out = "out/svm_f1b"})
local seed, ds = o.seed - 1   -- the figure is about the placed first tokens being optimal:
repeat seed = seed + 1; ds = data.example("svm_f1b", {seed = seed}) until report.same(ds:optimal(), {1, 1})
local m = model.attention{param = "W", v = ds.v}
local r = optim.train(m, ds, optim.ngd{lr = o.lr, eps = o.eps}, {iters = o.iters, record = {"W"}})
local alpha = m:selected(ds)
local s = svm.att(ds, alpha, {norm = "fro"})
local R, X, Z = report.new("SVM-F1b"), ds.X, ds.Z
local c = mat.corr(m.W, s.W)
R:check("corr(W_final, W^mm) >= 0.99", c >= 0.99, ("%.5f"):format(c))
local fig = plot.figure{xlabel = "x_1", ylabel = "x_2", aspect = "equal", legend = "outside right",
                        xrange = {-3, 3}, yrange = {-3, 3}}   -- the token region; paths leave it
local ok_margin, ok_support = true, true
for i, col in ipairs{"#D55E00", "#0072B2"} do
  local w, xa = s.W * Z[i], X[i][alpha[i]]
  local active = {}
  for _, t in ipairs(s.support[i]) do active[t] = true end
  for t = 1, ds.T do
    if t ~= alpha[i] then
      local margin = mat.dot(w, xa - X[i][t])
      ok_margin = ok_margin and margin >= 1 - 1e-8
      ok_support = ok_support and ((math.abs(margin - 1) <= 1e-6) == (active[t] == true))
    end
  end
  local P = (r.W:slice(1, 1, 41) * Z[i]):t()          -- first 40 steps: |W z| <= 4
  fig:trajectory(P[1], P[2], {color = col, arrow_every = 4, label = "W(k) z_" .. i})
  local wv = (w * 100):totable()
  fig:ray(wv[1], wv[2], {color = col, dash = "solid", label = "W^{mm} z_" .. i})
  local w1, w2 = w:get(1), w:get(2)
  fig:abline(-w1 / w2, (mat.dot(w, xa) - 0.5) / w2, {color = col, dash = "dotted"})
  local Xt = X[i]:t()
  fig:scatter(Xt[1], Xt[2], {color = col, marker = "circle", label = "tokens of sample " .. i})
end
R:check("all non-selected tokens have margin >= 1 - 1e-8", ok_margin)
R:check("margin == 1 exactly for the reported SVM-neighbours", ok_support)
fig:save(o.out .. "/svm_f1b.png", {also = {"pdf"}})
R:finish{seed = seed, corr_W_fro = c, selection = alpha, neighbours = s.support}
