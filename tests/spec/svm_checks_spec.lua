-- svm: theory checks (theory.md B.2, B.7, C.2, D.0) and the rank helper.
require "hardmax"
local svm = require "hardmax.svm"
local H = dofile((os.getenv("HARDMAX_SRC") or ".") .. "/tests/spec/svm_helpers.lua")

-- MM-F1 keys (first two coordinates; the third is the score coordinate)
local keys = { { { -0.1, 1 }, { 1, 0 }, { 0, 0 } } }
local F1a = { { 1, 0.9, 0.9 } }
local F1b = { { 1, 0.9, 0 } }
local Z = { { 1, 0 } }

describe("svm.rank", function()
  it("counts singular values above rtol * s_1 and reports the gap at the cut", function()
    local r, gap, s = svm.rank({ { 1, 0, 0 }, { 0, 1e-8, 0 }, { 0, 0, 0 } })
    assert.are.equal(1, r)
    H.close(gap, 1e-8, 1e-12)
    H.vclose(s, { 1, 1e-8, 0 }, 1e-14, "s")
    r = svm.rank({ { 1, 0, 0 }, { 0, 1e-8, 0 }, { 0, 0, 0 } }, { rtol = 1e-10 })
    assert.are.equal(2, r)
    assert.are.equal(0, (svm.rank({ { 0, 0 }, { 0, 0 } })))
    r, gap = svm.rank({ { 1, 2 }, { 3, 4 } })
    assert.are.equal(2, r)
    assert.are.equal(0, gap)
    assert.has_error(function() svm.rank({ 1, 2 }) end, "svm.rank: bad argument #1 (matrix expected, got shape 2)")
  end)
end)

describe("svm.grad_alignment", function()
  it("is the Frobenius cosine <G, Wmm>/(|G||Wmm|)", function()
    H.close(svm.grad_alignment({ { 1, 0 }, { 0, 1 } }, { { 1, 0 }, { 0, 0 } }), 1 / math.sqrt(2), 1e-15)
    H.close(svm.grad_alignment({ { -2, 0 }, { 0, 0 } }, { { 3, 0 }, { 0, 0 } }), -1, 1e-15)
    assert.has_error(function() svm.grad_alignment({ { 0, 0 } }, { { 1, 0 } }) end,
      "svm.grad_alignment: zero gradient: the alignment is undefined")
    assert.has_error(function() svm.grad_alignment({ { 1, 0 } }, { { 1, 0, 0 } }) end,
      "svm.grad_alignment: bad argument #2 (shape 1x2 expected (as G), got 1x3)")
  end)
end)

describe("svm.locally_optimal (B.2)", function()
  it("MM-F1b: token 2 is locally optimal (its only support token 3 scores lower)", function()
    local ok, info = svm.locally_optimal(keys, { 2 }, F1b, { Z = Z })
    assert.is_true(ok)
    assert.is_true(info.feasible)
    assert.are.same({ { 3 } }, info.support)
    assert.are.same({}, info.violations)
  end)

  it("MM-F1a: token 2 is not locally optimal (equal score 0.9 against token 3)", function()
    local ok, info = svm.locally_optimal(keys, { 2 }, F1a, { Z = Z })
    assert.is_false(ok)
    assert.are.same({ { sample = 1, token = 3 } }, info.violations)
    ok = svm.locally_optimal(keys, { 1 }, F1a, { Z = Z })
    assert.is_true(ok)
  end)

  it("accepts a head v with labels, and a given Wmm", function()
    local ds = { X = { { { -0.1, 1, 1 }, { 1, 0, 0.9 }, { 0, 0, 0 } } }, Y = { 1 }, Z = { { 1, 0, 0 } } }
    local r = svm.att(ds, { 2 })
    -- the third coordinate now enters the SVM too; the check must agree with the support
    local ok, info = svm.locally_optimal(ds, { 2 }, { 0, 0, 1 }, { Wmm = r.W })
    assert.are.same(r.support, info.support)
    local expect = true
    for _, t in ipairs(r.support[1]) do
      if ({ 1, 0.9, 0 })[t] >= 0.9 then expect = false end
    end
    assert.are.equal(expect, ok)
  end)

  it("an infeasible selection is not locally optimal", function()
    local ok, info = svm.locally_optimal({ { { 1, 0 }, { 1, 0 } } }, { 1 }, { { 1, 0 } }, { Z = Z })
    assert.is_false(ok)
    assert.is_false(info.feasible)
  end)
end)

