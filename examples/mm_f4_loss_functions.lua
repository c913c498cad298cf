-- MM-F4: the limit direction p^mm = (1,0,0) does not depend on the loss, the path does: with
-- l(x) = -x the paths run parallel to the p_1 axis at a height growing with the optimal score
-- C; with the logistic loss they bend downwards, more for larger C (theory.md §E.1, §D.1).
-- Differs from the official notebook on purpose: float64, stable gradients, certified QP.
local report = require "hardmax.report"
local o = exp.args(arg, {iters = 1000, show = 200, lr = 0.1, eps = 1e-9, cmax = 10, out = "out/mm_f4"})
local Cs = {}
for C = 1, o.cmax do Cs[#Cs + 1] = C end
Cs[#Cs + 1] = 100
local R, figs, out = report.new("MM-F4"), {}, {}
local e1, diag = mat.new{1, 0, 0}, mat.new{1, -1, 0}

local p2_200, pmm_dev = {}, 0
for _, loss in ipairs{"correlation", "logistic"} do
  local f = plot.figure{title = loss == "logistic" and "logistic loss" or "ℓ(x) = −x", xlabel = "p_1", ylabel = "p_2", legend = "outside right"}
  out[loss] = {cos = {}, p2_200 = {}}
  for j, C in ipairs(Cs) do
    local ds, info = data.example("mm_f4", {C = C})
    pmm_dev = math.max(pmm_dev, (svm.prompt(ds, ds:optimal(), {W = info.W}).p - e1):norm(math.huge))
    local m = model.attention{param = "p", W = info.W, v = ds.v, loss = loss}
    local r = optim.train(m, ds, optim.ngd{lr = o.lr, eps = o.eps}, {iters = o.iters, record = {"p"}})
    local p200, cos = r.p[o.show + 1], mat.corr(m.p, e1)
    out[loss].cos[j], out[loss].p2_200[j] = cos, p200[2]
    if loss == "correlation" then
      local drift = math.abs(m.p[2] - p200[2])
      R:check(("-x, C = %g: cos(p, (1,0,0)) >= 0.995, p_2 constant from it 200"):format(C), cos >= 0.995 and drift <= 1e-3,
              ("cos %.4f, p_2 %.4f -> %.4f"):format(cos, p200[2], m.p[2]))
    else
      if C <= 5 then R:check(("logistic, C = %g: cos(p, (1,0,0)) >= 0.99"):format(C), cos >= 0.99, ("%.4f"):format(cos)) end
      if C == 100 then R:check("logistic, C = 100: cos(p_200, (1,-1,0)) >= 0.99", mat.corr(p200, diag) >= 0.99, ("%.4f"):format(mat.corr(p200, diag))) end
      p2_200[j] = p200[2]
    end
    local shade = math.floor(200 * (1 - (j - 1) / (#Cs - 1)))
    f:trajectory(report.xy(r.p, o.show + 1), {color = ("#%02x%02xff"):format(shade, shade), dash = C == 100 and "dashed" or "solid",
                                               label = "C = " .. C, start_marker = false})
  end
  figs[#figs + 1] = f
end
R:check("svm.prompt returns p^mm = (1,0,0) for every C", pmm_dev <= 1e-8, ("max dev %.1e"):format(pmm_dev))
local dec = math.abs(p2_200[1]) <= 1e-12
for j = 2, #Cs do dec = dec and p2_200[j] < p2_200[j - 1] end
R:check("logistic: p_2(200) = 0 for C = 1, strictly decreasing in C", dec,
        ("p_2(200): C=1 %.1e, C=2 %.3f, C=10 %.3f, C=100 %.3f"):format(p2_200[1], p2_200[2], p2_200[#Cs - 1], p2_200[#Cs]))
plot.panels(o.out .. "/mm_f4.png", figs, {cols = 2, also = {"pdf"}})
R:finish{figure = o.out .. "/mm_f4.png", C = Cs, cos_corr = out.correlation.cos, cos_logistic = out.logistic.cos,
         p2_200_corr = out.correlation.p2_200, p2_200_logistic = out.logistic.p2_200}
