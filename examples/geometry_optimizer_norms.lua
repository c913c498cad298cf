-- GEOMETRY: does steepest descent in a norm pick that norm's Att-SVM? For linear models,
-- steepest descent w.r.t. ||.|| converges in direction to the ||.||-max-margin solution
-- (Gunasekar et al. 2018; sign descent -> l_inf, spectral descent / Muon -> spectral norm:
-- Fan, Schmidt, Thrampoulidis 2025; Tsilivis et al. 2024). For softmax attention this is
-- proven for GD/NGD (Frobenius; Tarzanagh et al. 2023) and l_p mirror descent (l_p) only.
-- Tested here beyond that: on G-rand(6, 8, 10) W is trained by GD, sign descent (l_inf),
-- largest-coordinate descent (l_1), spectral descent (U V^T), Muon and Adam (l_inf for linear
-- models, Zhang, Zou, Cao 2024, but with decaying steps: at the constant lr used here that
-- theorem does not apply, so Adam's peak is reported, not checked); the certified
-- Att-SVM in each norm (fro, inf, l1, spec, nuc) is solved for each run's final selection and
-- corr(W, W^mm_norm) averaged over runs -- the claim: each row peaks at its own norm. Also
-- (K,Q) trained by spectral descent on K and Q separately: which norm's SVM does K Q^T match?
-- Two variants: W_0 = 0 ("zero") and a random init (local convergence, "random"); (K,Q)
-- starts at random in both ((K,Q) = 0 is stationary), so its two rows agree.
local report = require "hardmax.report"
local o = exp.args(arg, {runs = 8, iters = 3000, every = 30, n = 6, T = 8, d = 10, seed = 0, out = "out/geometry"})
local norms = {"fro", "inf", "l1", "spec", "nuc"}
local opts = {  -- name, optimizer, model parameterization, own norm
  {"GD", function() return optim.gd{lr = 2} end, "W", "fro"},
  {"sign", function() return optim.sign{lr = 0.01, rescaled = true} end, "W", "inf"},
  {"l1 coord", function() return optim.coord{lr = 0.1, rescaled = true} end, "W", "l1"},
  {"spectral", function() return optim.spectral{lr = 0.03, rescaled = true} end, "W", "spec"},
  {"Muon", function() return optim.muon{lr = 0.03} end, "W", "spec"},
  {"Adam", function() return optim.adam{lr = 0.01} end, "W", "inf", "reported"},
  {"Adam b1=0", function() return optim.adam{lr = 0.01, beta1 = 0} end, "W", "inf", "reported"},
  {"spectral (K,Q)", function() return optim.spectral{lr = 0.03, rescaled = true} end, "KQ"}}  -- open: no own norm

local function run(init) return report.sweep({runs = o.runs, seed = o.seed, out = o.out .. "/" .. init}, function(_, _, g)
  local ds, out = data.grand(o.n, o.T, o.d, {rng = g}), {}
  local seed = g:randint(1, 2 ^ 30)
  for i, p in ipairs(opts) do
    local m = model.attention{param = p[3], v = ds.v}
    if init == "random" or p[3] == "KQ" then m:init{rng = rng.new(seed)} end   -- (K,Q) = 0 is stationary
    local r = optim.train(m, ds, p[2](), {iters = o.iters, every = o.every, record = {"W"}})
    assert(r.status == "ok", p[1] .. ": " .. r.status)
    local alpha = m:selected(ds)
    for j, nrm in ipairs(norms) do
      local s = svm.att(ds, alpha, {norm = nrm})
      assert(s.status == "optimal", ("%s: Att-SVM(%s) is %s"):format(p[1], nrm, s.status))
      out[("c%d_%d"):format(i, j)] = mat.corr(m:effective_w(), s.W)
      if nrm == (p[4] or "spec") then out["path" .. i], out.steps = report.corr_path(r.W, s.W), r.steps end
    end
  end
  return out
end) end

local R, figs, fin = report.new("GEOMETRY"), {}, {norms = norms, optimizers = {}}
for i, p in ipairs(opts) do fin.optimizers[i] = p[1] end
for _, init in ipairs{"zero", "random"} do
  local res, C, peaks = run(init), {}, {}
  for i, p in ipairs(opts) do
    C[i] = {}
    for j = 1, #norms do C[i][j] = report.stats(res, ("c%d_%d"):format(i, j)).mean end
    local best = 1
    for j = 2, #norms do if C[i][j] > C[i][best] then best = j end end
    peaks[i] = norms[best]
    if p[5] then print(("%s init, %s: peaks at %s (l_inf for linear models with decaying steps; not checked)"):format(init, p[1], peaks[i]))
    elseif p[4] then R:check(("%s, %s: row peaks at its own norm (%s)"):format(init, p[1], p[4]), norms[best] == p[4], "peak " .. norms[best]) end
  end
  local h = plot.figure{title = ("mean corr(W, W^{mm}_{norm}), init %s, %d runs"):format(init, #res), xlabel = "Att-SVM norm", ylabel = "optimizer", legend = false}
  h:heatmap(C, {xlabels = norms, ylabels = fin.optimizers, range = {0, 1}})
  local f = plot.figure{title = "corr with the own norm's Att-SVM, init " .. init, xlabel = "iteration", ylabel = "correlation", legend = "bottom right", log = "x", xrange = {o.every, o.iters}, yrange = {0, 1}}
  for i, p in ipairs(opts) do
    local b = report.band(res, "path" .. i)
    f:line(res[1].metrics.steps, b.mean, {label = ("%s vs %s"):format(p[1], p[4] or "spec")})
  end
  figs[#figs + 1], figs[#figs + 2] = h, f
  fin[init] = {corr = C, peak = peaks, kq_peak = peaks[#opts]}
  print(("%s init: (K,Q) by spectral descent on K and Q matches the %s-norm Att-SVM best"):format(init, peaks[#opts]))
end
fin.figure = plot.panels(o.out .. "/geometry.png", figs, {cols = 2, size = {17, 17}})
R:finish(fin)
