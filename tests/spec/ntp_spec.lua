-- Next-token prediction (docs/ntp.md): data.ntp, svm.ntp_graph, svm.ntp (graph SVM with
-- equality rows, W_fin, S_fin) against closed forms, model.ntp (exact gradients, saturated
-- regime, (K,Q)), optim.train on it, hardmax.ntp helpers, and bad input.
require "hardmax"
local mat = require "hardmax.mat"
local data = require "hardmax.data"
local svm = require "hardmax.svm"
local model = require "hardmax.model"
local optim = require "hardmax.optim"
local ntp = require "hardmax.ntp"
local H = dofile((os.getenv("HARDMAX_SRC") or ".") .. "/tests/spec/svm_helpers.lua")

-- E = I (orthonormal, d = K = 4). Last token 3 everywhere: samples A (twice), B, C.
--   A: 1 2 3 -> 1;  B: 2 1 3 -> 2;  C: 1 4 3 -> 1.
-- G^(3): 1 -> 2, 1 -> 3, 2 -> 1, 2 -> 3, 1 -> 4: SCCs {1,2}, {3}, {4}.
-- Graph SVM (only column 3 of W is constrained, w = W e_3): w1 = w2 (equality),
-- w1 - w3 >= 1, w2 - w3 >= 1, w1 - w4 >= 1  =>  w = (1/2, 1/2, -1/2, -1/2), |W|_F = 1.
-- W_fin on span{(e1 - e2) e3^T}: reduced samples A, A (label 1) and B (label 2) over {1, 2}:
-- 2 softplus(-x) + softplus(x) is minimal at e^x = 2, x = a1 - a2 = W13 - W23 = ln 2.
local function toy()
  return { E = mat.eye(4), tokens = { { 1, 2, 3 }, { 1, 2, 3 }, { 2, 1, 3 }, { 1, 4, 3 } },
           labels = { 1, 1, 2, 1 } }
end

local function certified(r, tol)
  assert.are.equal("optimal", r.status)
  assert.is_true(r.rel_gap <= (tol or 1e-9), "rel_gap " .. r.rel_gap)
  assert.is_true(r.primal_infeas <= 1e-12, "primal_infeas " .. r.primal_infeas)
  assert.is_true(r.eq_residual <= 1e-12, "eq_residual " .. r.eq_residual)
end

describe("svm.ntp_graph", function()
  it("finds the SCCs of the token-priority graph of every last token", function()
    local g = svm.ntp_graph(toy())
    local c = g.comp
    assert.are.equal(c:get(3, 1), c:get(3, 2))
    assert.are_not.equal(c:get(3, 1), c:get(3, 3))
    assert.are_not.equal(c:get(3, 1), c:get(3, 4))
    assert.are.equal(3, g.ncomp[3])
    assert.are.same({ 0, 0, 4, 0 }, g.present)
    assert.is_true(g.cyclic)
    for k = 1, 4 do -- absent last tokens: every token its own component
      if k ~= 3 then assert.are.equal(4, g.ncomp[k]) end
    end
  end)

  it("an acyclic draw has only singleton components", function()
    local ds = data.ntp { n = 6, T = 4, K = 6, d = 8, cyclic = false, seed = 2 }
    local g = svm.ntp_graph(ds)
    assert.is_false(g.cyclic)
  end)
end)

