-- NTP-F1: next-token prediction with one self-attention layer (Li, Huang, Ildiz, Rawat,
-- Oymak, AISTATS 2024; docs/ntp.md). NGD on the log-loss drives W(t) in direction to the
-- graph SVM W_svm of the token-priority graphs' SCCs, its S_fin part to the finite W_fin, and
-- the softmax onto the label's component; (K,Q) goes to the nuclear-norm graph SVM.
-- The official global notebook's setting (n=6, T=4, K=6, d=8, random unit embeddings, a cyclic
-- graph drawn, PyTorch-default init, lr 0.01, 4000 steps, 10 instances) with an exact
-- log-domain loss (no log(p + eps)), certified SVMs and W_fin by Newton on S_fin.
local report, ntp = require "hardmax.report", require "hardmax.ntp"
local o = exp.args(arg, {runs = 10, iters = 4000, every = 20, n = 6, T = 4, K = 6, d = 8,
                         lr = 0.01, eps = 2.22e-16, embedding = "random", seed = 0, out = "out/ntp_f1"})

local res = report.sweep(o, function(_, _, g)
  local ds = data.ntp{n = o.n, T = o.T, K = o.K, d = o.d, embedding = o.embedding, rng = g}
  local svm_fro, svm_nuc = report.optimal(svm.ntp(ds), "graph SVM"), report.optimal(svm.ntp(ds, {norm = "nuc"}), "nuclear graph SVM")
  local out = {n_eq = svm_fro.n_eq, fin_dim = svm_fro.fin.dim, fin_grad = svm_fro.fin.grad_norm}
  for _, par in ipairs{"W", "KQ"} do
    local m = model.ntp{d = o.d, param = par, init = "uniform", rng = g}
    local r = optim.train(m, ds, optim.ngd{lr = o.lr, eps = o.eps}, {iters = o.iters, every = o.every, record = {"W"}})
    out.steps = r.steps
    if par == "W" then
      report.put(out, "", ntp.paths(ds, svm_fro, r.W), {"corr_svm", "corr_pred", "fin_dist", "mass", "R"})
    else
      out.corr_kq_nuc, out.corr_kq_fro = report.corr_path(r.W, svm_nuc.W), report.corr_path(r.W, svm_fro.W)
    end
  end
  return out
end)

local b = report.bands(res, {"corr_svm", "corr_pred", "fin_dist", "mass", "corr_kq_nuc", "corr_kq_fro"})
local steps, R = res[1].metrics.steps, report.new("NTP-F1")
local worst = math.min(table.unpack(report.map(report.collect(res, "corr_svm"), function(c) return c[#c] end)))
R:at_least("min over runs corr(W, W_svm)", worst, 0.9)
R:at_least("mean corr(W, W_fin + R W_svm)", b.corr_pred.final, 0.95)
R:at_least("mean corr(W, W_fin + R W_svm) - corr(W, W_svm)", b.corr_pred.final - b.corr_svm.final, 0)
R:at_most("mean |Pi W - W_fin|_F (NGD step lr)", b.fin_dist.final, o.lr)
R:at_least("mean softmax mass on the label's SCC", b.mass.final, 0.99)
R:at_least("mean corr(KQ, W_svm nuc)", b.corr_kq_nuc.final, 0.95)

local f1 = plot.figure{xlabel = "iteration", ylabel = "correlation coefficient", legend = "bottom right"}
report.plot_bands(f1, steps, b, {"corr_svm", "corr_pred", "corr_kq_nuc"}, {"W vs W^{svm}", "W vs W^{fin} + R W^{svm}", "KQ vs W^{svm}_*"})
local f2 = plot.figure{xlabel = "iteration", ylabel = "||Pi W - W^{fin}||_F", log = "y"}
report.plot_bands(f2, steps, b, {"fin_dist"}, {"W"})
local f3 = plot.figure{xlabel = "iteration", ylabel = "softmax mass on the label's SCC", legend = "bottom right"}
report.plot_bands(f3, steps, b, {"mass"}, {"W"})
plot.panels(o.out .. "/ntp_f1.png", {f1, f2, f3}, {cols = 3})
R:finish{figure = o.out .. "/ntp_f1.png", corr_svm_mean = b.corr_svm.final, corr_svm_min = worst,
         corr_pred_mean = b.corr_pred.final, fin_dist_mean = b.fin_dist.final, mass_mean = b.mass.final,
         corr_kq_nuc_mean = b.corr_kq_nuc.final, corr_kq_fro_mean = b.corr_kq_fro.final, runs = b.corr_svm.n}
