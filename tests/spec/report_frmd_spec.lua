-- hardmax.report: trajectory helpers of the FR/MD scripts (memo, slope, pad, at_steps).
require "hardmax"
local report = require "hardmax.report"
local mat = require "hardmax.mat"

describe("report trajectory helpers", function()
  it("memo: one call per distinct selection, same result table", function()
    local calls = 0
    local f = report.memo(function(a) calls = calls + 1; return {sum = a[1] + a[2]} end)
    local r1 = f({1, 2})
    assert.are.equal(r1, f({1, 2}))
    assert.are.equal(3, r1.sum)
    assert.are.equal(7, f({3, 4}).sum)
    assert.are.equal(2, calls)
    local g = report.memo(function(a) return #a end)
    assert.are.equal(2, g({{1, 2}, {3}}))
    assert.are_not.equal(g({{1, 2}, {3}}), g({{1}, {2, 3}}) + 1)   -- nested keys distinguish grouping
  end)

  it("slope: linear, log-x and log-log fits over a window", function()
    local x, lin, pw, lg = {}, {}, {}, {}
    for k = 1, 20 do x[k] = 100 * k; lin[k] = 3 * x[k] + 1; pw[k] = 5 * x[k] ^ -2; lg[k] = 2.5 * math.log(x[k]) + 7 end
    assert.is_true(math.abs(report.slope(x, lin) - 3) < 1e-12)
    local s, n = report.slope(x, pw, {log = "xy", from = 500, to = 1000})
    assert.is_true(math.abs(s + 2) < 1e-12)
    assert.are.equal(6, n)
    assert.is_true(math.abs(report.slope(mat.new(x), mat.new(lg), {log = "x"}) - 2.5) < 1e-12)
    local bad = report.slope({1, 2, 3}, {1, 0, -1}, {log = "y"})   -- one usable point
    assert.is_true(bad ~= bad)
  end)

  it("pad: repeats the last row of early-stopped records", function()
    local r = {loss = mat.new{3, 2}, corr = {0.5, 0.9}}
    assert.are.equal(2, report.pad(r, {"loss", "corr"}, 4))
    assert.are.same({3, 2, 2, 2}, r.loss)
    assert.are.same({0.5, 0.9, 0.9, 0.9}, r.corr)
    assert.are.equal(0, report.pad(r, {"corr"}, 4))
  end)

  it("at_steps: values at the closest recorded steps", function()
    assert.are.same({10, 30, 30}, report.at_steps({0, 10, 20}, {10, 20, 30}, {0, 20, 1e4}))
  end)
end)