describe("selected / excluded positions (local analysis)", function()
  it("the label positions as selection reproduce the label-based graph and SVM", function()
    local ds = toy()
    ds.selected = { { 1, 0, 0 }, { 1, 0, 0 }, { 1, 0, 0 }, { 1, 0, 0 } }
    local a, b = svm.ntp(toy()), svm.ntp(ds)
    assert.is_true(a.comp == b.comp)
    assert.is_true(H.maxdiff(a.W, b.W) <= 1e-14 and H.maxdiff(a.W_fin, b.W_fin) <= 1e-14)
  end)

  it("a second selected token adds its edges; an excluded target removes them", function()
    local ds = toy()
    ds.selected = { { 1, 0, 0 }, { 1, 0, 0 }, { 1, 0, 0 }, { 1, 1, 0 } } -- sample C: 1 and 4
    local c = svm.ntp_graph(ds).comp
    assert.are.equal(c:get(3, 1), c:get(3, 4)) -- 1 -> 4 and 4 -> 1
    ds.excluded = { { 0, 0, 0 }, { 0, 0, 0 }, { 0, 0, 0 }, { 1, 0, 0 } } -- no edge into token 1 of C
    c = svm.ntp_graph(ds).comp
    assert.are_not.equal(c:get(3, 1), c:get(3, 4))
    local r = svm.ntp(ds)
    assert.are.equal("optimal", r.status)
    assert.is_true(r.eq_residual <= 1e-12)
  end)

  it("rejects malformed flags and a sample without selection", function()
    local ds = toy()
    ds.selected = { { 1, 0 } }
    assert.has_error(function() svm.ntp(ds) end, "svm.ntp: bad argument #1 (NTP dataset field 'selected': 4x3 array of 0/1 expected)")
    ds.selected = { { 2, 0, 0 }, { 1, 0, 0 }, { 1, 0, 0 }, { 1, 0, 0 } }
    assert.has_error(function() svm.ntp(ds) end, "svm.ntp: bad argument #1 (NTP dataset field 'selected': entries must be 0 or 1)")
    ds.selected = { { 0, 0, 0 }, { 1, 0, 0 }, { 1, 0, 0 }, { 1, 0, 0 } }
    assert.has_error(function() svm.ntp(ds) end, "svm.ntp: bad argument #1 (NTP dataset: sample 1 has no selected position)")
  end)

  it("ntp.selection thresholds a softmax", function()
    local ds = toy()
    local S = mat.new { { 0.5, 0.495, 0.005 }, { 0.99, 0.0095, 0.0005 }, { 1, 0, 0 }, { 0.3, 0.3, 0.4 } }
    local l = ntp.selection(ds, S)
    assert.are.same({ { 1, 1, 0 }, { 1, 0, 0 }, { 1, 0, 0 }, { 1, 1, 1 } }, l.selected:totable())
    assert.are.same({ { 0, 0, 0 }, { 0, 1, 0 }, { 0, 0, 0 }, { 0, 0, 0 } }, l.excluded:totable())
    assert.has_error(function() ntp.selection(ds, S, { tau = 0.5, tau_excl = 0.6 }) end)
  end)
end)

