-- RP: regularization paths (theory.md §D.1, §D.2, §F.10). For R on a log grid (warm-started),
-- the constrained minimizer theta(R) = argmin_{|theta| <= R} L(theta) turns towards the SVM its
-- norm predicts: p(R) -> p^mm (global, MM-F1a/b) or p^mm(alpha) from inside a local cone
-- (MM-F1b); joint (v(R), p(R)) -> (v^mm, p^relax) (MM-F3); on G-rand(6,8,10), W(R) with
-- |W|_F <= R -> W^mm (Frobenius) and K Q^T with |K|^2 + |Q|^2 <= 2R -> W^mm_* (nuclear), not
-- W^mm. The G-rand SVMs use the path's own final selection (local paths, §D.2).
local report = require "hardmax.report"
-- R_max: 100 for p, (v,p) and |W|_F; 200 for the nuclear ball, whose SVM norm is about twice the
-- Frobenius one (the same margin needs twice the radius). G-rand paths use restarts = 8 (best
-- of the warm start and 8 other starts per radius): warm-started alone, the (K,Q) path stalls
-- at rank-deficient saddles (cos 0.85-0.95 with W^mm_* at R = 200).
local o = exp.args(arg, {rmax = 100, rmax_nuc = 200, per_decade = 20, iters = 5000, restarts = 8, runs = 5, seed = 0,
                         n = 6, T = 8, d = 10, out = "out/rp"})
local radii = {W = report.log_grid(1, o.rmax, o.per_decade), KQ = report.log_grid(1, o.rmax_nuc, o.per_decade)}
local R, out = report.new("RP"), {}
local f1 = plot.figure{xlabel = "R", ylabel = "cos(θ(R), SVM)", log = "x", legend = "bottom right", yrange = {0.85, 1.005}}

local function trace(name, path, pred, wrong, rad) -- path: R-by-shape array of minimizers
  local cp = report.corr_path(path, pred)   -- wrong, when given: the SVM the path should not reach
  R:converges(name, cp, {alt = wrong and report.corr_path(path, wrong), distinct = wrong and mat.corr(pred, wrong) < 0.95, at = "R_max"})
  f1:line(rad or radii.W, cp, {label = (name:gsub("%^(%w+)", "^{%1}"))})
  out["cos_" .. name:gsub("[^%w]+", "_"):gsub("_$", "")] = cp[#cp]
end

-- {data, p0, alpha, R_min}: the local path starts in the cone C_{mu,R}(p^mm(2)), R = 20
for _, case in ipairs{{"mm_f1a", {0, 0, 0}, 1, 1}, {"mm_f1b", {0, 0, 0}, 1, 1}, {"mm_f1b", {20, -1, 0}, 2, 20}} do
  local ds, info = data.example(case[1])
  local pred, wrong = svm.prompt(ds, {case[3]}, {W = info.W}).p, svm.prompt(ds, {3 - case[3]}, {W = info.W}).p
  local rad = report.log_grid(case[4], o.rmax, o.per_decade)
  local r = optim.regpath(model.attention{param = "p", W = info.W, v = ds.v, p = case[2]}, ds, {radii = rad, iters = o.iters})
  trace(("%s p(R) -> %s"):format(case[1]:upper():gsub("_", "-"), case[3] == 1 and "p^mm" or "p^mm(2)"), r.p, pred, wrong, rad)
end
for _, case in ipairs{"tight", "nontight"} do
  local ds, info = data.example("mm_f3_" .. case)
  local vs = svm.head(ds, {2, 2, 2})
  local prel = svm.prompt(ds, {2, 2, 2}, {W = info.W, relax = report.complement(ds.n, vs.support)})
  local pmm = svm.prompt(ds, {2, 2, 2}, {W = info.W})
  local m = model.attention{param = "p", W = info.W, p = info.p0, v = info.v0, train = {"p", "v"}}
  -- joint balls |v| <= R, |p| <= R; inf L = 0 (the default)
  local r = optim.regpath(m, ds, {radii = report.map(radii.W, function(radius) return {v = radius, p = radius} end), iters = o.iters})
  trace("MM-F3 " .. case .. " v(R) -> v^mm", r.v, vs.v)
  trace("MM-F3 " .. case .. " p(R) -> p^relax", r.p, prel.p, pmm.p)
end

local res = report.sweep(o, function(_, _, g)
  local ds, res = data.grand(o.n, o.T, o.d, {rng = g}), {}
  for _, c in ipairs{{"W", "fro", "nuc"}, {"KQ", "nuc", "fro"}} do
    local m = model.attention{param = c[1], v = ds.v}:init{rng = g}
    local r = optim.regpath(m, ds, {radii = radii[c[1]], iters = o.iters, restarts = o.restarts, seed = o.seed})
    local alpha = model.attention{v = ds.v, W = r.W[#radii[c[1]]]}:selected(ds)
    local pred, wrong = report.optimal(svm.att(ds, alpha, {norm = c[2]})), report.optimal(svm.att(ds, alpha, {norm = c[3]}))
    res["pred_" .. c[1]], res["wrong_" .. c[1]] = report.corr_path(r.W, pred.W), report.corr_path(r.W, wrong.W)
    res["svmcos_" .. c[1]], res["global_" .. c[1]] = mat.corr(pred.W, wrong.W), report.same(alpha, ds:optimal())
  end
  return res
end)
for i, m in ipairs(report.collect(res)) do   -- per instance: the path reaches the SVM of its norm, not the other one
  for _, c in ipairs{{"W", "W(R) -> W^mm (Frobenius)"}, {"KQ", "KQ^T(R) -> W^mm_* (nuclear)"}} do
    R:converges(("G-rand #%d %s"):format(i, c[2]), m["pred_" .. c[1]], {alt = m["wrong_" .. c[1]], distinct = m["svmcos_" .. c[1]] < 0.95,
                at = "R_max", note = m["global_" .. c[1]] and ", global selection" or ", local selection"})
  end
end
local f2 = plot.figure{xlabel = "R", ylabel = "corr(W(R), SVM), G-rand", log = "x", legend = "bottom right"}
local b = report.bands(res, {"pred_W", "wrong_W", "pred_KQ", "wrong_KQ"})
report.plot_bands(f2, radii.W, b, {"pred_W", "wrong_W"}, {"W vs W^{mm}", "W vs W^{mm}_*"})
report.plot_bands(f2, radii.KQ, b, {"pred_KQ", "wrong_KQ"}, {"KQ^T vs W^{mm}_*", "KQ^T vs W^{mm}"})
for k, band in pairs(b) do out[k .. "_mean"] = band.final end
out.figure = plot.panels(o.out .. "/rp.png", {f1, f2}, {cols = 2, size = {14, 9}, also = {"pdf"}})
out.R_max, out.R_max_nuc, out.instances = o.rmax, o.rmax_nuc, #res
R:finish(out)
