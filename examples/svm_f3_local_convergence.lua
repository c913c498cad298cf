-- SVM-F3: normalized GD on W and on (K,Q) converges in direction to the Frobenius and the
-- nuclear-norm Att-SVM of the final selection (Transformers as SVMs; theory.md §E.2).
-- Differs from the official notebook on purpose: seeded PyTorch-default inits, stable
-- gradients, certified SVMs (a run whose SVM is infeasible fails loudly instead of scoring).
local report = require "hardmax.report"
local o = exp.args(arg, {runs = 100, iters = 2000, every = 10, n = 6, T = 8, d = 10, lr = 0.1,
                         eps = 2.22e-16, seed = 0, out = "out/svm_f3"})

local res = report.sweep(o, function(_, _, g)
  local ds = data.grand(o.n, o.T, o.d, {rng = g})
  local models = {W = model.attention{param = "W", v = ds.v}:init{rng = g},
                  KQ = model.attention{param = "KQ", v = ds.v, ridge = 2.22e-16}:init{rng = g}}
  local out = {}
  for name, m in pairs(models) do
    local r = optim.train(m, ds, optim.ngd{lr = o.lr, eps = o.eps},
                          {iters = o.iters, every = o.every, record = {"W", "softmax_max"}})
    local alpha = m:selected(ds)
    out.steps, out["soft_" .. name] = r.steps, r.softmax_max
    out["global_" .. name] = report.same(alpha, ds:optimal())
    for _, norm in ipairs{"fro", "nuc"} do
      local s = svm.att(ds, alpha, {norm = norm})
      assert(s.status == "optimal", name .. ": Att-SVM(" .. norm .. ") is " .. s.status)
      out[("corr_%s_%s"):format(name, norm)] = report.corr_path(r.W, s.W)
    end
  end
  return out
end)

local curves = {"corr_W_fro", "corr_W_nuc", "corr_KQ_nuc", "corr_KQ_fro"}
local b, steps, R = report.bands(res, {"soft_W", "soft_KQ", table.unpack(curves)}), res[1].metrics.steps, report.new("SVM-F3")
R:at_least("mean corr(W, W_fro)", b.corr_W_fro.final, 0.99)
R:at_least("mean corr(KQ, W_nuc)", b.corr_KQ_nuc.final, 0.99)
R:at_least("W: corr(fro) - corr(nuc)", b.corr_W_fro.final - b.corr_W_nuc.final, 0.05)
R:at_least("KQ: corr(nuc) - corr(fro)", b.corr_KQ_nuc.final - b.corr_KQ_fro.final, 0.05)
R:at_least("KQ softmax at it 150", report.at(steps, b.soft_KQ.mean, 150), 0.99)
R:at_least("W softmax at it 500", report.at(steps, b.soft_W.mean, 500), 0.99)

local f1 = plot.figure{xlabel = "iteration", ylabel = "mean_i max_t s_{it}", legend = "bottom right"}
local f2 = plot.figure{xlabel = "iteration", ylabel = "correlation coefficient", legend = "bottom right"}
report.plot_bands(f1, steps, b, {"soft_W", "soft_KQ"}, {"W", "(K,Q)"})
report.plot_bands(f2, steps, b, curves, {"W vs W^{mm}", "W vs W^{mm}_*", "KQ vs W^{mm}_*", "KQ vs W^{mm}"})
plot.panels(o.out .. "/svm_f3.png", {f1, f2}, {cols = 2, also = {"pdf"}})
R:finish{figure = o.out .. "/svm_f3.png", corr_W_fro_mean = b.corr_W_fro.final, corr_W_nuc_mean = b.corr_W_nuc.final, corr_KQ_nuc_mean = b.corr_KQ_nuc.final,
         corr_KQ_fro_mean = b.corr_KQ_fro.final, runs = b.soft_W.n,
         frac_global_W = report.fraction(res, function(m) return m.global_W end),
         frac_global_KQ = report.fraction(res, function(m) return m.global_KQ end)}
