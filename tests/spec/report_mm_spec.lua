-- report helpers used by the MM / RP reproductions (examples/mm_*.lua, rp_*.lua)
require "hardmax"
local report, data, svm, mat = require "hardmax.report", require "hardmax.data", require "hardmax.svm", require "hardmax.mat"

describe("report MM helpers", function()
  it("locally_optimal follows theory.md B.2 on MM-F1a/b", function()
    for name, expect in pairs{mm_f1a = false, mm_f1b = true} do
      local ds, info = data.example(name)
      local s = svm.prompt(ds, {2}, {W = info.W})
      assert.are.same({3}, s.support[1])                    -- token 3 is the only support token
      assert.are.equal(expect, report.locally_optimal(s, {2}, ds:scores()))
      assert.is_true(report.locally_optimal(svm.prompt(ds, {1}, {W = info.W}), {1}, ds:scores()))
    end
    assert.is_false(report.locally_optimal({status = "infeasible"}, {1}, {{0}}))
    assert.has_error(function() report.locally_optimal(nil, {1}, {{0}}) end)
  end)

  it("xy, complement, log_grid", function()
    local a = mat.new{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}
    assert.are.same({{1, 2}, {4, 5}}, report.xy(a, 2):totable())
    assert.are.same({{1, 2}, {4, 5}, {7, 8}}, report.xy(a):totable())
    assert.are.same({2, 4}, report.complement(4, {1, 3}))
    assert.are.same({}, report.complement(2, {1, 2}))
    local g = report.log_grid(1, 100, 2)
    assert.are.equal(5, #g)
    for k, v in ipairs{1, 10 ^ 0.5, 10, 10 ^ 1.5, 100} do assert.is_true(math.abs(g[k] - v) <= 1e-12 * v) end
    assert.are.same({3}, report.log_grid(3, 3))
    assert.has_error(function() report.log_grid(0, 1) end)
  end)
end)
