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

  it("check_signatures wraps functions with argument type checks", function()
    local mat = require "hardmax.mat"
    local m = {f = function(a, b, c) return (c or 0) + #a end}
    util.check_signatures(m, "mod", {f = {"list", "s|f", "i?"}})
    assert.are.equal(3, m.f({1, 2, 3}, "x"))
    assert.are.equal(5, m.f(mat.new{1, 2}, print, 3))
    assert.are.equal(3, m.f({}, "x", 3.0))   -- an integral float counts as an integer
    assert.has_error(function() m.f(nil, "x") end, "mod.f: bad argument #1 (array expected, got nil)")
    assert.has_error(function() m.f({}, 1) end, "mod.f: bad argument #2 (string or function expected, got number)")
    assert.has_error(function() m.f({}, "x", 1.5) end, "mod.f: bad argument #3 (integer expected, got number)")
    assert.has_error(function() m.f(mat.eye(2), "x", mat.eye(2)) end, "mod.f: bad argument #3 (integer expected, got hardmax.mat)")
    assert.are.equal("hardmax.mat", util.typename(mat.eye(1)))
    assert.are.equal("nil", util.typename(nil))
  end)
end)