describe("svm.ntp", function()
  it("graph SVM with an equality row: closed form, certificate, free multiplier", function()
    for _, method in ipairs { "auto", "ipm", "activeset" } do
      local r = svm.ntp(toy(), { method = method })
      certified(r)
      H.close(r.objective, 1, 1e-12)
      local W = r.W
      local want = { 0.5, 0.5, -0.5, -0.5 }
      for i = 1, 4 do
        for j = 1, 4 do H.close(W:get(i, j), j == 3 and want[i] or 0, 1e-12, ("W[%d][%d]"):format(i, j)) end
      end
      assert.are.equal(1, r.n_eq)
      assert.are.equal(3, r.n_ineq)
      assert.are.equal(4, r.m)
      local eqs = 0
      for k = 1, r.m do if r.eq[k] then eqs = eqs + 1 end end
      assert.are.equal(1, eqs)
      assert.is_true(r.kkt.stationarity <= 1e-9)
    end
  end)

  it("W_fin: minimizer of the reduced loss on S_fin (closed form ln 2)", function()
    local r = svm.ntp(toy())
    assert.are.equal(1, r.fin.dim)
    assert.is_true(r.fin.converged)
    assert.is_true(r.fin.grad_norm <= 1e-14)
    local Wf = r.W_fin
    H.close(Wf:get(1, 3), math.log(2) / 2, 1e-14)
    H.close(Wf:get(2, 3), -math.log(2) / 2, 1e-14)
    H.close(Wf:norm(), math.log(2) / math.sqrt(2), 1e-14)
    -- the basis spans (e1 - e2) e3^T
    local B = r.S_fin[1]
    H.close(math.abs(B:get(1, 3)), 1 / math.sqrt(2), 1e-14)
    H.close(B:get(1, 3) + B:get(2, 3), 0, 1e-14)
    -- W_svm is orthogonal to S_fin (its equality rows span S_fin)
    assert.is_true(ntp.project(r, r.W):norm() <= 1e-12)
  end)

  it("only equality rows (a 2-cycle): W = 0 is optimal, W_fin = 0 by symmetry", function()
    local ds = { E = mat.eye(2), tokens = { { 1, 2 }, { 1, 2 } }, labels = { 1, 2 } }
    for _, norm in ipairs { "fro", "nuc" } do
      local r = svm.ntp(ds, { norm = norm })
      assert.are.equal("optimal", r.status)
      assert.are.equal(0, r.objective)
      assert.are.equal(1, r.n_eq)
      assert.are.equal(0, r.n_ineq)
    end
    local r = svm.ntp(ds)
    assert.are.equal(0, r.W:norm())
    assert.are.equal(1, r.fin.dim)
    assert.is_true(r.W_fin:norm() <= 1e-15 and r.fin.converged)
  end)

  it("infeasible (d = 1 embeddings): a Farkas certificate with a sign-free equality entry", function()
    -- tokens 1, 3 form an SCC (equality 4w = 0 after last token 2), yet 1 must beat 2 (-2w >= 1)
    local r = svm.ntp { E = mat.new { { 1 }, { 2 }, { 3 } }, tokens = { { 1, 3, 2 }, { 3, 1, 2 } }, labels = { 1, 3 } }
    assert.are.equal("infeasible", r.status)
    assert.is_true(r.farkas_residual <= 1e-12)
    assert.are.same({ true, false, false }, r.eq)
    -- rows a z: (1 - 3) 2 = -4 (equality), (1 - 2) 2 = -2, (3 - 2) 2 = 2 (b = 0, 1, 1)
    local f = r.farkas
    H.close(-4 * f[1] - 2 * f[2] + 2 * f[3], 0, 1e-14)
    H.close(f[2] + f[3], 1, 1e-14)
    assert.is_true(f[2] >= 0 and f[3] >= 0)
    assert.is_nil(r.W)
  end)

  it("nuclear norm: same W here (only one column is constrained)", function()
    local r = svm.ntp(toy(), { norm = "nuc" })
    assert.are.equal("optimal", r.status)
    assert.is_true(r.rel_gap <= 1e-6)
    H.close(r.objective, 1, 1e-6)
    assert.is_true(r.eq_residual <= 1e-9)
    assert.is_true(H.maxdiff(r.W, svm.ntp(toy()).W) <= 1e-3)
  end)

  it("random instances: certified, equalities exact, W_fin stationary", function()
    for seed = 1, 8 do
      local ds = data.ntp { n = 6, T = 4, K = 6, d = 8, seed = seed }
      local r = svm.ntp(ds)
      certified(r)
      assert.is_true(r.n_eq >= 1)
      assert.is_true(r.fin.dim >= 1 and r.fin.converged)
      assert.is_true(r.fin.grad_norm <= 1e-12, "fin grad " .. r.fin.grad_norm)
      -- W_fin lies in S_fin
      assert.is_true((ntp.project(r, r.W_fin) - r.W_fin):norm() <= 1e-12 * math.max(1, r.W_fin:norm()))
      -- the equality rows are the within-component pairs: W_svm ⟂ S_fin
      assert.is_true(ntp.project(r, r.W):norm() <= 1e-10 * r.W:norm())
    end
  end)

  it("K > d (dependent embeddings) still gives an orthonormal S_fin basis", function()
    local ds = data.ntp { n = 20, T = 5, K = 12, d = 4, seed = 5 }
    local r = svm.ntp(ds)
    local dd = r.fin.dim
    assert.is_true(dd >= 1 and dd <= 16)
    local B = r.S_fin:reshape(dd, 16)
    assert.is_true(H.maxdiff(B * B:t(), mat.eye(dd)) <= 1e-12)
    assert.is_true(r.fin.converged and r.fin.grad_norm <= 1e-12)
  end)

  it("rejects bad input with named errors", function()
    local ds = toy()
    ds.labels = { 1, 1, 2, 2 } -- label 2 absent from sequence 4
    assert.has_error(function() svm.ntp(ds) end, "svm.ntp: bad argument #1 (NTP dataset: the label of sample 4 does not occur in its sequence)")
    ds = toy()
    ds.tokens[2][1] = 7
    assert.has_error(function() svm.ntp(ds) end, "svm.ntp: bad argument #1 (NTP dataset: token 1 of sequence 2 must be an integer in 1..4)")
    ds = toy()
    ds.labels = { 1, 1 }
    assert.has_error(function() svm.ntp(ds) end, "svm.ntp: bad argument #1 (NTP dataset: 2 labels for 4 sequences)")
    assert.has_error(function() svm.ntp(toy(), { bogus = 1 }) end)
    assert.has_error(function() svm.ntp(42) end)
    ds = toy()
    ds.E = mat.eye(4)
    ds.E:set(1, 1, 0 / 0)
    assert.has_error(function() svm.ntp(ds) end, "svm.ntp: bad argument #1 (NTP dataset: embedding E contains NaN or Inf)")
  end)
end)

