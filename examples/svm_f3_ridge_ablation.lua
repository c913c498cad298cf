-- SVM-F3 ridge ablation: the flagship's (K,Q) runs (examples/svm_f3_local_convergence.lua: same
-- data, same init, NGD eta = 0.1, eps = 2.22e-16) with the official ridge lambda(|K|^2 + |Q|^2),
-- lambda = 2.22e-16 (theory.md §A.4), without it, and without it at eps = 0 on the rescaled-
-- gradient path (optim.ngd{rescaled = true}: no freeze, no underflow). Per variant: corr(KQ^T,
-- W^mm_*) with the nuclear Att-SVM of the final selection, the loss-gradient norm |grad_K L|
-- against the ridge gradient 2 lambda |K| (where they meet the ridge takes over; where
-- |grad_K L| < eps plain NGD stops moving), |K|, |Q|, |K|^2 - |Q|^2 and the selection.
local report = require "hardmax.report"
local o = exp.args(arg, {runs = 100, iters = 2000, every = 10, n = 6, T = 8, d = 10, lr = 0.1, eps = 2.22e-16,
                         ridge = 2.22e-16, seed = 0, out = "out/svm_f3_ridge"})
local names, variant = {"ridge", "none", "none_eps0"}, {ridge = {o.ridge, o.eps, false}, none = {0, o.eps, false}, none_eps0 = {0, 0, true}}
local function log10(x) return math.log(math.max(x, 1e-300), 10) end

local res = report.sweep(o, function(_, _, g)
  local ds = data.grand(o.n, o.T, o.d, {rng = g})
  model.attention{param = "W", v = ds.v}:init{rng = g}  -- the flagship draws W's init first
  local init = model.attention{param = "KQ", v = ds.v}:init{rng = g}
  local twin, out, sel = init:clone(), {}, {}
  for _, name in ipairs(names) do
    local lam, eps, rescaled = table.unpack(variant[name])
    local m, lg = model.attention{param = "KQ", v = ds.v, K = init.K, Q = init.Q, ridge = lam > 0 and lam or nil}, {}
    local r = report.ok(optim.train(m, ds, optim.ngd{lr = o.lr, eps = eps, rescaled = rescaled}, {iters = o.iters, every = o.every,
      record = {"W", "param_norm_K", "param_norm_Q", "min_logit_gap"},  -- |grad_K L| without the ridge term, via a twin:
      callback = function() twin.K, twin.Q = m.K, m.Q; lg[#lg + 1] = twin:grad(ds).K:norm() end}), name)
    local s, K, Q, gap = svm.att(ds, m:selected(ds), {norm = "nuc"}), r.param_norm_K:totable(), r.param_norm_Q:totable(), r.min_logit_gap:totable()
    local rg = report.map(K, function(k) return 2 * o.ridge * k end)
    local function first(f) local k = report.first_reaching(r.steps, report.map(lg, f), 0); return k or 0 / 0, k and report.at(r.steps, gap, k) or 0 / 0 end
    local c = s.status == "optimal" and report.corr_path(r.W, s.W) or report.map(K, function() return 0 / 0 end)
    local cross, gap_cross = first(function(x, i) return rg[i] - x end)
    sel[name], out.steps = m:selected(ds), r.steps
    report.put(out, name .. "_", {svm = s.status, one_minus = report.map(c, function(x) return 1 - x end), corr = c[#c], K = K[#K], Q = Q[#Q],
      balance = K[#K] ^ 2 - Q[#Q] ^ 2, gap = gap[#gap], cross = cross, gap_cross = gap_cross, freeze = first(function(x) return eps - x end),
      lgrad = report.map(lg, log10), rgrad = report.map(rg, log10), ratio = lg[#lg] / rg[#rg], global = report.same(sel[name], ds:optimal())})
  end
  return report.put(out, "", {same_sel = report.same(sel.ridge, sel.none), same_sel_eps0 = report.same(sel.ridge, sel.none_eps0)})
end)

local R, feas = report.new("SVM-F3 ridge ablation"), report.results(report.collect(res))
local infeasible = report.indices(report.collect(res), function(m) return m.ridge_svm ~= "optimal" or m.none_svm ~= "optimal" or m.none_eps0_svm ~= "optimal" end)
for i = #infeasible, 1, -1 do table.remove(feas, infeasible[i]) end
local b, fin = report.bands(feas, report.names(names, {"one_minus", "lgrad", "rgrad"})), {runs = #res, infeasible = infeasible}
for _, nm in ipairs(names) do
  for _, k in ipairs{"corr", "K", "Q", "balance", "gap", "cross", "gap_cross", "freeze", "ratio"} do fin[nm .. "_" .. k] = report.stats(feas, nm .. "_" .. k).mean end
  fin[nm .. "_corr_min"] = math.min(table.unpack(report.collect(feas, nm .. "_corr")))
  fin[nm .. "_frac_global"] = report.fraction(feas, nm .. "_global")
  print(("%-9s corr %.5f (min %.5f) | |K| %.2f |Q| %.2f |K|^2-|Q|^2 %+.2f | gap %.1f | |grad L| = 2 lam|K| at it %.0f (gap %.1f), <= eps at it %.0f | end ratio %.2f | global %.2f")
        :format(nm, fin[nm .. "_corr"], fin[nm .. "_corr_min"], fin[nm .. "_K"], fin[nm .. "_Q"], fin[nm .. "_balance"], fin[nm .. "_gap"], fin[nm .. "_cross"],
                fin[nm .. "_gap_cross"], fin[nm .. "_freeze"], fin[nm .. "_ratio"], fin[nm .. "_frac_global"]))
end
fin.frac_same_selection, fin.frac_same_selection_eps0 = report.fraction(feas, "same_sel"), report.fraction(feas, "same_sel_eps0")
print(("%d runs, %d with an infeasible/uncertified Att-SVM; same selection with and without ridge: %.2f (eps0: %.2f)")
      :format(#res, #infeasible, fin.frac_same_selection, fin.frac_same_selection_eps0))
R:at_least("ridge: mean final corr(KQ^T, W_nuc)", fin.ridge_corr, 0.99)
R:at_least("mean corr ridge - no ridge", fin.ridge_corr - fin.none_corr, 0.03)
R:at_least("mean corr ridge - no ridge at eps=0 rescaled", fin.ridge_corr - fin.none_eps0_corr, 0.005)
R:at_most("ridge: mean |K|^2 - |Q|^2 (abs)", math.abs(fin.ridge_balance), 0.1)
R:at_most("no ridge: mean iteration where |grad_K L| < eps", fin.none_freeze, 300)

local steps = res[1].metrics.steps
local f1 = plot.figure{xlabel = "iteration", ylabel = "1 - corr(KQ^T, W^{mm}_*)", log = "y", legend = "bottom left"}
local f2 = plot.figure{xlabel = "iteration", ylabel = "log_{10} gradient norm", legend = "top right"}
report.plot_bands(f1, steps, b, report.names(names, {"one_minus"}), {"ridge 2.22e-16", "no ridge", "no ridge, eps = 0, rescaled"})
report.plot_bands(f2, steps, b, {"ridge_lgrad", "ridge_rgrad", "none_lgrad"}, {"ridge: |grad_K L|", "ridge: 2 lambda |K|", "no ridge: |grad_K L|"})
f2:hline(log10(o.eps), {dash = "dashed", color = "gray"})  -- eps
fin.figure = plot.panels(o.out .. "/svm_f3_ridge.png", {f1, f2}, {cols = 2, also = {"pdf"}})
R:finish(fin)
