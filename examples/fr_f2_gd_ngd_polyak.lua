-- FR-F2: with a fixed linear decoder, normalized GD and the Polyak step find the max-margin
-- direction much faster than GD (Implicit Bias and Fast Convergence Rates; theory.md §E.3,
-- §D.0.3-5). Protocol reconstructed (no official code). Differs on purpose: hardmax's stable
-- gradient and eps = 0 for NGD (no eps floor, so ||W_k|| keeps growing like 0.1 k); the
-- Att-SVM of the selection at every recorded step is exact and certified (solved once per
-- distinct selection). A run whose gradient underflows to exactly 0 stops and is reported.
local report = require "hardmax.report"
local o = exp.args(arg, {runs = 10, iters = 10000, every = 10, n = 6, T = 8, d = 10, eps = 0.0,
                         lr_max = 1e4, seed = 0, out = "out/fr_f2"})
local methods = {"GD", "NGD", "PS"}
local steps = {}
for k = 0, o.iters, o.every do steps[#steps + 1] = k end
local keys = {"gap", "softmax_max", "param_norm", "corr"}

local function run(_, _, g)
  local ds = data.grand(o.n, o.T, o.d, {rng = g})
  local gam, opt = ds:scores(), ds:optimal()
  local lstar = 0   -- L_* = (1/n) sum_i l(gamma_{i,opt}), the infimum for a fixed decoder
  for i = 1, o.n do lstar = lstar + loss.logistic:value(gam:get(i, opt[i])) / o.n end
  local opts = {GD = optim.gd{lr = 1}, NGD = optim.ngd{lr = 0.1, eps = o.eps},
                PS = optim.polyak{lstar = lstar, lr_max = o.lr_max}}
  local att, out = report.memo(function(a) return svm.att(ds, a) end), {}
  for _, name in ipairs(methods) do
    local m, corr, cur, switch = model.attention{v = ds.v}, {}, nil, 0
    local r = optim.train(m, ds, opts[name], {iters = o.iters, every = o.every,
      record = {"loss", "softmax_max", "param_norm"}, callback = function(k, mm)
        local s = att(mm:selected(ds))   -- W^mm of the selection at this step
        if s ~= cur then cur, switch = s, k end
        corr[#corr + 1] = s.status == "optimal" and optim.corr(mm.W, s.W) or 0 / 0
      end})
    assert(r.status == "ok" or r.status:match("^gradient underflow"), name .. ": " .. r.status)
    out["underflow_" .. name] = r.status ~= "ok" and r.steps[#r.steps] or false
    out["switch_" .. name] = switch   -- last recorded step at which the selection changed
    r.corr, r.gap = corr, {}
    for k, l in ipairs(r.loss:totable()) do r.gap[k] = l - lstar end
    report.pad(r, keys, #steps)
    for _, k in ipairs(keys) do out[name .. "_" .. k] = r[k] end
    local s = att(m:selected(ds))
    out["global_" .. name], out["normmm_" .. name] = report.same(m:selected(ds), opt), s.objective
  end
  return out
end

local res = report.sweep(o, run)
local R, b = report.new("FR-F2"), {}
for _, name in ipairs(methods) do for _, k in ipairs(keys) do b[name .. "_" .. k] = report.band(res, name .. "_" .. k) end end
local at = function(key, k) return report.at(steps, b[key].mean, k) end
local slopes, sat_ok, ratio, under, late = {}, true, {}, {}, {}
for _, r in ipairs(res) do
  local m, omc = r.metrics, {}
  for k, c in ipairs(m.NGD_corr) do omc[k] = 1 - c end
  slopes[#slopes + 1] = report.slope(steps, omc, {log = "xy", from = 1e3, to = 1e4})
  ratio[#ratio + 1] = report.slope(steps, m.GD_param_norm, {log = "x", from = 1e3, to = 1e4}) / m.normmm_GD
  local sat = report.first_reaching(steps, m.NGD_softmax_max, 1 - 1e-9) or math.huge
  if sat < m.switch_NGD then late[#late + 1] = ("%s (step %d)"):format(r.key, m.switch_NGD) end
  for k = 2, #omc do   -- once saturated on the final selection, 1 - corr must not increase
    if steps[k - 1] >= math.max(sat, m.switch_NGD) and omc[k] > omc[k - 1] * (1 + 1e-9) then sat_ok = false end
  end
  if m.underflow_NGD then under[#under + 1] = r.key .. " at step " .. m.underflow_NGD end
end
local steep = 0
for _, s in ipairs(slopes) do if s <= -1.5 then steep = steep + 1 end end
local mean_ratio = 0
for _, q in ipairs(ratio) do mean_ratio = mean_ratio + q / #ratio end
print(("NGD slopes of log(1-corr) vs log k on [1e3,1e4]: %s"):format(table.concat(slopes, " "):gsub("(%-?%d%.%d%d)%d*", "%1")))
print(("GD slope of ||W|| vs ln k / ||W^mm||: %s"):format(table.concat(ratio, " "):gsub("(%d%.%d%d)%d*", "%1")))
print("NGD runs whose gradient underflowed exactly: " .. (#under > 0 and table.concat(under, ", ") or "none"))
print("NGD runs that switched selection after saturating: " .. (#late > 0 and table.concat(late, ", ") or "none"))
R:check("k=500: mean corr NGD >= 0.97 > GD", at("NGD_corr", 500) >= 0.97 and at("NGD_corr", 500) > at("GD_corr", 500),
        ("NGD %.4f, GD %.4f"):format(at("NGD_corr", 500), at("GD_corr", 500)))
R:check("k=500: softmax NGD >= 0.999, GD <= 0.8", at("NGD_softmax_max", 500) >= 0.999 and at("GD_softmax_max", 500) <= 0.8,
        ("NGD %.5f, GD %.3f"):format(at("NGD_softmax_max", 500), at("GD_softmax_max", 500)))
R:check("PS mean corr >= 0.9 after 10 steps", at("PS_corr", 10) >= 0.9, ("%.4f"):format(at("PS_corr", 10)))
R:check("NGD 1-corr non-increasing after saturation", sat_ok, "on the final selection")
R:check("NGD log-log slope of 1-corr on [1e3,1e4] <= -1.5 on >= 80% of runs", steep >= 0.8 * #slopes,
        ("%d of %d runs"):format(steep, #slopes))
R:check("GD: slope of norm(W_k) vs ln k within 20% of norm(W^mm)", math.abs(mean_ratio - 1) <= 0.2, ("mean ratio %.3f"):format(mean_ratio))

local function fig(ylabel, log, key, transform)
  local f = plot.figure{xlabel = "iteration k", ylabel = ylabel, log = log, legend = "outside right"}
  for _, name in ipairs(methods) do
    local y = {}
    for k, v in ipairs(b[name .. "_" .. key].mean) do y[k] = transform and transform(v) or v end
    f:line(steps, y, {label = name})
  end
  return f
end
local fc = fig("1 - corr(W_k, W^{mm}_{\\alpha_k})", "xy", "corr", function(c) return 1 - c end)
local c3 = 1 - at("NGD_corr", 1e3)
fc:line({1e3, 1e4}, {c3, c3 / 100}, {label = "k^{-2}", dash = "dashed", color = "gray"})
plot.panels(o.out .. "/fr_f2.png", {fig("L(W_k) - L_*", "xy", "gap"), fig("mean_i s_{i,\\alpha_i}", "x", "softmax_max"),
                                    fc, fig("||W_k||_F", "xy", "param_norm")}, {cols = 2})
print("figure: " .. o.out .. "/fr_f2.png")
local fin = {}
for _, key in ipairs{"corr", "softmax_max", "gap"} do
  for _, name in ipairs(methods) do
    local ks = {10, 100, 500, 2000, o.iters}
    fin[key .. "_" .. name] = {}
    for j, k in ipairs(ks) do fin[key .. "_" .. name][j] = at(name .. "_" .. key, k) end
  end
end
fin.k = {10, 100, 500, 2000, o.iters}
fin.ngd_slopes, fin.gd_norm_slope_ratio, fin.ngd_underflow, fin.ngd_late_switch = slopes, ratio, under, late
for _, name in ipairs(methods) do
  fin["frac_global_" .. name] = report.fraction(res, function(m) return m["global_" .. name] end)
end
R:finish(fin)
