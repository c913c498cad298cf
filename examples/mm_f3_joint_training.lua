-- MM-F3a/b/c: joint normalized GD on the head v and the prompt p. v -> v^mm (hard-margin SVM
-- on the selected tokens); p -> p^mm when every sample is a support vector of v (tight, a)
-- and -> the relaxed SVM p^relax otherwise (non-tight, b); (c) softmax and logistic
-- probabilities, with the early dip (theory.md §E.1, §B.4, §D.1 "joint").
-- Differs from the official notebook on purpose: exact QPs for v^mm (sklearn LinearSVC with
-- C = 1e9 there) and for p^relax (relax = non-support samples), float64, stable gradients.
local report = require "hardmax.report"
local o = exp.args(arg, {iters = 1000, show = 200, lr = 0.1, eps_p = 1e-19, eps_v = 1e-9, out = "out/mm_f3"})
local R, figs, out = report.new("MM-F3"), {}, {}
local exact = {tight = {v = {0, 1}, S = 3, mm = {4 / 3, 1 / 3}, relax = {4 / 3, 1 / 3}},
               nontight = {v = {0, 1}, S = 2, mm = {1.25, 0.25}, relax = {1, 0}}}

for _, case in ipairs{"tight", "nontight"} do
  local ds, info = data.example("mm_f3_" .. case)
  local alpha = {2, 2, 2}                                     -- the relevant token in every sample
  local vs = svm.head(ds, alpha)
  local relax = report.complement(ds.n, vs.support)           -- samples that are not support vectors
  local pmm, prel = svm.prompt(ds, alpha, {W = info.W}), svm.prompt(ds, alpha, {W = info.W, relax = relax})
  local e = exact[case]
  local dev = math.max((vs.v - mat.new(e.v)):norm(math.huge), (pmm.p - mat.new(e.mm)):norm(math.huge), (prel.p - mat.new(e.relax)):norm(math.huge))
  R:check(case .. ": solvers return the exact v^mm, p^mm, p^relax and S (theory.md C.1, C.6)", dev <= 1e-8 and #vs.support == e.S,
          ("max dev %.1e, S = {%s}"):format(dev, table.concat(vs.support, ",")))
  local m = model.attention{param = "p", W = info.W, p = info.p0, v = info.v0, train = {"p", "v"}}
  local logit, Y = {}, ds.Y                                 -- logistic prob mean_i sigma(Y_i f_i) per step
  local r = optim.train(m, ds, optim.ngd{lr = o.lr, eps = {p = o.eps_p, v = o.eps_v}}, {iters = o.iters,
    record = {"p", "v", "softmax_at"}, indices = alpha,
    callback = function(k, mm) logit[k + 1] = Y:mul(mm:forward(ds)):sigmoid():mean() end})
  local cp, cpm, cv = mat.corr(m.p, prel.p), mat.corr(m.p, pmm.p), mat.corr(m.v, vs.v)
  if case == "tight" then
    R:check("tight: cos(p, (4,1)) >= 0.999 and cos(v, (0,1)) >= 0.999", cpm >= 0.999 and cv >= 0.999, ("%.5f, %.5f"):format(cpm, cv))
    R:check("tight: softmax prob dips (it 8 < it 0)", r.softmax_at[9] < r.softmax_at[1], ("%.3f -> %.3f"):format(r.softmax_at[1], r.softmax_at[9]))
  else
    R:check("non-tight: cos(p, p^relax=(1,0)) >= 0.998 and > cos(p, p^mm=(5,1))", cp >= 0.998 and cp > cpm, ("%.5f vs %.5f"):format(cp, cpm))
  end
  R:check(case .. ": softmax and logistic probabilities >= 0.99 by it 100", r.softmax_at[101] >= 0.99 and logit[101] >= 0.99,
          ("%.4f, %.4f"):format(r.softmax_at[101], logit[101]))
  out["cos_p_relax_" .. case], out["cos_p_mm_" .. case], out["cos_v_" .. case] = cp, cpm, cv
  local f = plot.figure{title = case, xlabel = "coordinate 1", ylabel = "coordinate 2", legend = "bottom right"}
  f:trajectory(report.xy(r.p, o.show + 1), {color = "red", arrow_every = 10, label = "p"})
  f:trajectory(report.xy(r.v, o.show + 1), {color = "blue", arrow_every = 10, label = "v"})
  f:ray(vs.v[1], vs.v[2], {color = "blue", label = "v^{mm}"})
  f:ray(prel.p[1], prel.p[2], {color = "red", label = case == "tight" and "p^{mm} = p^{relax}" or "p^{relax}"})
  if case == "nontight" then f:ray(pmm.p[1], pmm.p[2], {color = "gray", label = "p^{mm}"}) end
  figs[#figs + 1] = f
  if case == "tight" then
    figs[3] = plot.figure{title = "tight", xlabel = "iteration", ylabel = "probability", legend = "bottom right", xrange = {0, o.show}}
    figs[3]:line(r.steps, r.softmax_at, {label = "softmax mean_i s_{i,2}"})
    figs[3]:line(r.steps, logit, {label = "logistic mean_i σ(Y_i f_i)"})
  end
end
plot.panels(o.out .. "/mm_f3.png", figs, {cols = 3, also = {"pdf"}})
out.figure = o.out .. "/mm_f3.png"
R:finish(out)
