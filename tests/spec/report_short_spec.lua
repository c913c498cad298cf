-- hardmax.report: generic helpers that keep the example scripts short.
require "hardmax"
local report = require "hardmax.report"
local mat = require "hardmax.mat"

local function runs(list)   -- sweep-like results with params
  local out = {}
  for i, e in ipairs(list) do out[i] = {status = e.status or "ok", key = tostring(i), params = e.params, metrics = e.m} end
  return out
end

describe("report short-script helpers", function()
  it("numbers: lists, cell names, exponents; errors", function()
    assert.are.same({4, 6, 8}, report.numbers("4,6,8"))
    assert.are.same({5, 10}, report.numbers("5x10"))
    assert.are.same({1000, 2.5, -3}, report.numbers("1e3, 2.5,-3"))
    assert.are.equal(math.type(report.numbers("1e3")[1]), "integer")
    assert.are.same({}, report.numbers(""))
    assert.has_error(function() report.numbers("1e") end, "report.numbers: malformed number '1e' in '1e'")
    assert.has_error(function() report.numbers(4) end)
  end)

  it("map: arrays, vectors, snapshot stacks, index argument", function()
    assert.are.same({2, 4, 6}, report.map({1, 2, 3}, function(v) return 2 * v end))
    assert.are.same({11, 22}, report.map({10, 20}, function(v, k) return v + k end))
    assert.are.same({1, 4, 9}, report.map(mat.new{1, 2, 3}, function(v) return v * v end))
    local S = mat.zeros(3, 2, 2)
    S[2][1][1], S[3][2][2] = 5, 7
    assert.are.same({0, 5, 7}, report.map(S, function(X) return X:sum() end))
    assert.has_error(function() report.map(42, print) end)
    assert.has_error(function() report.map({}, 1) end)
  end)

  it("count: entries satisfying a predicate", function()
    assert.are.equal(2, report.count({1e-9, 0.5, 3}, function(s) return s > 1e-7 end))
    assert.are.equal(3, report.count(mat.new{1, 2, 3}, function(s) return s > 0 end))
    assert.are.equal(0, report.count({}, function() return true end))
  end)

  it("where, collect, fraction by metric name, results", function()
    local res = runs{{params = {cell = "5x5", d = 2}, m = {feasible = true, r = 1}},
                     {params = {cell = "5x5", d = 4}, m = {feasible = false, r = 0 / 0}},
                     {params = {cell = "5x5", d = 2}, m = {feasible = false, r = 3}},
                     {params = {cell = "5x5", d = 2}, status = "error", m = {feasible = true, r = 9}}}
    local sub = report.where(res, {cell = "5x5", d = 2})
    assert.are.equal(3, #sub)
    assert.are.equal(res[1], sub[1])
    assert.are.equal(res[3], sub[2])
    assert.are.equal(0, #report.where(res, {d = 10}))
    assert.are.equal(0.5, report.fraction(sub, "feasible"))
    assert.are.same({1, 3}, report.collect(sub, "r"))
    assert.are.same({true, false, false}, report.collect(res, "feasible"))
    local into = report.collect(sub, {"r", "feasible"}, {x = 1})
    assert.are.same({x = 1, r = {1, 3}, feasible = {true, false}}, into)
    assert.has_error(function() report.fraction(sub, 3) end)
    assert.has_error(function() report.where(res, "d") end)
    local w = report.results{{a = {1, 2}}, {a = {3, 6}}}
    assert.are.equal("ok", w[2].status)
    assert.are.same({2, 4}, report.band(w, "a").mean)
  end)

  it("names, bands_at, plot_lines", function()
    assert.are.same({"GD_loss", "GD_corr", "NGD_loss", "NGD_corr"}, report.names({"GD", "NGD"}, {"loss", "corr"}))
    assert.are.same({"a.x"}, report.names({"a"}, {"x"}, "."))
    local b = {GD_loss = {mean = {5, 4, 3}}, NGD_loss = {mean = {5, 2, 1}}}
    local fin = report.bands_at(b, {0, 10, 20}, {10, 20}, {k = {10, 20}})
    assert.are.same({k = {10, 20}, GD_loss = {4, 3}, NGD_loss = {2, 1}}, fin)
    local lines = {}
    local fig = {line = function(_, x, y, o) lines[#lines + 1] = {x = x, y = y, o = o} end}
    assert.are.equal(fig, report.plot_lines(fig, {0, 1, 2}, b, {"GD_loss", "NGD_loss"},
      {labels = {"GD"}, map = function(v) return 10 - v end, styles = {nil, {dash = "dashed"}}}))
    assert.are.same({5, 6, 7}, lines[1].y)
    assert.are.same({label = "GD"}, lines[1].o)
    assert.are.same({label = "NGD_loss", dash = "dashed"}, lines[2].o)
    assert.has_error(function() report.plot_lines(fig, {}, b, {"nope"}) end, "report.plot_lines: no band 'nope'")
  end)

  it("nonincreasing, last_change, changes", function()
    local steps = {0, 10, 20, 30}
    assert.is_true(report.nonincreasing(steps, {3, 2, 2, 1}))
    assert.is_false(report.nonincreasing(steps, {3, 2, 2.5, 1}))
    assert.is_true(report.nonincreasing(steps, {3, 2, 2.5, 1}, {from = 20}))   -- the pair (10, 20) is skipped
    assert.is_true(report.nonincreasing(steps, {1, 1 + 1e-12}, {rtol = 1e-9}))
    assert.is_false(report.nonincreasing(nil, {3, 3}, {strict = true}))
    assert.is_true(report.nonincreasing(nil, {3, 2, 1}, {strict = true}))
    assert.is_true(report.nonincreasing(nil, {1, 0 / 0, 2 / 1e300}))
    assert.is_false(report.nonincreasing(nil, {1, 0 / 0}, {strict = true}))
    local a, c = {}, {}
    assert.are.equal(20, report.last_change(steps, {a, a, c, c}))
    assert.are.equal(0, report.last_change(steps, {a, a, a}))
    assert.are.equal(10, report.last_change(mat.new(steps), {1, 2}))
    assert.are.same({10, 30}, report.changes(steps, {1, 2, 2, 1}))
    assert.are.same({}, report.changes(steps, {a, a, a}))
  end)

  it("indices and block_means", function()
    assert.are.same({2, 4}, report.indices({5, 1, 7, 0}, function(v) return v < 2 end))
    assert.are.same({3}, report.indices(mat.new{1, 2, 3}, function(_, i) return i == 3 end))
    assert.are.same({}, report.indices({}, function() return true end))
    assert.are.same({1.5, 3.5}, report.block_means({1, 2, 3, 4, 5}, 2))   -- the partial block is left out
    assert.are.same({2}, report.block_means(mat.new{1, 2, 3}, 3))
    assert.are.same({}, report.block_means({1}, 2))
    assert.has_error(function() report.block_means({1}, 0) end,
      "report.block_means: bad argument #2 (positive integer block size expected, got 0)")
  end)

  it("optimal and R:at_most", function()
    local s = {status = "optimal", W = 1}
    assert.are.equal(s, report.optimal(s, "Att-SVM"))
    assert.has_error(function() report.optimal({status = "infeasible"}, "l2-Att-SVM") end, "l2-Att-SVM is infeasible")
    assert.has_error(function() report.optimal(nil) end)
    local R = report.new("T")
    assert.is_true(R:at_most("div", 0.01, 0.02))
    assert.is_false(R:at_most("big", 3, 2))
    assert.is_true(R.checks["div <= 0.02"])
    assert.is_false(R.checks["big <= 2"])
  end)

  it("ok, all, accept, put", function()
    local r = {status = "ok", loss = 1}
    assert.are.equal(r, report.ok(r))
    assert.has_error(function() report.ok({status = "gradient underflow at step 3"}, "GD") end, "GD: gradient underflow at step 3")
    assert.has_error(function() report.ok({status = "diverged"}) end, "diverged")
    assert.has_error(function() report.ok(5) end)
    assert.is_true(report.all({1, 2, 3}, function(v) return v > 0 end))
    assert.is_false(report.all(mat.new{1, -2}, function(v) return v > 0 end))
    assert.is_true(report.all({}, function() return false end))
    local calls = {}
    local acc, tries = report.accept(2, 10, function(i) calls[#calls + 1] = i; if i % 3 == 0 then return i * 10 end end)
    assert.are.same({30, 60}, acc)
    assert.are.equal(6, tries)
    assert.are.same({1, 2, 3, 4, 5, 6}, calls)
    local none, t2 = report.accept(5, 4, function() return nil end)
    assert.are.same({}, none)
    assert.are.equal(4, t2)
    assert.are.same({false}, (report.accept(1, 3, function() return false end)))   -- false is a value
    local out = report.put({x = 1}, "GD_", {loss = 2, corr = 3})
    assert.are.same({x = 1, GD_loss = 2, GD_corr = 3}, out)
    assert.are.same({GD_loss = 2}, report.put({}, "GD_", {loss = 2, corr = 3}, {"loss"}))
    assert.has_error(function() report.put({}, 1, {}) end)
  end)

  it("plot_lines makes a figure from a spec table", function()
    local plot = require "hardmax.plot"
    local f = report.plot_lines({xlabel = "k", log = "y"}, {0, 1}, {a = {mean = {1, 2}}}, {"a"})
    assert.are.equal(getmetatable(plot.figure{}), getmetatable(f))
  end)

  it("range: integer steps", function()
    assert.are.same({0, 10, 20, 30}, report.range(0, 30, 10))
    assert.are.same({0, 10, 20}, report.range(0, 25, 10))
    assert.are.same({1, 2, 3}, report.range(1, 3))
    assert.are.same({3, 1}, report.range(3, 0, -2))
    assert.are.equal("integer", math.type(report.range(0, 5)[2]))
    assert.has_error(function() report.range(0, 5, 0) end)
    assert.has_error(function() report.range(0, 1.5) end)
  end)

  it("collect without a key: metrics tables of successful runs", function()
    local res = runs{{m = {a = 1}}, {m = {a = 2}, status = "error"}, {m = {a = 3}}}
    local ms = report.collect(res)
    assert.are.equal(2, #ms)
    assert.are.equal(res[3].metrics, ms[2])
    assert.has_error(function() report.collect(nil) end)
  end)

  it("R:converges: predicted limit reached, alternative not", function()
    local R = report.new("T")
    assert.is_true(R:converges("p(R)", {0.5, 0.995}, {alt = {0.4, 0.6}, at = "R_max"}))
    assert.is_true(R.checks["p(R): cos with the predicted SVM >= 0.99 at R_max"])
    assert.is_true(R.checks["p(R): cos with the wrong SVM < 0.99 and below"])
    assert.is_false(R:converges("q", mat.new{0.9, 0.98}, {alt = {0.1, 0.995}}))
    assert.is_false(R.checks["q: cos with the predicted SVM >= 0.99 at the end"])
    assert.is_false(R.checks["q: cos with the wrong SVM < 0.99 and below"])
    R:converges("s", {1}, {alt = {1}, distinct = false, threshold = 0.9, target = "limit"})   -- parallel limits: no alt check
    assert.is_true(R.checks["s: cos with the limit >= 0.9 at the end"])
    assert.is_nil(R.checks["s: cos with the wrong SVM < 0.9 and below"])
    R:converges("t", {0.999})
    assert.are.equal(6, #R.order)
    assert.has_error(function() R:converges("u", {}) end)
  end)
  it("stats min/max, means and filter", function()
    local r = runs{{m = {a = 2.0, b = 1, ok = true}}, {m = {a = -1.0, b = 0 / 0, ok = false}}, {status = "error", m = {a = 9.0}},
                   {m = {a = 0 / 0, b = 5, ok = true}}}
    local s = report.stats(r, "a")
    assert.are.same({-1.0, 2.0, 2}, {s.min, s.max, s.n})          -- NaN and failed runs left out
    local none = report.stats(r, "missing")
    assert.is_true(none.min ~= none.min and none.max ~= none.max)
    local into = {x = 1}
    assert.are.equal(into, report.means(r, {"a", "b"}, into))
    assert.are.same({x = 1, a = 0.5, b = 3.0}, into)
    assert.are.same({}, report.means(r, {}))
    local ok = report.filter(r, "ok")
    assert.are.same({"1", "4"}, {ok[1].key, ok[2].key})
    local neg = report.filter(r, function(m) return m.a < 0 end)
    assert.are.same({"2"}, {neg[1].key})
    assert.are.equal(1, #neg)
    assert.are.equal(0, #report.filter(r, "missing"))
    assert.has_error(function() report.means(r, "a") end, "report.means: bad argument #2 (table expected, got string)")
    assert.has_error(function() report.means(r, {1}) end)
    assert.has_error(function() report.filter(r, 3) end)
    assert.are.equal(0, #report.filter({42, "x"}, "ok"))           -- non-table entries are not runs
  end)

  it("spearman and slope name a non-number entry", function()
    assert.has_error(function() report.spearman({1, {}}, {1, 2}) end, "report.spearman: bad argument #1 (array of numbers expected, entry 2 is table)")
    assert.has_error(function() report.slope({1, 2}, {1, "a"}) end, "report.slope: bad argument #2 (array of numbers expected, entry 2 is string)")
    assert.are.equal(1, report.spearman({1, 2, 3}, {2, 5, 9}))
  end)
end)
