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
local o = exp.args(arg, {runs = 100, iters = 2000, every = 10, n = 6, T = 8, d = 10, lr = 0.1,
                         eps = 2.22e-16, ridge = 2.22e-16, seed = 0, out = "out/svm_f3_ridge"})
local names = {"ridge", "none", "eps0"}
local variants = {ridge = {lambda = o.ridge, eps = o.eps}, none = {lambda = 0, eps = o.eps},
                  eps0 = {lambda = 0, eps = 0, rescaled = true}}
local function log10(x) return math.log(math.max(x, 1e-300), 10) end
local function last(t) return t[#t] end

-- One variant from the instance's init: NGD, the nuclear Att-SVM of the final selection, and
-- |grad_K L| of the loss alone (a ridge-free twin evaluated at every record) vs 2 lambda |K|.
local function train(ds, init, v)
  local m = model.attention{param = "KQ", v = ds.v, K = init.K, Q = init.Q, ridge = v.lambda > 0 and v.lambda or nil}
  local twin, lg = init:clone(), {}
  local r = report.ok(optim.train(m, ds, optim.ngd{lr = o.lr, eps = v.eps, rescaled = v.rescaled or false},
    {iters = o.iters, every = o.every, record = {"W", "param_norm_K", "param_norm_Q", "min_logit_gap"},
     callback = function() twin.K, twin.Q = m.K, m.Q; lg[#lg + 1] = twin:grad(ds).K:norm() end}))
  local s = svm.att(ds, m:selected(ds), {norm = "nuc"})
  local c = s.status == "optimal" and report.corr_path(r.W, s.W) or {0 / 0}
  local K, Q, gap = r.param_norm_K:totable(), r.param_norm_Q:totable(), r.min_logit_gap:totable()
  local rg = report.map(K, function(k) return 2 * o.ridge * k end)
  local cross = report.first_reaching(r.steps, report.map(lg, function(x, i) return 2 * rg[i] - x end), 0) or 0 / 0
  return {sel = table.concat(m:selected(ds), ","), global = report.same(m:selected(ds), ds:optimal()) and 1 or 0,
          corr = last(c), one_minus = report.map(c, function(x) return 1 - x end),
          K = last(K), Q = last(Q), balance = (last(K) ^ 2 - last(Q) ^ 2) / (last(K) ^ 2 + last(Q) ^ 2), gap = last(gap),
          cross = cross, gap_cross = cross == cross and report.at(r.steps, gap, cross) or 0 / 0,
          freeze = report.first_reaching(r.steps, report.map(lg, function(x) return v.eps - x end), 0) or 0 / 0,
          lgrad = report.map(lg, log10), rgrad = report.map(rg, log10), ratio = last(lg) / last(rg)},
         s.status == "optimal", r.steps
end

local res = report.sweep(o, function(_, _, g)
  local ds = data.grand(o.n, o.T, o.d, {rng = g})
  model.attention{param = "W", v = ds.v}:init{rng = g}   -- the flagship draws W's init first
  local init = model.attention{param = "KQ", v = ds.v}:init{rng = g}
  local out = {feasible = true}
  for _, name in ipairs(names) do
    local m, feasible, steps = train(ds, init, variants[name])
    report.put(out, name .. "_", m)
    out.feasible, out.steps = out.feasible and feasible, steps
  end
  return out
end)

-- summary over the runs whose three nuclear Att-SVMs are certified
local R, feas = report.new("SVM-F3 ridge ablation"), report.filter(res, "feasible")
local fin = {runs = #res, infeasible = report.indices(report.collect(res, "feasible"), function(f) return not f end),
             frac_same_selection = report.fraction(feas, function(m) return m.ridge_sel == m.none_sel end)}
report.means(feas, report.names(names, {"corr", "K", "Q", "balance", "gap", "cross", "gap_cross", "freeze", "ratio", "global"}), fin)
local line = "%-9s corr {corr} (min {corr_min}) | |K| {K} |Q| {Q} (|K|^2-|Q|^2)/(|K|^2+|Q|^2) {balance} | gap {gap}"
          .. " | |grad_K L| <= 2 (2 lam|K|) at it {cross} (gap {gap_cross}), <= eps at it {freeze} (last {freeze_max})"
          .. " | end |grad_K L|/(2 lam|K|) {ratio} | global {global}"
for _, nm in ipairs(names) do
  fin[nm .. "_corr_min"], fin[nm .. "_freeze_max"] = report.stats(feas, nm .. "_corr").min, report.stats(feas, nm .. "_freeze").max
  print((line:format(nm):gsub("{([%w_]+)}", function(k) return ("%.4g"):format(fin[nm .. "_" .. k]) end)))
end
print(("%d runs; uncertified Att-SVM (left out): {%s}; same selection with and without ridge: %.2f")
      :format(#res, table.concat(fin.infeasible, ","), fin.frac_same_selection))
local balance = report.stats(feas, "ridge_balance")
R:at_least("ridge: mean final corr(KQ^T, W_nuc)", fin.ridge_corr, 0.99)
R:at_least("mean corr ridge - no ridge", fin.ridge_corr - fin.none_corr, 0.03)
R:at_least("mean corr ridge - no ridge at eps=0 rescaled", fin.ridge_corr - fin.eps0_corr, 0.005)
R:at_most("ridge: max over runs abs(nK^2 - nQ^2)/(nK^2 + nQ^2), nK = norm(K)", math.max(-balance.min, balance.max), 0.01)
R:at_most("no ridge: latest iteration where norm(grad_K L) < eps", fin.none_freeze_max, 300)

local b, steps = report.bands(feas, report.names(names, {"one_minus", "lgrad", "rgrad"})), feas[1].metrics.steps
local f1 = plot.figure{xlabel = "iteration", ylabel = "1 - corr(KQ^T, W^{mm}_*)", log = "y", legend = "bottom left"}
report.plot_bands(f1, steps, b, report.names(names, {"one_minus"}), names)
local f2 = plot.figure{xlabel = "iteration", ylabel = "log_{10} gradient norm (dashed: eps)", legend = "top right"}
report.plot_bands(f2, steps, b, {"ridge_lgrad", "ridge_rgrad", "none_lgrad"}, {"ridge: |grad_K L|", "ridge: 2 lambda |K|", "no ridge: |grad_K L|"})
f2:hline(log10(o.eps), {dash = "dashed", color = "gray"})
fin.figure = plot.panels(o.out .. "/svm_f3_ridge.png", {f1, f2}, {cols = 2, also = {"pdf"}})
R:finish(fin)
