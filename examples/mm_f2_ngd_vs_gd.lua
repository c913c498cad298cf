-- MM-F2a/b: on the MM-F1c data, normalized GD (eta = 0.1) selects the optimal token far faster
-- than plain GD (eta = 1): softmax mass on token 1 and |p| over the first 200 iterations
-- (theory.md §E.1; D.0.3-4: |p| grows linearly under NGD, logarithmically under GD).
-- Differs from the official notebook on purpose: float64, stable gradients, seeded instances.
local report = require "hardmax.report"
local o = exp.args(arg, {runs = 10, iters = 1000, show = 200, lr_ngd = 0.1, lr_gd = 1, eps = 1e-12, seed = 0,
                         out = "out/mm_f2"})
local rec = {iters = o.iters, record = {"softmax_at", "param_norm"}}

local res = report.sweep(o, function(_, _, g)
  local ds, info = data.example("mm_f1c", {rng = g})
  local s = svm.prompt(ds, ds:optimal(), {W = info.W})
  rec.indices = ds:optimal()
  local out = {}
  for name, opt in pairs{ngd = optim.ngd{lr = o.lr_ngd, eps = o.eps}, gd = optim.gd{lr = o.lr_gd}} do
    local m = model.attention{param = "p", W = info.W, v = ds.v}
    local r = optim.train(m, ds, opt, rec)
    out["prob_" .. name], out["norm_" .. name] = r.softmax_at, r.param_norm
    out["cos_" .. name] = mat.corr(m.p, s.p)
  end
  return out
end)

local R, b = report.new("MM-F2"), report.bands(res, {"prob_ngd", "prob_gd", "norm_ngd", "norm_gd"})
local at = function(k, it) return b[k].mean[it + 1] end   -- recorded at every step 0..iters
R:check("k=50: NGD prob >= 0.97 and > GD prob", at("prob_ngd", 50) >= 0.97 and at("prob_ngd", 50) > at("prob_gd", 50),
        ("NGD %.4f, GD %.4f"):format(at("prob_ngd", 50), at("prob_gd", 50)))
R:check("k=200: NGD prob >= 0.999", at("prob_ngd", 200) >= 0.999, ("%.6f"):format(at("prob_ngd", 200)))
R:check("k=200: GD prob in 0.93..0.995", at("prob_gd", 200) >= 0.93 and at("prob_gd", 200) <= 0.995, ("%.4f"):format(at("prob_gd", 200)))
R:check("norm(p_200) NGD in 18..20", at("norm_ngd", 200) >= 18 and at("norm_ngd", 200) <= 20, ("%.3f"):format(at("norm_ngd", 200)))
R:check("norm(p_200) GD in 3..6", at("norm_gd", 200) >= 3 and at("norm_gd", 200) <= 6, ("%.3f"):format(at("norm_gd", 200)))

local f1 = plot.figure{xlabel = "iteration", ylabel = "mean_i s_{i,1}", legend = "bottom right", xrange = {0, o.show}}
local f2 = plot.figure{xlabel = "iteration", ylabel = "‖p‖", legend = "top left", xrange = {0, o.show}, yrange = {0, 25}}
local lab = {("NGD, η = %g"):format(o.lr_ngd), ("GD, η = %g"):format(o.lr_gd)}
report.plot_bands(f1, mat.range(0, o.iters), b, {"prob_ngd", "prob_gd"}, lab)
report.plot_bands(f2, mat.range(0, o.iters), b, {"norm_ngd", "norm_gd"}, lab)
plot.panels(o.out .. "/mm_f2.png", {f1, f2}, {cols = 2, also = {"pdf"}})
R:finish{figure = o.out .. "/mm_f2.png", prob_ngd_50 = at("prob_ngd", 50), prob_gd_50 = at("prob_gd", 50), prob_ngd_200 = at("prob_ngd", 200),
         prob_gd_200 = at("prob_gd", 200), norm_ngd_200 = at("norm_ngd", 200), norm_gd_200 = at("norm_gd", 200),
         norm_ngd_1000 = at("norm_ngd", o.iters), norm_gd_1000 = at("norm_gd", o.iters),
         cos_ngd_mean = report.stats(res, "cos_ngd").mean, cos_gd_mean = report.stats(res, "cos_gd").mean, runs = b.prob_ngd.n}
