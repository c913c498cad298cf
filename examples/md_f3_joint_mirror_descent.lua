-- MD-F3: joint lp mirror descent on (W, v) converges in direction to the lp-Att-SVM of W and
-- the lp v-SVM on the selected tokens (Optimizing Attention with Mirror Descent; theory.md
-- §E.4, §C.8). Fixed data n = 2, T = 3, d = 2, self-attention with the first token as query,
-- W = 0, v = 0, each tensor normalized by its dual q-norm. Exact certified lp-SVMs.
-- Indices are 1-based here: the official selections (1,0), (1,0), (0,0) are (2,1), (2,1), (1,1).
local report = require "hardmax.report"
local o = exp.args(arg, {lr = 0.1, eps = 2.22e-16, its = "1500,2000,20000", epochs = 100, out = "out/md_f3"})
local ps, its, expect = {1.75, 2, 3}, {}, {"2,1", "2,1", "1,1"}
for k in o.its:gmatch("%d+") do its[#its + 1] = tonumber(k) end
local ds = data.example("md_f3")
local X, Y = ds.X, ds.Y

local R, paths, fin = report.new("MD-F3"), {W = {}, v = {}}, {p = ps, bd_W = {}, bd_v = {}, alpha = {}}
local fs = plot.figure{xlabel = "epoch", ylabel = "mean_i max_t s_{it}", legend = "bottom right"}
local fl = plot.figure{xlabel = "epoch", ylabel = "mean_i \\sigma(Y_i v^T x_{i\\alpha_i})", legend = "bottom right"}
for j, p in ipairs(ps) do
  local m = model.attention{query = "self", train = {"W", "v"}, W = mat.zeros(2, 2), v = mat.zeros(2)}
  local r = optim.train(m, ds, optim.mirror{p = p, lr = o.lr, normalized = true, eps = o.eps},
                        {iters = its[j], record = {"W", "v", "softmax_max"}})
  assert(r.status == "ok", r.status)
  local alpha = m:selected(ds)
  local sw, sv = svm.att(ds, alpha, {norm = p, query = 1}), svm.head(ds, alpha, {p = p})
  assert(sw.status == "optimal" and sv.status == "optimal", "lp-SVM not solved")
  local bw, bv = optim.bregman(sw.W, m.W, p), optim.bregman(sv.v, m.v, p)
  fin.bd_W[j], fin.bd_v[j], fin.alpha[j] = bw, bv, alpha
  local soft, logi, ep = {}, {}, {}
  for k = 1, o.epochs + 1 do   -- logistic probability of the selected tokens, as in the MD code
    local s = 0
    for i = 1, ds.n do s = s + 1 / (1 + math.exp(-Y[i] * mat.dot(r.v[k], X[i][alpha[i]]))) / ds.n end
    ep[k], soft[k], logi[k] = k - 1, r.softmax_max[k], s
  end
  print(("p = %g: selection %s, BD_p(W^mm_p, W) %.4g, BD_p(v^mm_p, v) %.4g, softmax at epoch 10/20/50: %.3f/%.3f/%.3f")
        :format(p, table.concat(alpha, ","), bw, bv, soft[11], soft[21], soft[51]))
  R:check(("p = %g: selection (%s)"):format(p, expect[j]), table.concat(alpha, ",") == expect[j])
  R:check(("p = %g: both divergences <= 0.01"):format(p), bw <= 0.01 and bv <= 0.01, ("%.4f, %.4f"):format(bw, bv))
  R:check(("p = %g: softmax >= 0.99 by epoch 30"):format(p), report.at(ep, soft, 30) >= 0.99, ("%.4f"):format(soft[31]))
  fs:line(ep, soft, {label = ("p = %g"):format(p)})
  fl:line(ep, logi, {label = ("p = %g"):format(p)})
  for _, key in ipairs{"W", "v"} do
    local target = key == "W" and sw.W[1] or sv.v   -- legend in a corner the ray does not cross
    local f, S = plot.figure{title = ("l_{%g}: %s"):format(p, key == "W" and "(W_{11}, W_{12})" or "(v_1, v_2)"),
                             legend = target[1] * target[2] < 0 and "top right" or "top left"}, r[key]
    f:trajectory(key == "W" and report.xy(S:reshape(#S, 4)) or report.xy(S), {label = "MD path"})   -- (W_11, W_12) = row 1
    f:ray(target[1], target[2], {label = ("l_{%g}-SVM"):format(p)})
    paths[key][j] = f
  end
end
local figs = {}
for _, key in ipairs{"W", "v"} do for j = 1, #ps do figs[#figs + 1] = paths[key][j] end end
figs[#figs + 1], figs[#figs + 2] = fs, fl
fin.figure = plot.panels(o.out .. "/md_f3.png", figs, {cols = 3, also = {"pdf"}})
R:finish(fin)