describe("svm.classify (B.7)", function()
  it("global / local / not_local", function()
    local g = svm.att(keys, { 1 }, { Z = Z })
    local l = svm.att(keys, { 2 }, { Z = Z })
    local Wg, Wl = H.vals(g.W), H.vals(l.W)
    local function scaled(v, c) return { { c * v[1], c * v[2] }, { c * v[3], c * v[4] } } end
    local cls, info = svm.classify(keys, scaled(Wg, 30), F1b, { Z = Z })
    assert.are.equal("global", cls)
    assert.are.same({ 1 }, info.alpha)
    H.close(info.corr, 1, 1e-12)
    cls, info = svm.classify(keys, scaled(Wl, 30), F1b, { Z = Z })
    assert.are.equal("local", cls)
    assert.are.same({ 2 }, info.alpha)
    cls = svm.classify(keys, scaled(Wl, 30), F1a, { Z = Z })
    assert.are.equal("not_local", cls)
    -- right selection but not aligned with the SVM direction
    cls, info = svm.classify(keys, { { 0.6, 0 }, { 1, 0 } }, F1b, { Z = Z })
    assert.are.same({ 1 }, info.alpha)
    assert.is_true(info.corr < 0.95)
    assert.are.equal("not_local", cls)
  end)
end)

describe("svm.feasible", function()
  it("returns a certificate for infeasible selections", function()
    local ok, cert = svm.feasible({ { { 1 }, { 0 } }, { { 0 }, { 1 } } }, { 1, 1 }, { Z = { { 1 }, { 1 } } })
    assert.is_false(ok)
    assert.are.equal("infeasible", cert.status)
    H.vclose(cert.farkas, { 0.5, 0.5 }, 1e-12, "farkas")
    ok, cert = svm.feasible(H.instance(2, 4, 5, 6), { 1, 2, 3, 4 })
    assert.is_true(ok)
    assert.are.equal("optimal", cert.status)
  end)
end)

describe("svm.no_stationary_check (D.0.2)", function()
  it("holds for generic data with d >= max(n, T-1) and fails below", function()
    local ok, info = svm.no_stationary_check(H.instance(1, 4, 5, 6))
    assert.is_true(ok)
    assert.are.equal(4, info.rank_Z)
    assert.are.same({ 4, 4, 4, 4 }, info.token_ranks)
    ok, info = svm.no_stationary_check(H.instance(1, 7, 3, 5))
    assert.is_false(ok)
    assert.are.equal(5, info.rank_Z)
    ok, info = svm.no_stationary_check(H.instance(1, 2, 8, 5))
    assert.is_false(ok)
    assert.are.equal(5, info.min_token_rank)
  end)
end)

describe("svm.equal_scores (D.0.1)", function()
  it("MM-F1a has equal non-optimal scores, MM-F1b does not", function()
    local X = { { { -0.1, 1, 1 }, { 1, 0, 0.9 }, { 0, 0, 0.9 } } }
    local ok, info = svm.equal_scores(X, { 0, 0, 1 })
    assert.is_true(ok)
    assert.are.same({ 1 }, info.opt)
    X[1][3] = { 0, 0, 0 }
    ok = svm.equal_scores(X, { 0, 0, 1 })
    assert.is_false(ok)
    ok = svm.equal_scores(X, F1a)
    assert.is_true(ok)
    -- labels flip the scores: optimum becomes the lowest-v token
    ok, info = svm.equal_scores({ X = X, Y = { -1 } }, { 0, 0, 1 })
    assert.are.same({ 3 }, info.opt)
  end)
end)

describe("svm.support_tokens", function()
  it("Appendix item 3 has every constraint active", function()
    local ds = { X = { { { 1, 0 }, { 0, 1 }, { 1, 1 } }, { { 0.5, -1 }, { 1, 0.5 }, { -1, 0 } } },
                 Z = { { 1, 0 }, { 0, 1 } } }
    local sup, status = svm.support_tokens(ds, { 3, 1 })
    assert.are.equal("optimal", status)
    assert.are.same({ { 1, 2 }, { 2, 3 } }, sup)
    sup = svm.support_tokens(ds, { 3, 1 }, { Wmm = { { 1, 2 / 11 }, { 1, -8 / 11 } } })
    assert.are.same({ { 1, 2 }, { 2, 3 } }, sup)
    sup, status = svm.support_tokens({ { { 1, 0 }, { 1, 0 } } }, { 1 }, { Z = Z })
    assert.is_nil(sup)
    assert.are.equal("infeasible", status)
  end)
end)
