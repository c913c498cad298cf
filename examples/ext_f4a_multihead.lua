-- EXT-F4a (theory.md §F.4, beyond the papers): H-head attention written with ad. Heads W_h with
-- head vectors u_h, concatenated into a linear head (f_i = Σ_h u_hᵀ X_iᵀ softmax(X_i W_h z_i)),
-- trained jointly by per-tensor NGD. Does each W_h converge in direction to the Att-SVM of its
-- own final selection α_h, and how do the heads split the tokens? "shared": every u_h = v
-- (summed heads); "distinct": random unit u_h, so every head has its own token scores.
local report = require "hardmax.report"
local ad_models = require "hardmax.ad_models"
local o = exp.args(arg, {runs = 10, iters = 2000, every = 50, T = 8, cells = "6x10,20x20", Hs = "2,3,4",
                         lr = 0.1, eps = 2.22e-16, seed = 0, out = "out/ext_f4a"})
local cells, Hs = {}, report.numbers(o.Hs)
for c in o.cells:gmatch("[^,]+") do cells[#cells + 1] = c end

local res = report.sweep(o, function(cfg, _, g)
  local n, d = table.unpack(report.numbers(cfg.cell))
  local ds, H = data.grand(n, o.T, d, {rng = g}), cfg.H
  local U = cfg.heads == "distinct" and mat.randn(g, H, d) or nil
  if U then for h = 1, H do U[h]:scale_(1 / U[h]:norm()) end end
  local f, params = ad_models.multihead(ds, {H = H, heads = U})
  for h = 1, H do params["W" .. h]:copy_(mat.randn(g, d, d) * (1 / d)) end
  local obj, rec = ad.objective(f, params), {}
  for h = 1, H do rec[h] = "W" .. h end
  local r = report.ok(optim.train(obj, optim.ngd{lr = o.lr, eps = o.eps}, {iters = o.iters, every = o.every, record = rec}))
  local sel, m = {}, {corr_min = 1, own = 0, distinct = 0}
  for h = 1, H do
    sel[h] = ad_models.selected(obj:value("logits" .. h))
    local s = report.optimal(svm.att(ds, sel[h]), "Att-SVM of head " .. h)
    m.corr_min = math.min(m.corr_min, mat.corr(params["W" .. h], s.W))
    local path = report.corr_path(r["W" .. h], s.W)
    m.path_min = m.path_min and report.map(path, function(c, k) return math.min(c, m.path_min[k]) end) or path
    local best = ds:scores(U and U[h] or ds.v):argmax(2) -- head h's own highest-score token
    m.own = m.own + report.count(report.range(1, n), function(i) return sel[h][i] == best[i] end) / (n * H)
  end
  for i = 1, n do -- how many different tokens the H heads select in sample i
    local seen = {}
    for h = 1, H do seen[sel[h][i]] = true end
    for _ in pairs(seen) do m.distinct = m.distinct + 1 / n end
  end
  return m
end, {grid = {cell = cells, H = Hs, heads = {"shared", "distinct"}}})

local R, rows = report.new("EXT-F4a"), {}
local fig = plot.figure{xlabel = "NGD iteration", ylabel = "min_h corr(W_h, W^{mm}(α_h))", legend = "bottom right", yrange = {0.5, 1}}
local steps = report.range(0, o.iters, o.every)
for _, cell in ipairs(cells) do for _, H in ipairs(Hs) do for _, heads in ipairs{"shared", "distinct"} do
  local sub = report.where(res, {cell = cell, H = H, heads = heads})
  local row = {cell = cell, H = H, heads = heads, corr_min = report.stats(sub, "corr_min").mean,
               frac_099 = report.fraction(sub, function(m) return m.corr_min >= 0.99 end),
               own = report.stats(sub, "own").mean, distinct = report.stats(sub, "distinct").mean}
  rows[#rows + 1] = row
  print(("n x d = %-5s H=%d %-8s  mean min_h corr %.4f  (>= 0.99: %3.0f%%)  heads on their own best token %5.1f%%  distinct tokens per sample %.2f")
    :format(cell, H, heads, row.corr_min, 100 * row.frac_099, 100 * row.own, row.distinct))
  R:at_least(("%s H=%d %s: fraction of runs with every head's corr >= 0.99"):format(cell, H, heads), row.frac_099, 0.8)
  if heads == "shared" then R:at_most(("%s H=%d shared: distinct tokens per sample"):format(cell, H), row.distinct, 1.1)
  else R:at_least(("%s H=%d distinct: distinct tokens per sample"):format(cell, H), row.distinct, 1 + (H - 1) / 2) end
  if H == Hs[1] or H == Hs[#Hs] then -- the smallest and largest H (a readable legend)
    fig:line(steps, report.band(sub, "path_min").mean, {label = ("%s H=%d %s"):format(cell, H, heads), dash = heads == "shared" and "solid" or "dashed"})
  end
end end end
fig:save(o.out .. "/ext_f4a.png", {also = {"pdf"}})
R:finish{cells = rows}