describe("data.ntp", function()
  it("draws distinct tokens, a present label, and the requested embedding", function()
    for _, emb in ipairs { "random", "orthonormal", "equicorrelated" } do
      local K = emb == "equicorrelated" and 5 or 6
      local ds = data.ntp { n = 30, T = 4, K = K, d = 8, embedding = emb, rho = 0.3, seed = 4 }
      local n, T = ds.tokens:shape()
      assert.are.equal(30, n)
      assert.are.equal(4, T)
      local G = ds.E * ds.E:t()
      for u = 1, K do
        H.close(G:get(u, u), 1, 1e-14)
        for v = 1, K do
          if u ~= v and emb == "orthonormal" then H.close(G:get(u, v), 0, 1e-14) end
          if u ~= v and emb == "equicorrelated" then H.close(G:get(u, v), 0.3, 1e-14) end
        end
      end
      for i = 1, n do
        local seen, has = {}, false
        for t = 1, T do
          local x = ds.tokens:get(i, t)
          assert.is_nil(seen[x])
          seen[x] = true
          if x == ds.labels:get(i) then has = true end
          assert.is_true(H.maxdiff(ds.X[i][t], ds.E[x]) == 0)
        end
        assert.is_true(has)
      end
      assert.is_true(svm.ntp_graph(ds).cyclic) -- the default: the official generator's cyclic draw
    end
  end)

  it("is reproducible from a seed and checks its options", function()
    local a, b = data.ntp { seed = 9 }, data.ntp { seed = 9 }
    assert.is_true(a.E == b.E and a.tokens == b.tokens and a.labels == b.labels)
    assert.has_error(function() data.ntp { T = 7, K = 6 } end)
    assert.has_error(function() data.ntp { embedding = "orthonormal", K = 9, d = 8 } end)
    assert.has_error(function() data.ntp { embedding = "equicorrelated", K = 8, d = 8 } end)
    assert.has_error(function() data.ntp { embedding = "sphere" } end)
    assert.has_error(function() data.ntp { cyclic = 1 } end)
    assert.has_error(function() data.ntp { foo = 1 } end)
    assert.has_error(function() data.ntp { seed = 1, rng = require("hardmax.rng").new(1) } end)
  end)
end)

