-- SVM-F3: normalized GD on W and on (K,Q) converges in direction to the Frobenius and the
-- nuclear-norm Att-SVM of the final selection (Transformers as SVMs; theory.md §E.2).
-- Differs from the official notebook on purpose: seeded PyTorch-default inits, stable
-- gradients, certified SVMs (a run whose SVM is infeasible fails loudly instead of scoring).
local report = require "hardmax.report"
local o = exp.args(arg, {runs = 100, iters = 2000, every = 10, n = 6, T = 8, d = 10, lr = 0.1,
                         eps = 2.22e-16, seed = 0, out = "out/svm_f3"})
local train = {iters = o.iters, every = o.every, record = {"W", "softmax_max"}}

local function run(_, _, g)
  local ds = data.grand(o.n, o.T, o.d, {rng = g})
  local m = {W = model.attention{param = "W", v = ds.v}:init{rng = g},
             KQ = model.attention{param = "KQ", v = ds.v, ridge = 2.22e-16}:init{rng = g}}
  local out = {}
  for name, mdl in pairs(m) do
    local r = optim.train(mdl, ds, optim.ngd{lr = o.lr, eps = o.eps}, train)
    local alpha = mdl:selected(ds)
    out.steps, out["soft_" .. name] = r.steps, r.softmax_max
    out["global_" .. name] = report.same(alpha, ds:optimal())
    for _, norm in ipairs{"fro", "nuc"} do
      local s = svm.att(ds, alpha, {norm = norm})
      assert(s.status == "optimal", name .. ": Att-SVM(" .. norm .. ") is " .. s.status)
      out[("corr_%s_%s"):format(name, norm)] = report.corr_path(r.W, s.W)
    end
  end
  return out
end

local res = report.sweep(o, run)
local R, b = report.new("SVM-F3"), {}
for _, k in ipairs{"soft_W", "soft_KQ", "corr_W_fro", "corr_W_nuc", "corr_KQ_nuc", "corr_KQ_fro"} do
  b[k] = report.band(res, k)
end
local steps = res[1].metrics.steps
local fin = function(k) return b[k].mean[#b[k].mean] end
R:check("mean corr(W, W_fro) >= 0.99", fin("corr_W_fro") >= 0.99, ("%.4f"):format(fin("corr_W_fro")))
R:check("mean corr(KQ, W_nuc) >= 0.99", fin("corr_KQ_nuc") >= 0.99, ("%.4f"):format(fin("corr_KQ_nuc")))
R:check("W: Frobenius beats nuclear by >= 0.05", fin("corr_W_fro") - fin("corr_W_nuc") >= 0.05)
R:check("KQ: nuclear beats Frobenius by >= 0.05", fin("corr_KQ_nuc") - fin("corr_KQ_fro") >= 0.05)
R:check("KQ softmax >= 0.99 by it 150", report.at(steps, b.soft_KQ.mean, 150) >= 0.99)
R:check("W softmax >= 0.99 by it 500", report.at(steps, b.soft_W.mean, 500) >= 0.99)

local f1 = plot.figure{xlabel = "iteration", ylabel = "mean_i max_t s_{it}", legend = "bottom right"}
f1:mean_std(steps, b.soft_W.mean, b.soft_W.std, {label = "W"})
f1:mean_std(steps, b.soft_KQ.mean, b.soft_KQ.std, {label = "(K,Q)"})
local f2 = plot.figure{xlabel = "iteration", ylabel = "correlation coefficient", legend = "bottom right"}
for _, k in ipairs{"corr_W_fro", "corr_W_nuc", "corr_KQ_nuc", "corr_KQ_fro"} do
  f2:mean_std(steps, b[k].mean, b[k].std, {label = k:gsub("corr_(%w+)_(%w+)", "%1 vs W^{mm}_{%2}")})
end
plot.panels(o.out .. "/svm_f3.png", {f1, f2}, {cols = 2})
print("figure: " .. o.out .. "/svm_f3.png")
R:finish{corr_W_fro_mean = fin("corr_W_fro"), corr_W_nuc_mean = fin("corr_W_nuc"),
         corr_KQ_nuc_mean = fin("corr_KQ_nuc"), corr_KQ_fro_mean = fin("corr_KQ_fro"),
         frac_global_W = report.fraction(res, function(m) return m.global_W end),
         frac_global_KQ = report.fraction(res, function(m) return m.global_KQ end), runs = b.soft_W.n}
