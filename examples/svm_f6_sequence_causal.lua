-- SVM-F6: sequence outputs with full and causal self-attention converge to the SAtt-SVM of
-- their final per-position selections (Transformers as SVMs; theory.md §E.2, §C.5).
-- Protocol reconstructed (no official code): G-rand tokens, per-position labels Y_ik = ±1.
local report = require "hardmax.report"
local o = exp.args(arg, {runs = 20, iters = 3000, n = 4, T = 6, ds = "8,16", lr = 0.1, eps = 2.22e-16,
                         seed = 0, out = "out/svm_f6"})
local dims = {}
for d in o.ds:gmatch("%d+") do dims[#dims + 1] = tonumber(d) end

local res = report.sweep(o, function(cfg, _, g)
  local base = data.grand(o.n, o.T, cfg.d, {rng = g})
  local ds = data.new{X = base.X, Y = g:sign(o.n * o.T):reshape(o.n, o.T), v = base.v}
  local m = model.attention{param = "W", output = "sequence", mask = cfg.mask, v = ds.v}:init{rng = g}
  optim.train(m, ds, optim.ngd{lr = o.lr, eps = o.eps}, {iters = o.iters})
  local s = svm.seq(ds, m:selected(ds), {mask = cfg.mask, norm = "fro"})
  local P = m:probs(ds)
  local first = 1.0   -- causal: the first query sees only token 1
  for i = 1, o.n do first = math.min(first, P:get(i, 1, 1)) end
  return {corr = s.status == "optimal" and mat.corr(m.W, s.W) or 0 / 0, feasible = s.status == "optimal",
          first_row = first, m = s.m}
end, {grid = {d = dims, mask = {"full", "causal"}}})

local R, rows = report.new("SVM-F6"), {}
for _, mask in ipairs{"full", "causal"} do
  for _, d in ipairs(dims) do
    local sub = {}
    for _, r in ipairs(res) do if r.params.d == d and r.params.mask == mask then sub[#sub + 1] = r end end
    local f99 = report.fraction(sub, function(m) return m.corr >= 0.99 end)
    local st = report.stats(sub, "corr")
    rows[#rows + 1] = {mask = mask, d = d, corr_mean = st.mean, frac_corr_099 = f99,
                       feasible = report.fraction(sub, function(m) return m.feasible end)}
    print(("%-6s d=%2d  mean corr %.4f  corr >= 0.99 in %.0f%%  feasible %.0f%%"):format(mask, d, st.mean, 100 * f99, 100 * rows[#rows].feasible))
    if d >= 16 then R:check(("%s, d=%d: corr >= 0.99 on >= 80%% of runs"):format(mask, d), f99 >= 0.8) end
    if mask == "causal" then
      R:check(("causal, d=%d: first row attends exactly to token 1"):format(d),
              report.fraction(sub, function(m) return m.first_row == 1 end) == 1)
      R:check(("causal, d=%d: constraints only for k >= 2 (n T (T-1)/2 rows)"):format(d),
              report.fraction(sub, function(m) return m.m == o.n * o.T * (o.T - 1) // 2 end) == 1)
    end
  end
end
local fig = plot.figure{xlabel = "d", ylabel = "mean corr(W, W^{mm}_{SAtt})", legend = "bottom right"}
for _, mask in ipairs{"full", "causal"} do
  local y = {}
  for _, r in ipairs(rows) do if r.mask == mask then y[#y + 1] = r.corr_mean end end
  fig:line(dims, y, {label = mask, marker = "circle"})
end
fig:save(o.out .. "/svm_f6.png", {also = {"pdf"}})
R:finish{cells = rows}