describe("model.ntp", function()
  it("loss is the exact log-domain NLL; gradients match central differences", function()
    local ds = data.ntp { n = 6, T = 4, K = 6, d = 8, seed = 3 }
    for _, par in ipairs { "W", "KQ" } do
      local m = model.ntp { d = 8, param = par, init = "uniform", seed = 11 }
      assert.is_true(m:gradcheck(ds, { h = 1e-6 }) <= 1e-6)
    end
    local m = model.ntp { d = 8 } -- W = 0: uniform attention over T = 4 distinct tokens
    H.close(m:loss(ds), math.log(4), 1e-15)
    local S = m:probs(ds)
    assert.is_true(H.maxdiff(S, mat.full(0.25, 6, 4)) <= 1e-16)
  end)

  it("lsq2: the official notebooks' squared loss of the embedding classifier", function()
    local ds = data.ntp { n = 6, T = 4, K = 6, d = 8, seed = 3 }
    for _, par in ipairs { "W", "KQ" } do
      local m = model.ntp { d = 8, param = par, loss = "lsq2", init = "uniform", seed = 12 }
      assert.are.equal("lsq2", m.loss_kind)
      assert.is_true(m:gradcheck(ds, { h = 1e-6 }) <= 1e-6)
    end
    -- W = 0, E = I: s = (1/2, 1/2), out = (1/2, 1/2), p = (1/2, 1/2), loss (1 - 1/2)^2
    local m = model.ntp { d = 2, loss = "lsq2" }
    H.close(m:loss { E = mat.eye(2), tokens = { { 1, 2 } }, labels = { 1 } }, 0.25, 1e-15)
    assert.has_error(function() model.ntp { d = 2, loss = "mse" } end)
  end)

  it("stays exact when saturated (logit gaps 60 and 700: no 1 - s, no log(p + eps))", function()
    local ds = { E = mat.eye(2), tokens = { { 1, 2 } }, labels = { 1 } }
    for _, gap in ipairs { 60, 700 } do
      local m = model.ntp { d = 2, W = { { 0, gap }, { 0, 0 } } }
      local L, G = m:grad(ds)
      -- L = log1p(e^-gap) = e^-gap (1 - e^-gap/2 ...) and s_2 = e^-gap / (1 + e^-gap): both
      -- e^-gap to within a relative 1e-26; checked relative to their size (about 1e-26 / 1e-304)
      local e = math.exp(-gap)
      local function rel(a, b) return math.abs(a - b) <= 4e-16 * math.abs(b) end
      assert.is_true(e > 0 and rel(L, e), ("L = %.17g, expected %.17g"):format(L, e))
      assert.is_true(rel(G:get(1, 2), -e), ("dW12 = %.17g"):format(G:get(1, 2)))
      assert.is_true(rel(G:get(2, 2), e), ("dW22 = %.17g"):format(G:get(2, 2)))
    end
  end)

  it("(K, Q): W is K Q^T and assignments are checked", function()
    local m = model.ntp { d = 3, param = "KQ", m = 2, seed = 1 }
    assert.is_true(H.maxdiff(m.W, m.K * m.Q:t()) <= 1e-15)
    assert.is_true(H.maxdiff(m:effective_w(), m.K * m.Q:t()) <= 1e-15)
    local L, G = m:grad { E = mat.eye(3), tokens = { { 1, 2, 3 } }, labels = { 2 } }
    assert.is_true(L > 0 and G.K:shape() == 3 and select(2, G.Q:shape()) == 2)
    assert.are.equal("KQ", m.param)
    assert.has_error(function() m.K = mat.zeros(3, 3) end)
    assert.has_error(function() m.W = mat.zeros(3, 3) end)
    assert.has_error(function() model.ntp { d = 3, param = "KQ", init = "zero" } end)
    assert.has_error(function() model.ntp { d = 3, W = mat.zeros(2, 2) } end)
    assert.has_error(function() model.ntp { d = 3, param = "X" } end)
    assert.has_error(function() model.ntp {} end)
    local w = model.ntp { d = 4 }
    assert.has_error(function() w:loss(42) end, "ntp:loss: bad argument #2 (NTP dataset table {E=, tokens=, labels=} expected, got number)")
    assert.has_error(function() ntp.paths(toy(), svm.ntp(toy()), 42) end)
    assert.has_error(function() ntp.project(svm.ntp(toy()), "W") end)
  end)

  it("rejects a dataset of another dimension and non-finite parameters", function()
    local m = model.ntp { d = 3 }
    assert.has_error(function() m:loss(toy()) end, "ntp:loss: bad argument #2 (NTP dataset has d = 4, the model d = 3)")
    local m4 = model.ntp { d = 4 }
    assert.has_error(function() m4.W = mat.full(0 / 0, 4, 4) end)
  end)

  it("trains with optim.train: NGD directions approach the graph SVM", function()
    local ds = data.ntp { n = 6, T = 4, K = 6, d = 8, seed = 1 }
    local g = svm.ntp(ds)
    local m = model.ntp { d = 8 }
    local r = optim.train(m, ds, optim.ngd { lr = 0.05, eps = 2.22e-16 },
      { iters = 1500, every = 500, record = { "loss", "corr", "W" }, targets = { W = g.W } })
    assert.are.equal("ok", r.status)
    assert.is_true(r.loss[#r.loss] < r.loss[1])
    assert.is_true(r.corr[#r.corr] >= 0.95, "corr " .. r.corr[#r.corr])
    local p = ntp.paths(ds, g, r.W)
    assert.is_true(p.mass[#p.mass] >= 0.99)
    assert.is_true(p.R > 0)
    local R, P = ntp.predict(g, m.W)
    H.close(R, p.R, 1e-12)
    assert.is_true(H.maxdiff(P, g.W_fin + g.W * R) <= 1e-12)
    H.close(ntp.mass(ds, g, m:probs(ds)), p.mass[#p.mass], 1e-12)
    assert.has_error(function()
      optim.train(m, ds, optim.ngd { lr = 0.05, eps = 2.22e-16, rescaled = true }, { iters = 1 })
    end, "optim.train: rescaled = true is not available for the NTP models (exact gradients only)")
  end)
end)

-- One context, d = 1, h = 1, V = 3, p = (2/3, 1/3, 0):
--   W^mm: w1 = w2 (equality), w1 - w3 >= 1, w2 - w3 >= 1  =>  w = (1/3, 1/3, -2/3), |W| = sqrt(2/3)
--   W*:   w2 - w1 = log(1/2), least norm  =>  (log 2 / 2, -log 2 / 2, 0)
local function soft_toy()
  return { H = { { 1 } }, P = { { 2 / 3, 1 / 3, 0 } }, pi = { 1 } }
end

describe("svm.ntp_soft / model.ntp_soft (soft labels, linear model)", function()
  it("NTP-SVM and W*: closed forms, certificate, the basis of F", function()
    for _, method in ipairs { "auto", "ipm", "activeset" } do
      local s = svm.ntp_soft(soft_toy(), { method = method })
      assert.are.equal("optimal", s.status)
      assert.is_true(s.rel_gap <= 1e-9 and s.eq_residual <= 1e-15)
      H.vclose(s.W, { 1 / 3, 1 / 3, -2 / 3 }, 1e-12, "W^mm")
      H.close(s.objective, math.sqrt(2 / 3), 1e-12)
      assert.are.equal(1, s.n_eq)
      assert.are.equal(2, s.n_ineq)
    end
    local s = svm.ntp_soft(soft_toy())
    H.vclose(s.W_star, { math.log(2) / 2, -math.log(2) / 2, 0 }, 1e-15, "W*")
    assert.is_true(s.star_residual <= 1e-15)
    assert.are.equal(1, s.F_dim)
    H.close(math.abs(s.F_basis[1]:get(1, 1)), 1 / math.sqrt(2), 1e-15)
    assert.is_true(ntp.project_F(s, s.W):norm() <= 1e-15) -- W^mm is orthogonal to F
    H.close(s.entropy, -(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3)), 1e-15)
  end)

  it("model: CE at 0 is log V; exact gradient; W* attains the entropy on the support", function()
    local m = model.ntp_soft { V = 3, d = 1 }
    H.close(m:loss(soft_toy()), math.log(3), 1e-15)
    local L0, G0 = m:grad(soft_toy()) -- pi (softmax - p) h^T = (1/3 - 2/3, 1/3 - 1/3, 1/3)
    H.close(L0, math.log(3), 1e-15)
    H.vclose(G0, { -1 / 3, 0, 1 / 3 }, 1e-15, "G")
    local ds = data.ntp_soft { n = 500, m = 5, d = 7, V = 6, support = 3, seed = 2 }
    local mm = model.ntp_soft { V = 6, d = 7, W = mat.randn(require("hardmax.rng").new(1), 6, 7) }
    assert.is_true(mm:gradcheck(ds) <= 1e-6)
    -- W* + 40 W^mm: in-support logit differences are the log-odds, off-support margins >= 40,
    -- so CE - H = sum_j pi_j (-log(1 - off-support mass)) <= V e^-40 ~ 3e-17, plus the
    -- evaluation's rounding (a few eps * H)
    local s = svm.ntp_soft(ds)
    mm.W = s.W_star + s.W * 40
    assert.is_true(math.abs(mm:loss(ds) - ds.entropy) <= 1e-14)
  end)

  it("trains with optim.train (records the V x d decoder) and checks its data", function()
    local ds = data.ntp_soft { n = 500, m = 5, d = 7, V = 6, support = 3, seed = 2 }
    local m = model.ntp_soft { V = 6, d = 7 }
    local r = optim.train(m, ds, optim.gd { lr = 0.5 }, { iters = 200, every = 100, record = { "loss", "W" } })
    assert.are.same({ 3, 6, 7 }, { r.W:shape() })
    assert.is_true(r.loss[3] < r.loss[1])
    local p = ntp.soft_paths(svm.ntp_soft(ds), r.W)
    assert.is_true(p.star_dist[3] < p.star_dist[1] and p.corr[3] > 0)
    local bad = soft_toy()
    bad.P = { { 0.5, 0.4, 0 } }
    assert.has_error(function() svm.ntp_soft(bad) end)
    bad = soft_toy()
    bad.pi = { 1, 0 }
    assert.has_error(function() svm.ntp_soft(bad) end, "svm.ntp_soft: bad argument #1 (soft NTP dataset: H has 1 rows, P 1, pi 2 (one per context))")
    assert.has_error(function() m:loss(soft_toy()) end)
    assert.has_error(function() model.ntp_soft { V = 3 } end)
    assert.has_error(function() data.ntp_soft { support = 11, V = 10 } end)
  end)
end)

describe("NTP models in training callbacks", function()
  it("a method on another dataset inside a callback leaves the run unchanged", function()
    local ds1, ds2 = data.ntp { seed = 1 }, data.ntp { seed = 2 }
    local s1, s2 = data.ntp_soft { n = 200, m = 4, d = 5, V = 4, support = 2, seed = 1 },
                   data.ntp_soft { n = 200, m = 7, d = 5, V = 4, support = 3, seed = 2 }
    local cases = {
      { function() return model.ntp { d = 8, init = "uniform", seed = 3 } end, ds1, ds2 },
      { function() return model.ntp { d = 8, param = "KQ", seed = 3 } end, ds1, ds2 },
      { function() return model.ntp_soft { V = 4, d = 5 } end, s1, s2 },
    }
    for _, c in ipairs(cases) do
      local make, a, b = c[1], c[2], c[3]
      local m1, m2 = make(), make()
      local opts = { iters = 60, every = 10, record = { "loss" } }
      local r1 = optim.train(m1, a, optim.ngd { lr = 0.1, eps = 0 }, opts)
      opts.callback = function(_, m)
        m:loss(b); m:grad(b); m:gradcheck(b)
        if m.probs then m:probs(b) end
      end
      local r2 = optim.train(m2, a, optim.ngd { lr = 0.1, eps = 0 }, opts)
      assert.are.same(r1.loss:totable(), r2.loss:totable())
      assert.is_true(m1.W == m2.W)
    end
  end)
end)

describe("ntp.ad_model (the NTP model written with hardmax.ad)", function()
  local ad = require "hardmax.ad"
  -- max_it |a_it|: both implementations round the logits (relative eps each), and a loss or
  -- gradient of size e^-a moves by a relative a * eps under a relative eps change of a; the
  -- bound 16 eps (1 + max |a|) covers that first-order term with room for the sums
  local function max_logit(ds, W)
    local n, T = ds.tokens:shape()
    local m = 0
    for i = 1, n do
      local z = ds.E[ds.tokens:get(i, T)]
      local u = W * z
      for t = 1, T do m = math.max(m, math.abs(mat.dot(ds.E[ds.tokens:get(i, t)], u))) end
    end
    return m
  end
  local eps = 2.220446049250313e-16
  local function rel(x, y) return math.abs(x - y) / math.abs(y) end

  it("matches model.ntp's loss and gradient (W and (K,Q)), from init to logit gaps of 300", function()
    local cyc, acyc = data.ntp { seed = 4 }, data.ntp { seed = 4, cyclic = false }
    local g = svm.ntp(acyc)
    local cases = {}
    for _, par in ipairs { "W", "KQ" } do
      for _, scale in ipairs { 1, 40 } do cases[#cases + 1] = { cyc, par, scale } end
    end
    for _, scale in ipairs { 60, 300 } do cases[#cases + 1] = { acyc, "W", scale, g.W } end
    for _, c in ipairs(cases) do
      local ds, par, scale, Wsvm = table.unpack(c)
      local m0 = model.ntp { d = 8, param = par, init = "uniform", seed = 5 }
      local f, params = ntp.ad_model(ds, { param = par })
      if Wsvm then params.W:copy_(Wsvm * scale) -- every label wins by >= scale: loss ~ e^-scale
      elseif par == "W" then params.W:copy_(m0.W * scale)
      else params.K:copy_(m0.K * math.sqrt(scale)); params.Q:copy_(m0.Q * math.sqrt(scale)) end
      local m = par == "W" and model.ntp { d = 8, W = params.W }
                or model.ntp { d = 8, param = "KQ", K = params.K, Q = params.Q }
      local L1, g1 = ad.grad(f, params)
      local L2, g2 = m:grad(ds)
      local tol = 16 * eps * (1 + max_logit(ds, m.W))
      assert.is_true(L2 > 0 and rel(L1, L2) <= tol, ("loss %.3g vs %.3g"):format(L1, L2))
      for _, k in ipairs(par == "W" and { "W" } or { "K", "Q" }) do
        local gb = par == "W" and g2 or g2[k]
        assert.is_true(gb:norm() > 0 and (g1[k] - gb):norm() <= tol * gb:norm(), k .. " gradient, scale " .. scale)
      end
    end
  end)

  it("trains with optim.train like model.ntp", function()
    local ds = data.ntp { seed = 6 }
    local f, params = ntp.ad_model(ds)
    local m = model.ntp { d = 8 }
    local ra = optim.train(f, params, optim.ngd { lr = 0.01, eps = 2.22e-16 }, { iters = 200, every = 100, record = { "loss" } })
    local rb = optim.train(m, ds, optim.ngd { lr = 0.01, eps = 2.22e-16 }, { iters = 200, every = 100, record = { "loss" } })
    for k = 1, 3 do H.close(ra.loss[k], rb.loss[k], 1e-10) end
    assert.is_true((params.W - m.W):norm() <= 1e-10 * m.W:norm())
    assert.has_error(function() ntp.ad_model(ds, { param = "X" }) end)
  end)
end)
