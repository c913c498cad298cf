-- SVM-F3 ridge ablation: the flagship's (K,Q) runs (examples/svm_f3_local_convergence.lua: same
-- data, same init, NGD eta = 0.1, eps = 2.22e-16) with the official ridge lambda(|K|^2 + |Q|^2),
-- lambda = 2.22e-16 (theory.md §A.4), without it, and without it at eps = 0 on the rescaled-
-- gradient path ("eps0": optim.ngd{rescaled = true}, no freeze; "<= eps" then means the true gradient
-- underflowed to 0 while the run goes on). Per variant: corr(KQ^T, W^mm_*) with the nuclear
-- Att-SVM of its final selection, |grad_K L| (loss only) against 2 lambda |K| (the ridge takes
-- over where they meet), the iteration where |grad_K L| < eps (plain NGD stops moving: its step
-- is eta |g|/(|g| + eps)), |K|, |Q|, (|K|^2 - |Q|^2)/(|K|^2 + |Q|^2), the selection.
-- Finding (100 runs): without the ridge NGD freezes at it ~170 (logit gap ~40) with corr 0.931;
-- the ridge keeps |grad| ~ 2 lambda |K| ~ 28 eps, so NGD goes on to the balanced stationary point
-- of L + lambda(|K|^2+|Q|^2), i.e. the (K,Q) regularization-path solution (corr 0.9965).
local report = require "hardmax.report"
local o = exp.args(arg, {runs = 100, iters = 2000, every = 10, n = 6, T = 8, d = 10, lr = 0.1, eps = 2.22e-16, ridge = 2.22e-16, seed = 0, out = "out/svm_f3_ridge"})
local names, variant = {"ridge", "none", "eps0"}, {ridge = {o.ridge, o.eps, false}, none = {0, o.eps, false}, eps0 = {0, 0, true}}  -- {ridge, eps, rescaled}
local function log10(x) return math.log(math.max(x, 1e-300), 10) end

local res = report.sweep(o, function(_, _, g)
  local ds = data.grand(o.n, o.T, o.d, {rng = g})
  model.attention{param = "W", v = ds.v}:init{rng = g}  -- the flagship draws W's init first
  local init = model.attention{param = "KQ", v = ds.v}:init{rng = g}
  local twin, out = init:clone(), {feasible = true}
  for name, v in pairs(variant) do
    local m, lg, eps = model.attention{param = "KQ", v = ds.v, K = init.K, Q = init.Q, ridge = v[1] > 0 and v[1] or nil}, {}, v[2]
    local r = report.ok(optim.train(m, ds, optim.ngd{lr = o.lr, eps = eps, rescaled = v[3]}, {iters = o.iters, every = o.every,
      record = {"W", "param_norm_K", "param_norm_Q", "min_logit_gap"},  -- and |grad_K L| without the ridge term, via a twin
      callback = function() twin.K, twin.Q = m.K, m.Q; lg[#lg + 1] = twin:grad(ds).K:norm() end}), name)
    local s, K, Q, gap = svm.att(ds, m:selected(ds), {norm = "nuc"}), r.param_norm_K:totable(), r.param_norm_Q:totable(), r.min_logit_gap:totable()
    local rg, c = report.map(K, function(k) return 2 * o.ridge * k end), s.status == "optimal" and report.corr_path(r.W, s.W) or {0 / 0}
    local cross = report.first_reaching(r.steps, report.map(lg, function(x, i) return 2 * rg[i] - x end), 0) or 0 / 0
    out.feasible, out.steps = out.feasible and s.status == "optimal", r.steps
    report.put(out, name .. "_", {sel = table.concat(m:selected(ds), ","), global = report.same(m:selected(ds), ds:optimal()) and 1 or 0, corr = c[#c],
      one_minus = report.map(c, function(x) return 1 - x end), K = K[#K], Q = Q[#Q], balance = (K[#K] ^ 2 - Q[#Q] ^ 2) / (K[#K] ^ 2 + Q[#Q] ^ 2), gap = gap[#gap], cross = cross,
      gap_cross = cross == cross and report.at(r.steps, gap, cross) or 0 / 0, freeze = report.first_reaching(r.steps, report.map(lg, function(x) return eps - x end), 0) or 0 / 0,
      lgrad = report.map(lg, log10), rgrad = report.map(rg, log10), ratio = lg[#lg] / rg[#rg]})
  end
  return out
end)

local R, feas = report.new("SVM-F3 ridge ablation"), report.filter(res, "feasible")  -- runs whose three nuclear Att-SVMs are certified
local fin = {runs = #res, infeasible = report.indices(report.collect(res, "feasible"), function(f) return not f end), frac_same_selection = report.fraction(feas, function(m) return m.ridge_sel == m.none_sel end)}
report.means(feas, report.names(names, {"corr", "K", "Q", "balance", "gap", "cross", "gap_cross", "freeze", "ratio", "global"}), fin)
for _, nm in ipairs(names) do
  fin[nm .. "_corr_min"], fin[nm .. "_freeze_max"] = report.stats(feas, nm .. "_corr").min, report.stats(feas, nm .. "_freeze").max
  print((("%-9s corr {corr} (min {corr_min}) | |K| {K} |Q| {Q} (|K|^2-|Q|^2)/(|K|^2+|Q|^2) {balance} | gap {gap} | |grad_K L| <= 2 (2 lam|K|) at it {cross} (gap {gap_cross}), <= eps at it "
    .. "{freeze} (last {freeze_max}) | end |grad_K L|/(2 lam|K|) {ratio} | global {global}"):format(nm):gsub("{([%w_]+)}", function(k) return ("%.4g"):format(fin[nm .. "_" .. k]) end)))
end
print(("%d runs; uncertified Att-SVM (left out): {%s}; same selection with and without ridge: %.2f"):format(#res, table.concat(fin.infeasible, ","), fin.frac_same_selection))
R:at_least("ridge: mean final corr(KQ^T, W_nuc)", fin.ridge_corr, 0.99)
R:at_least("mean corr ridge - no ridge", fin.ridge_corr - fin.none_corr, 0.03)
R:at_least("mean corr ridge - no ridge at eps=0 rescaled", fin.ridge_corr - fin.eps0_corr, 0.005)
R:at_most("ridge: max over runs abs(nK^2 - nQ^2)/(nK^2 + nQ^2), nK = norm(K)", math.max(-report.stats(feas, "ridge_balance").min, report.stats(feas, "ridge_balance").max), 0.01)
R:at_most("no ridge: latest iteration where norm(grad_K L) < eps", fin.none_freeze_max, 300)

local b, steps = report.bands(feas, report.names(names, {"one_minus", "lgrad", "rgrad"})), feas[1].metrics.steps
local f1 = report.plot_bands(plot.figure{xlabel = "iteration", ylabel = "1 - corr(KQ^T, W^{mm}_*)", log = "y", legend = "bottom left"}, steps, b, report.names(names, {"one_minus"}), names)
local f2 = report.plot_bands(plot.figure{xlabel = "iteration", ylabel = "log_{10} gradient norm (dashed: eps)", legend = "top right"}, steps, b,
  {"ridge_lgrad", "ridge_rgrad", "none_lgrad"}, {"ridge: |grad_K L|", "ridge: 2 lambda |K|", "no ridge: |grad_K L|"}):hline(log10(o.eps), {dash = "dashed", color = "gray"})
R:finish(report.put(fin, "", {figure = plot.panels(o.out .. "/svm_f3_ridge.png", {f1, f2}, {cols = 2, also = {"pdf"}})}))
