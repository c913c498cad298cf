-- hardmax.util: shared argument checking of the Lua-side library.
require "hardmax"
local util = require "hardmax.util"

describe("util", function()
  it("fail raises 'fn: message' without position", function()
    assert.has_error(function() util.fail("x.y", "bad %d", 3) end, "x.y: bad 3")
  end)
  it("check_options accepts nil and known keys, rejects unknown keys deterministically", function()
    assert.are.same({}, util.check_options("f", nil, {"a"}))
    local o = {a = 1}
    assert.are.equal(o, util.check_options("f", o, {"a", "b"}))
    assert.has_error(function() util.check_options("f", {zz = 1, yy = 2}, {"b", "a"}) end,
      "f: unknown option 'yy' (valid options: a, b)")
    assert.has_error(function() util.check_options("f", 5, {"a"}, 2) end,
      "f: bad argument #2 (options table expected, got number)")
  end)
  it("column_mean_std: elementwise mean and sample std, 0 for one row", function()
    local m, s = util.column_mean_std({{1, 2}, {3, 6}})
    assert.are.same({2, 4}, m)
    assert.are.same({math.sqrt(2), math.sqrt(8)}, s)
    m, s = util.column_mean_std({{5, 7}})
    assert.are.same({5, 7}, m)
    assert.are.same({0, 0}, s)
  end)
end)
