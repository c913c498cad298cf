-- FR-F2: with a fixed linear decoder, normalized GD and the Polyak step find the max-margin
-- direction much faster than GD (Implicit Bias and Fast Convergence Rates; theory.md §E.3,
-- §D.0.3-5). Protocol reconstructed (no official code). Differs on purpose: hardmax's stable
-- gradient and eps = 0 for NGD (no eps floor, so ||W_k|| keeps growing like 0.1 k); the
-- Att-SVM of the selection at every recorded step is exact and certified (solved once per
-- distinct selection). A run whose gradient underflows to exactly 0 stops and is reported.
local report, json = require "hardmax.report", require "hardmax.json"
local o = exp.args(arg, {runs = 10, iters = 10000, every = 10, n = 6, T = 8, d = 10, eps = 0.0,
                         lr_max = 1e4, population = 1000, seed = 0, out = "out/fr_f2"})
local methods, keys = {"GD", "NGD", "PS"}, {"gap", "softmax_max", "param_norm", "corr"}
local steps = report.range(0, o.iters, o.every)

local res = report.sweep(o, function(_, _, g)
  local ds = data.grand(o.n, o.T, o.d, {rng = g})
  local lstar = loss.logistic:value(ds:scores():max(2)):mean()   -- L_* = (1/n) sum_i l(gamma_{i,opt})
  local opts = {GD = optim.gd{lr = 1}, NGD = optim.ngd{lr = 0.1, eps = o.eps}, PS = optim.polyak{lstar = lstar, lr_max = o.lr_max}}
  local att, out = report.memo(function(a) return svm.att(ds, a) end), {}
  for _, name in ipairs(methods) do
    local m = model.attention{v = ds.v}
    local r = optim.train(m, ds, opts[name], {iters = o.iters, every = o.every,
                                             record = {"loss", "softmax_max", "param_norm", "min_logit_gap", "W"}})
    -- W^mm of the selection at each recorded step, and corr(W_k, W^mm_{alpha_k})
    local svms = report.map(r.W, function(W) return att(model.attention{v = ds.v, W = W}:selected(ds)) end)
    r.corr = report.map(r.W, function(W, k) return svms[k].status == "optimal" and optim.corr(W, svms[k].W) or 0 / 0 end)
    assert(r.status == "ok" or r.status:match("^gradient underflow"), name .. ": " .. r.status)
    r.gap = (r.loss - lstar):totable()
    report.pad(r, keys, #steps)
    report.put(out, name .. "_", r, keys)   -- out.GD_corr = r.corr, ...; underflow: theory.md §D.5, report, never divide
    report.put(out, name .. "_", {underflow = r.status ~= "ok" and r.status or false, min_logit_gap = r.min_logit_gap[#r.min_logit_gap],
      switch = report.last_change(steps, svms), global = report.same(m:selected(ds), ds:optimal()), normmm = att(m:selected(ds)).objective})
  end
  local sat = report.first_reaching(steps, out.NGD_softmax_max, 1 - 1e-9) or math.huge
  local omc = report.map(out.NGD_corr, function(c) return 1 - c end)
  -- once saturated on its final selection, 1 - corr must not grow
  out.NGD_late_switch = sat < out.NGD_switch
  out.NGD_1_minus_s500 = 1 - report.at(steps, out.NGD_softmax_max, 500)   -- criterion (i) per run: fr_f2_softmax_batches.lua
  out.NGD_monotone = report.nonincreasing(steps, omc, {from = math.max(sat, out.NGD_switch), rtol = 1e-9})
  out.NGD_slope = report.slope(steps, omc, {log = "xy", from = 1e3, to = 1e4})
  out.GD_norm_ratio = report.slope(steps, out.GD_param_norm, {log = "x", from = 1e3, to = 1e4}) / out.GD_normmm
  return out
end)

-- criterion (i)'s population (theory.md §E.3): NGD's s(500) on o.population instances
local pop = report.sweep(o, function(_, _, g)
  local ds = data.grand(o.n, o.T, o.d, {rng = g})
  local r = optim.train(model.attention{v = ds.v}, ds, optim.ngd{lr = 0.1, eps = o.eps}, {iters = 500, every = 500, record = {"softmax_max"}})
  return {s = report.ok(r).softmax_max[2]}
end, {runs = o.population, out = o.out .. "/population"})

local R, fin = report.new("FR-F2"), {k = {10, 100, 500, 2000, o.iters}}
local b = report.bands(res, report.names(methods, keys))
report.bands_at(b, steps, fin.k, fin)   -- fin.GD_corr = mean corr of GD at the steps fin.k, ...
for _, name in ipairs(methods) do fin["frac_global_" .. name] = report.fraction(res, name .. "_global") end
local per_run = {"NGD_slope", "GD_norm_ratio", "NGD_min_logit_gap", "NGD_underflow", "NGD_late_switch", "NGD_1_minus_s500", "NGD_switch"}
report.collect(res, per_run, fin)   -- fin.NGD_slope = {slope of run 1, ...}
for _, k in ipairs(per_run) do print(k .. ": " .. json.encode(fin[k]):gsub("%-?%d[%d.e+-]*", function(x) return ("%.4g"):format(x) end)) end
local at = function(key, k) return report.at(steps, b[key].mean, k) end
local ratio, steep = report.stats(res, "GD_norm_ratio").mean, report.fraction(res, function(m) return m.NGD_slope <= -1.5 end)
R:check("k=500: mean corr NGD >= 0.97 > GD", at("NGD_corr", 500) >= 0.97 and at("NGD_corr", 500) > at("GD_corr", 500),
        ("NGD %.4f, GD %.4f"):format(at("NGD_corr", 500), at("GD_corr", 500)))
local low = report.indices(fin.NGD_1_minus_s500, function(u) return u > 1e-3 end)   -- runs mid selection switch
local med = 1 - exp.quantile(fin.NGD_1_minus_s500, 0.5)
local ps, above = report.stats(pop, "s"), report.fraction(pop, function(m) return m.s >= 0.999 end)
local lower = ps.mean - 2 * ps.std / math.sqrt(ps.n)
fin.NGD_s500_median, fin.NGD_s500_population = med, {n = ps.n, mean = ps.mean, mean_minus_2se = lower, frac_above = above}
R:check("k=500: softmax NGD >= 0.999 (median; population mean - 2 s.e., >= 90% of runs), GD <= 0.8",
        med >= 0.999 and lower >= 0.999 and above >= 0.9 and at("GD_softmax_max", 500) <= 0.8,
        ("NGD median %.6f, 10-run mean %.5f (runs below 0.999: {%s}); population of %d: mean - 2 s.e. %.6f, %.1f%% >= 0.999; GD %.3f")
          :format(med, at("NGD_softmax_max", 500), table.concat(low, ","), ps.n, lower, 100 * above, at("GD_softmax_max", 500)))
R:check("PS mean corr >= 0.9 after 10 steps", at("PS_corr", 10) >= 0.9, ("%.4f"):format(at("PS_corr", 10)))
R:check("NGD 1-corr non-increasing after saturation", report.fraction(res, "NGD_monotone") == 1)
R:check("NGD log-log slope of 1-corr on [1e3,1e4] <= -1.5 on >= 80% of runs", steep >= 0.8, ("%.0f%% of runs"):format(100 * steep))
R:check("GD: slope of norm(W_k) vs ln k within 20% of norm(W^mm)", math.abs(ratio - 1) <= 0.2, ("mean ratio %.3f"):format(ratio))

local function fig(ylabel, log, key, map)
  local f = plot.figure{xlabel = "iteration k", ylabel = ylabel, log = log, legend = "outside right"}
  return report.plot_lines(f, steps, b, report.names(methods, {key}), {labels = methods, map = map})
end
local fc, c3 = fig("1 - corr(W_k, W^{mm}_{\\alpha_k})", "xy", "corr", function(c) return 1 - c end), 1 - at("NGD_corr", 1e3)
fc:line({1e3, 1e4}, {c3, c3 / 100}, {label = "k^{-2}", dash = "dashed", color = "gray"})
fin.figure = plot.panels(o.out .. "/fr_f2.png", {fig("L(W_k) - L_*", "xy", "gap"), fig("mean_i s_{i,\\alpha_i}", "x", "softmax_max"),
                                    fc, fig("||W_k||_F", "xy", "param_norm")}, {cols = 2, also = {"pdf"}})
R:finish(fin)
