-- mat: tostring and printoptions.
require "hardmax"
local mat = require "hardmax.mat"

describe("mat tostring", function()
  local defaults = { precision = 4, edgeitems = 3, threshold = 1000, linewidth = 80 }
  after_each(function() mat.printoptions(defaults) end)

  it("aligns columns and ends with a shape footer", function()
    assert.are.equal("   1.0  -2.5\n   3.0   4.0\n[2x2 mat]", tostring(mat.new { { 1, -2.5 }, { 3, 4 } }))
    assert.are.equal("  1  2  3\n[3 mat]", tostring(mat.new { 1, 2, 3 }))
    assert.are.equal("  1  2\n[2 mat view]", tostring(mat.new({ { 1, 2 }, { 3, 4 } })[1]))
    assert.are.equal("[0x3 mat]", tostring(mat.zeros(0, 3)))
    assert.are.equal(tostring(mat.eye(2)), mat.eye(2):tostring())
  end)

  it("switches to scientific notation for wide ranges and prints nan / inf", function()
    assert.are.equal("  1.0000e-05  1.0000e+00\n  2.0000e+00  3.0000e+00\n[2x2 mat]",
      tostring(mat.new { { 1e-5, 1 }, { 2, 3 } }))
    assert.are.equal("   nan   inf  -inf   1.5\n[4 mat]",
      tostring(mat.new { 0 / 0, 1 / 0, -1 / 0, 1.5 }))
    assert.are.equal("  0.3333  0.6667\n[2 mat]", tostring(mat.new { 1 / 3, 2 / 3 }))
  end)

  it("truncates large arrays with edge items", function()
    local s = tostring(mat.range(2000):reshape(40, 50))
    local lines = {}
    for l in s:gmatch "[^\n]+" do lines[#lines + 1] = l end
    assert.are.equal(8, #lines)
    assert.are.equal("     1     2     3   ...    48    49    50", lines[1])
    assert.are.equal("   ...   ...   ...   ...   ...   ...   ...", lines[4])
    assert.are.equal("  1951  1952  1953   ...  1998  1999  2000", lines[7])
    assert.are.equal("[40x50 mat]", lines[8])
  end)

  it("labels the samples of rank-3 arrays", function()
    assert.are.equal("(1,.,.) =\n  1  2\n\n(2,.,.) =\n  3  4\n[2x1x2 mat]",
      tostring(mat.new { { { 1, 2 } }, { { 3, 4 } } }))
  end)

  it("printoptions sets precision, edgeitems, threshold and linewidth", function()
    local o = mat.printoptions { precision = 2, threshold = 10, edgeitems = 2 }
    assert.are.same({ precision = 2, edgeitems = 2, threshold = 10, linewidth = 80 }, o)
    assert.are.same(o, mat.printoptions())
    assert.are.equal("    1    2  ...   11   12\n[12 mat]", tostring(mat.range(12)))
    assert.are.equal("  0.33\n[1 mat]", tostring(mat.new { 1 / 3 }))
    mat.printoptions { linewidth = 20, threshold = 1000 }
    assert.are.equal("  0.14  0.29  0.43\n  0.57\n[4 mat]", tostring(mat.range(4) / 7))
    assert.are.equal("Columns 1 to 3\n  0.14  0.29  0.43\n  0.71  0.86  1.00\n\nColumns 4 to 4\n"
      .. "  0.57\n  1.14\n[2x4 mat]", tostring(mat.range(8):reshape(2, 4) / 7))
    assert.has_error(function() mat.printoptions { precison = 3 } end,
      "mat.printoptions: unknown option 'precison' (valid options: precision, edgeitems, threshold, linewidth)")
    assert.has_error(function() mat.printoptions { precision = 40 } end,
      "mat.printoptions: option 'precision': integer in [0, 17] expected")
    assert.has_error(function() mat.printoptions { linewidth = 2 } end,
      "mat.printoptions: option 'linewidth': integer in [10, 100000] expected")
  end)
end)
