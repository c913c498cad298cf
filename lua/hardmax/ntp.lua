-- hardmax.ntp — the measurements of the next-token-prediction experiments (docs/ntp.md §5):
-- the projection onto S_fin, the fitted prediction W_fin + R·W_svm, the softmax mass on the
-- label's component, and all of them along a run's W snapshots.
--
--   local g = svm.ntp(ds)                     -- graph SVM, W_fin, S_fin, components
--   local r = optim.train(m, ds, opt, {iters = 4000, every = 10, record = {"W"}})
--   local p = ntp.paths(ds, g, r.W)           -- corr_svm, corr_pred, fin_dist, mass, R
local mat = require "hardmax.mat"
local util = require "hardmax.util"

local M = {}
local fail = util.fail

-- orthogonal projection of W onto the span of the r orthonormal rows of basis (r×a×b)
local function project_onto(basis, r, W)
  local a, b = W:shape()
  if r == 0 then return mat.zeros(a, b) end
  local B = basis:reshape(r, a * b)
  return ((B * W:reshape(a * b)) * B):reshape(a, b)
end

--- Π W: the orthogonal projection of W (d×d) onto S_fin (g.S_fin: r×d×d orthonormal basis).
function M.project(g, W)
  return project_onto(g.S_fin, g.fin.dim, W)
end

--- P_F W for the soft-label NTP-SVM result s (s.F_basis: r×V×d orthonormal basis of F).
function M.project_F(s, W)
  return project_onto(s.F_basis, s.F_dim, W)
end

