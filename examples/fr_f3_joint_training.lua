-- FR-F3: joint training of the decoder u (= the head v) and W; NGD drives the loss to zero
-- exponentially fast and aligns u with the hard-margin SVM of the selected tokens
-- (Implicit Bias and Fast Convergence Rates; theory.md §E.3, §B.4). Protocol and data are
-- reconstructed (no official code). Which W-SVM is the joint limit is unverified, so both are
-- reported: W^mm (full Att-SVM) and W^relax (rows of non-support samples of u^mm relaxed to 0).
-- Differs on purpose: stable gradients, eps = 0 (no eps floor), exact certified SVMs.
local report = require "hardmax.report"
local o = exp.args(arg, {runs = 10, iters = 3000, every = 10, n = 8, T = 5, d = 16, eps = 0.0,
                         seed = 0, out = "out/fr_f3"})
local ks = {10, 100, 1000, o.iters}
local cos_path = function(S, target)   -- optim.corr: NaN (not an error) at the zero initialization
  return report.map(S, function(X) return optim.corr(X, target) end)
end

local res = report.sweep(o, function(_, _, g)
  local ds, out = data.fr_joint(o.n, o.T, o.d, {rng = g}), {}
  for name, opt in pairs{GD = optim.gd{lr = 1}, NGD = optim.ngd{lr = 0.1, eps = o.eps}} do
    local m = model.attention{train = {"W", "v"}, v = mat.zeros(o.d)}   -- u_0 = 0, W_0 = 0
    local r = report.ok(optim.train(m, ds, opt, {iters = o.iters, every = o.every, record = {"loss", "softmax_max", "W", "v"}}), name)
    local alpha = m:selected(ds)
    local head = svm.head(ds, alpha)   -- u^mm: hard-margin SVM (no bias) on the selected tokens
    local mm, rel = svm.att(ds, alpha), svm.att(ds, alpha, {relax = report.complement(o.n, head.support)})
    assert(head.status == "optimal" and mm.status == "optimal" and rel.status == "optimal", name .. ": SVM not solved")
    report.put(out, name .. "_", {loss = r.loss, soft = r.softmax_max, cos_u = cos_path(r.v, head.v), corr_mm = cos_path(r.W, mm.W),
      corr_relax = cos_path(r.W, rel.W), token1 = report.same(alpha, ds:optimal()), nsupport = #head.support})
    out.steps = r.steps
  end
  return out
end)

local R, fin, steps, methods = report.new("FR-F3"), {k = ks}, res[1].metrics.steps, {"GD", "NGD"}
local keys = report.names(methods, {"loss", "soft", "cos_u", "corr_mm", "corr_relax"})
local b = report.bands(res, keys)
report.bands_at(b, steps, ks, fin)   -- fin.GD_loss = mean GD loss at the steps ks, ...
for _, kk in ipairs(keys) do
  print(("%-15s k = %s: %s"):format(kk, table.concat(ks, "/"), ("%.4g "):rep(#ks):format(table.unpack(fin[kk]))))
end
for _, name in ipairs(methods) do fin["frac_token1_" .. name] = report.fraction(res, name .. "_token1") end
local at = function(kk, k) return report.at(steps, b[kk].mean, k) end
R:check("NGD loss <= 1e-20 by k = 1000", at("NGD_loss", 1000) <= 1e-20, ("%.2g"):format(at("NGD_loss", 1000)))
R:check("GD loss >= 1e-4 at k = 1000", at("GD_loss", 1000) >= 1e-4, ("%.2g"):format(at("GD_loss", 1000)))
R:check("NGD cos(u_1000, u^mm) >= 0.999", at("NGD_cos_u", 1000) >= 0.999, ("%.5f"):format(at("NGD_cos_u", 1000)))
R:check("k = 1000: NGD beats GD on corr(W, W^mm)", at("NGD_corr_mm", 1000) > at("GD_corr_mm", 1000),
        ("NGD %.4f, GD %.4f"):format(at("NGD_corr_mm", 1000), at("GD_corr_mm", 1000)))

local figs = {}
for _, p in ipairs{{"loss", "loss", "xy"}, {"soft", "mean_i max_t s_{it}", "x"}, {"cos_u", "cos(u_k, u^{mm})", "x"},
                   {"corr_mm", "corr(W_k, W^{mm})", "x"}, {"corr_relax", "corr(W_k, W^{relax})", "x"}} do
  local f = plot.figure{xlabel = "iteration k", ylabel = p[2], log = p[3], legend = "bottom right", xrange = {o.every, o.iters}}
  figs[#figs + 1] = report.plot_lines(f, steps, b, report.names(methods, {p[1]}), {labels = methods})
end
fin.figure = plot.panels(o.out .. "/fr_f3.png", figs, {cols = 3, also = {"pdf"}})
R:finish(fin)
