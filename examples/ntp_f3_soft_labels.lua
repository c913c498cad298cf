-- NTP-F3: implicit bias of next-token prediction in linear models with soft labels
-- (Thrampoulidis, NeurIPS 2024; docs/ntp.md §10). m distinct contexts with fixed embeddings,
-- sparse next-token distributions; GD, NGD and Adam on the cross-entropy from W = 0: the loss
-- approaches the data entropy, the component of W(t) on the data subspace F goes to W* (logit
-- differences = log-odds within each support), the orthogonal component diverges in the
-- direction of the NTP-SVM W^mm. Paper size: n = 5000 sequences, m = 50 contexts, d = 60, V = 10,
-- |S_j| = 6.
local report, ntp = require "hardmax.report", require "hardmax.ntp"
local o = exp.args(arg, {n = 5000, m = 50, d = 60, V = 10, support = 6, iters = 20000, every = 100,
                         lr_gd = 1, lr_ngd = 0.1, lr_adam = 0.01, seed = 0, out = "out/ntp_f3"})

local ds = data.ntp_soft{n = o.n, m = o.m, d = o.d, V = o.V, support = o.support, seed = o.seed}
local s = report.optimal(svm.ntp_soft(ds), "NTP-SVM")
local opts = {gd = optim.gd{lr = o.lr_gd}, ngd = optim.ngd{lr = o.lr_ngd, eps = 0}, adam = optim.adam{lr = o.lr_adam}}
local R, curves, steps = report.new("NTP-F3"), {}, nil
for _, name in ipairs{"gd", "ngd", "adam"} do
  local m = model.ntp_soft{V = o.V, d = o.d}
  local r = optim.train(m, ds, opts[name], {iters = o.iters, every = o.every, record = {"loss", "W"}})
  local p = ntp.soft_paths(s, r.W)
  p.excess = report.map(r.loss:totable(), function(l) return l - ds.entropy end)
  curves[name], steps = p, r.steps
end
local function last(t) return t[#t] end
R:at_most("SVM certified gap", s.rel_gap, 1e-9)
R:at_most("W* log-odds residual", s.star_residual, 1e-10)
for _, name in ipairs{"gd", "ngd", "adam"} do R:at_most(name .. ": CE - entropy", last(curves[name].excess), 1e-2 * ds.entropy) end
R:at_least("gd: corr(W - P_F W, W^mm)", last(curves.gd.corr_perp), 0.95)
R:at_least("ngd: corr(W - P_F W, W^mm)", last(curves.ngd.corr_perp), 0.95)
R:at_least("ngd - gd: corr(W, W^mm)", last(curves.ngd.corr) - last(curves.gd.corr), 0)
R:at_most("gd: |P_F W - W*| / |W*|", last(curves.gd.star_dist), 0.05)
R:at_most("adam: |P_F W - W*| / |W*|", last(curves.adam.star_dist), 0.05)

local figs, labels = {}, {gd = "GD", ngd = "NGD", adam = "Adam"}
for i, spec in ipairs{{"excess", "CE - entropy", "xy"}, {"corr", "corr(W, W^{mm})", "x"}, {"star_dist", "||P_F W - W^*|| / ||W^*||", "xy"}} do
  figs[i] = plot.figure{xlabel = "iteration", ylabel = spec[2], log = spec[3], xrange = {o.every, o.iters}, legend = i == 2 and "bottom right" or "top right"}
  for _, name in ipairs{"gd", "ngd", "adam"} do
    local x, y = {}, {}
    for k = 2, #steps do x[#x + 1], y[#y + 1] = steps[k], curves[name][spec[1]][k] end
    figs[i]:line(x, y, {label = labels[name]})
  end
end
plot.panels(o.out .. "/ntp_f3.png", figs, {cols = 3})
R:finish{figure = o.out .. "/ntp_f3.png", entropy = ds.entropy, svm_norm = s.objective, F_dim = s.F_dim,
         excess_gd = last(curves.gd.excess), excess_ngd = last(curves.ngd.excess), excess_adam = last(curves.adam.excess),
         corr_gd = last(curves.gd.corr), corr_ngd = last(curves.ngd.corr), corr_adam = last(curves.adam.corr),
         corr_perp_gd = last(curves.gd.corr_perp), corr_perp_ngd = last(curves.ngd.corr_perp), corr_perp_adam = last(curves.adam.corr_perp),
         star_dist_gd = last(curves.gd.star_dist), star_dist_ngd = last(curves.ngd.star_dist), star_dist_adam = last(curves.adam.star_dist)}