--- Along decoder snapshots Ws (rows×V×d): corr(W_k, W^mm), corr(W_k − P_F W_k, W^mm) (the
--- diverging part's direction) and ‖P_F W_k − W*‖_F / ‖W*‖_F (the finite part). Returns
--- {corr=, corr_perp=, star_dist=} (Lua arrays; NaN correlations at W = 0).
function M.soft_paths(s, Ws)
  if type(Ws) ~= "userdata" or Ws:ndim() ~= 3 then fail("ntp.soft_paths", "bad argument #2 (rows×V×d stack of W snapshots expected)") end
  local out = {corr = {}, corr_perp = {}, star_dist = {}}
  local ws = s.W_star:norm()
  for k = 1, (Ws:shape()) do
    local W = Ws[k]
    local PW = M.project_F(s, W)
    local perp = W - PW
    out.corr[k] = W:norm(math.huge) == 0 and 0 / 0 or mat.corr(W, s.W)
    out.corr_perp[k] = perp:norm(math.huge) == 0 and 0 / 0 or mat.corr(perp, s.W)
    out.star_dist[k] = (PW - s.W_star):norm() / (ws > 0 and ws or 1)
  end
  return out
end

--- R and the prediction W_fin + R·W_svm fitted to W (least squares in R, the official fit):
--- R = ⟨W − W_fin, W_svm⟩ / ‖W_svm‖².
function M.predict(g, W)
  if not g.W then fail("ntp.predict", "bad argument #1 (the graph SVM is %s: no W_svm)", tostring(g.status)) end
  local R = mat.dot(W - g.W_fin, g.W) / mat.dot(g.W, g.W)
  return R, g.W_fin + g.W * R
end

--- mean_i Σ_{t: x_it in the label's component of G^(x_iT)} s_it for softmax S (n×T).
function M.mass(ds, g, S)
  local n, T = ds.tokens:shape()
  local tot = 0
  for i = 1, n do
    local k = ds.tokens:get(i, T)
    local cy = g.comp:get(k, ds.labels:get(i))
    for t = 1, T do
      if g.comp:get(k, ds.tokens:get(i, t)) == cy then tot = tot + S:get(i, t) end
    end
  end
  return tot / n
end

--- Along snapshots Ws (rows×d×d, e.g. optim.train's record "W"): corr(W_t, W_svm),
--- corr(W_t, W_fin + R·W_svm) with R fitted at the last snapshot, ‖Π W_t − W_fin‖_F and the
--- label-component mass of softmax(W_t). Returns {corr_svm=, corr_pred=, fin_dist=, mass=,
--- R=} (Lua arrays, R a number).
function M.paths(ds, g, Ws)
  if type(Ws) ~= "userdata" or Ws:ndim() ~= 3 then fail("ntp.paths", "bad argument #3 (rows×d×d stack of W snapshots expected)") end
  local rows, d = Ws:shape()
  local R, P = M.predict(g, Ws[rows])
  local probe = require("hardmax.model").ntp{d = d}
  local out = {corr_svm = {}, corr_pred = {}, fin_dist = {}, mass = {}, R = R}
  for k = 1, rows do
    local W = Ws[k]
    local zero = W:norm(math.huge) == 0
    out.corr_svm[k] = zero and 0 / 0 or mat.corr(W, g.W)
    out.corr_pred[k] = zero and 0 / 0 or mat.corr(W, P)
    out.fin_dist[k] = (M.project(g, W) - g.W_fin):norm()
    probe.W = W
    out.mass[k] = M.mass(ds, g, probe:probs(ds))
  end
  return out
end

--- The selection of a trained model (the official local notebook's thresholds): positions with
--- s_it > tau are selected, those in (tau_excl, tau] excluded from the graph (too ambiguous to
--- call). Returns a copy of the dataset's E, tokens, labels with fields selected, excluded (n×T
--- 0/1 mats) for svm.ntp / svm.ntp_graph.
function M.selection(ds, S, opts)
  opts = opts or {}
  local tau, tau_excl = opts.tau or 1e-2, opts.tau_excl or 9e-3
  if not (tau_excl >= 0 and tau_excl < tau and tau < 1) then fail("ntp.selection", "thresholds must satisfy 0 <= tau_excl < tau < 1") end
  local n, T = S:shape()
  local sel, exc = mat.zeros(n, T), mat.zeros(n, T)
  for i = 1, n do
    for t = 1, T do
      local s = S:get(i, t)
      if s > tau then sel:set(i, t, 1) elseif s > tau_excl then exc:set(i, t, 1) end
    end
  end
  return {E = ds.E, tokens = ds.tokens, labels = ds.labels, selected = sel, excluded = exc}
end

--- The NTP model written with hardmax.ad (docs/ntp.md §2): f, params for ad.grad /
--- ad.objective / optim.train(f, params, ...). Logits a_it = e_{x_it}ᵀ W e_{x_iT} as
--- ad.bmv(X, Z Wᵀ) (W = K Qᵀ with param = "KQ"), loss −mean_i ad.log_mass(a_i, label mask):
--- the same function as model.ntp{loss = "nll"}, for composing variants in Lua.
function M.ad_model(ds, opts)
  opts = opts or {}
  local ad = require "hardmax.ad"
  local E, tok, lab = ds.E, ds.tokens, ds.labels
  if type(tok) == "table" then tok = mat.new(tok) end
  if type(lab) == "table" then lab = mat.new(lab) end
  if type(E) == "table" then E = mat.new(E) end
  local n, T = tok:shape()
  local _, d = E:shape()
  local X, Z, mask = mat.zeros(n, T, d), mat.zeros(n, d), mat.zeros(n, T)
  for i = 1, n do
    for t = 1, T do
      local x = tok:get(i, t)
      X[i][t] = E[x]
      if x == lab:get(i) then mask:set(i, t, 1) end
    end
    Z[i] = E[tok:get(i, T)]
  end
  local kq = opts.param == "KQ"
  if opts.param ~= nil and opts.param ~= "W" and not kq then fail("ntp.ad_model", "option 'param': \"W\" or \"KQ\" expected") end
  local m = opts.m or d
  local params = kq and {K = mat.zeros(d, m), Q = mat.zeros(d, m)} or {W = mat.zeros(d, d)}
  local function f(p)
    local W = kq and p.K * p.Q:t() or p.W
    local a = ad.bmv(X, Z * W:t())
    return -ad.mean(ad.log_mass(a, mask)), {probs = ad.softmax(a), W = W}
  end
  return f, params
end

local SIGNATURES = { project = { "t", "m" }, predict = { "t", "m" }, mass = { "t", "t", "m" }, paths = { "t", "t", "m" }, selection = { "t", "m", "t?" },
                     project_F = { "t", "m" }, soft_paths = { "t", "m" }, ad_model = { "t", "t?" } }
util.check_signatures(M, "ntp", SIGNATURES)

return M
