-- MM-F1c: three inputs, seven tokens each, all non-optimal scores equal (0.5): normalized GD on
-- p converges in direction to p^mm from every start, on random instances (theory.md §E.1).
-- Differs from the official notebook on purpose: the SVM uses the model's W = diag(1,1,0)
-- (the notebook solves it with W = I, i.e. including the score coordinate); float64, stable
-- gradients, certified QP; instances are seeded per run (--seed), not torch seed 0.
local report = require "hardmax.report"
local o = exp.args(arg, {runs = 20, iters = 1000, show = 200, lr = 0.1, eps = 1e-12, seed = 0, out = "out/mm_f1c"})
local inits = {{1, 0, 0}, {0.5, 0, 0}, {0, 0, 0}, {-0.5, 0, 0}, {-1, 0, 0}, {-1.5, 0, 0}}

local res = report.sweep(o, function(_, _, g)
  local ds, info = data.example("mm_f1c", {rng = g})
  local s = svm.prompt(ds, ds:optimal(), {W = info.W})
  assert(s.status == "optimal", "Att-SVM(opt) is " .. s.status)
  local out = {cos = {}, p_mm = s.p, keys = (ds.X * info.W):reshape(-1, 3)}
  for j, p0 in ipairs(inits) do
    local m = model.attention{param = "p", W = info.W, v = ds.v, p = p0}
    local r = optim.train(m, ds, optim.ngd{lr = o.lr, eps = o.eps}, {iters = o.iters, record = {"p"}})
    out.cos[j], out["path" .. j] = mat.corr(m.p, s.p), report.xy(r.p, o.show + 1)
  end
  return out
end)

local R = report.new("MM-F1c")
local function allgood(m) for _, c in ipairs(m.cos) do if c < 0.99 then return false end end return true end
local frac, worst = report.fraction(res, allgood), math.huge
for _, r in ipairs(res) do for _, c in ipairs(r.metrics.cos) do worst = math.min(worst, c) end end
R:check("cos(p_1000, p^mm) >= 0.99 for all inits on >= 95% of instances", frac >= 0.95,
        ("%.0f%% of %d instances, min cos %.4f"):format(100 * frac, #res, worst))

local m1 = res[1].metrics                           -- figure: the first instance
local fig = plot.figure{xlabel = "p_1 (k_1)", ylabel = "p_2 (k_2)", legend = "outside right", size = {16, 9}}
for j, p0 in ipairs(inits) do fig:trajectory(m1["path" .. j], {arrow_every = 10, label = ("p_0 = (%g, 0)"):format(p0[1])}) end
local k = mat.new(m1.keys)
local opt, other = {}, {}
for t = 1, #k do table.insert((t - 1) % 7 == 0 and opt or other, {k[t][1], k[t][2]}) end
fig:scatter(mat.new(opt):slice(2, 1, 1), mat.new(opt):slice(2, 2, 2), {marker = "star", size = 2, color = "black", label = "optimal tokens"})
fig:scatter(mat.new(other):slice(2, 1, 1), mat.new(other):slice(2, 2, 2), {marker = "triangle", color = "gray", label = "other tokens"})
fig:ray(m1.p_mm[1], m1.p_mm[2], {color = "red", label = "p^{mm}"})
fig:save(o.out .. "/mm_f1c.png", {also = {"pdf"}})
R:finish{figure = o.out .. "/mm_f1c.png", frac_all_inits_ge_099 = frac, min_cos = worst, instances = #res}
