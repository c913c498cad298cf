-- mat: arithmetic, in-place updates, unary math, softmax, reductions, norms.
require "hardmax"
local mat = require "hardmax.mat"

local function same(t, A) assert.are.same(t, A:totable()) end

local function close(expected, A, tol)
  tol = tol or 1e-12
  local got = type(A) == "number" and A or nil
  if got then
    assert.is_true(math.abs(got - expected) <= tol * (1 + math.abs(expected)),
      ("expected %.17g, got %.17g"):format(expected, got))
    return
  end
  local E = mat.new(expected)
  assert.are.same({ E:shape() }, { A:shape() })
  local d = (A - E):abs():max()
  assert.is_true(d <= tol * (1 + E:abs():max()), ("max deviation %g"):format(d))
end

describe("mat arithmetic", function()
  local A, B
  before_each(function()
    A = mat.new { { 1, 2, 3 }, { 4, 5, 6 } }
    B = mat.new { { 6, 5, 4 }, { 3, 2, 1 } }
  end)

  it("+ and - work element-wise and with scalars on either side", function()
    same({ { 7, 7, 7 }, { 7, 7, 7 } }, A + B)
    same({ { -5, -3, -1 }, { 1, 3, 5 } }, A - B)
    same({ { 2, 3, 4 }, { 5, 6, 7 } }, A + 1)
    same({ { 2, 3, 4 }, { 5, 6, 7 } }, 1 + A)
    same({ { 0, 1, 2 }, { 3, 4, 5 } }, A - 1)
    same({ { 0, -1, -2 }, { -3, -4, -5 } }, 1 - A)
    same({ { -1, -2, -3 }, { -4, -5, -6 } }, -A)
    same({ { -1, -2, -3 }, { -4, -5, -6 } }, A:neg())
    same({ 3, 7 }, mat.add(mat.new { 1, 2 }, mat.new { 2, 5 }))
  end)

  it("a rank-1 operand broadcasts over the rows", function()
    local r = mat.new { 10, 20, 30 }
    same({ { 11, 22, 33 }, { 14, 25, 36 } }, A + r)
    same({ { 11, 22, 33 }, { 14, 25, 36 } }, r + A)
    same({ { 9, 18, 27 }, { 6, 15, 24 } }, r - A)
    same({ { -9, -18, -27 }, { -6, -15, -24 } }, A - r)
    local X = mat.ones(2, 2, 3) + r
    same({ 11, 21, 31 }, X[2][2])
  end)

  it("reports shape mismatches in Lua terms", function()
    assert.has_error(function() return A + A:t() end, "mat.add: shapes 2x3 and 3x2 do not conform")
    assert.has_error(function() return A - mat.new { 1, 2 } end,
      "mat.sub: shapes 2x3 and 2 do not conform")
    assert.has_error(function() return A + "x" end,
      "mat.add: bad argument #2 (mat or number expected, got string)")
    assert.has_error(function() return {} - A end,
      "mat.sub: bad argument #1 (mat or number expected, got table)")
  end)

  it("* is the matrix product (gemm, gemv, x^T A, scalar)", function()
    same({ { 25, 7 }, { 55, 19 } }, A * mat.new { { 1, 2 }, { 3, 1 }, { 6, 1 } })
    same({ { 14, 32 }, { 32, 77 } }, A * A:t())
    same({ 14, 32 }, A * mat.new { 1, 2, 3 })
    same({ 9, 12, 15 }, mat.new { 1, 2 } * A)
    same({ { 2, 4, 6 }, { 8, 10, 12 } }, 2 * A)
    same({ { 2, 4, 6 }, { 8, 10, 12 } }, A * 2)
    same({ { 14, 32 }, { 32, 77 } }, A:matmul(A:t()))
    same({ { 0, 0 }, { 0, 0 } }, mat.zeros(2, 0) * mat.zeros(0, 2))
    assert.has_error(function() return A * A end, "mat.matmul: shapes 2x3 and 2x3 do not conform")
    assert.has_error(function() return mat.new { 1, 2 } * mat.new { 1, 2 } end,
      "mat.matmul: shapes 2 and 2 do not conform (use mat.dot or mat.outer for two vectors)")
  end)

  it("* batches over the first axis of a rank-3 left operand", function()
    local X = mat.stack { A, B }             -- 2x2x3
    local W = mat.new { { 1, 0 }, { 0, 1 }, { 1, 1 } }
    local Y = X * W                          -- 2x2x2
    same({ { 4, 5 }, { 10, 11 } }, Y[1])
    same({ { 10, 9 }, { 4, 3 } }, Y[2])
    same({ { 6, 15 }, { 15, 6 } }, X * mat.new { 1, 1, 1 })
    local Z = X * mat.stack { W, 2 * W }      -- batched gemm
    same({ { 4, 5 }, { 10, 11 } }, Z[1])
    same({ { 20, 18 }, { 8, 6 } }, Z[2])
    assert.has_error(function() return X * mat.stack { W, W, W } end,
      "mat.matmul: shapes 2x2x3 and 3x3x2 do not conform")
    assert.has_error(function() return W * X end, "mat.matmul: shapes 3x2 and 2x2x3 do not conform")
  end)

  it("/ divides by a scalar; mul and div are element-wise", function()
    same({ { 0.5, 1, 1.5 }, { 2, 2.5, 3 } }, A / 2)
    same({ { 6, 3, 2 }, { 1.5, 1.2, 1 } }, 6 / A)
    same({ { 6, 10, 12 }, { 12, 10, 6 } }, A:mul(B))
    same({ { 2, 4, 6 }, { 8, 10, 12 } }, A:mul(2))
    same({ { 1 / 6, 2 / 5, 3 / 4 }, { 4 / 3, 5 / 2, 6 } }, A:div(B))
    same({ { 1, 4, 9 }, { 4, 10, 18 } }, A:mul(mat.new { 1, 2, 3 }))
    assert.has_error(function() return A / B end,
      "mat.div: '/' needs a number operand (use A:div(B) for element-wise division of two mats)")
    assert.has_error(function() return A:mul(A:t()) end, "mat.mul: shapes 2x3 and 3x2 do not conform")
  end)

  it("== is exact equality of shape and values", function()
    assert.is_true(A == mat.new { { 1, 2, 3 }, { 4, 5, 6 } })
    assert.is_false(A == B)
    assert.is_false(A == A:reshape(3, 2))
    assert.is_false(A == A + 1e-15)
    assert.is_false(mat.new { 0 / 0 } == mat.new { 0 / 0 })
    assert.is_false(mat.new { 1 } == require("hardmax.rng").new(1))
    assert.is_false(mat.new { 1 } == 1)
  end)
end)

describe("mat in-place updates", function()
  it("add_, sub_, mul_, div_, scale_, fill_, copy_, axpy_ return self", function()
    local A = mat.new { { 1, 2 }, { 3, 4 } }
    assert.are.equal(A, A:add_(1))
    same({ { 2, 3 }, { 4, 5 } }, A)
    A:sub_(mat.new { { 1, 1 }, { 1, 1 } })
    same({ { 1, 2 }, { 3, 4 } }, A)
    A:mul_(mat.new { 2, 3 })
    same({ { 2, 6 }, { 6, 12 } }, A)
    A:div_(2)
    same({ { 1, 3 }, { 3, 6 } }, A)
    A:scale_(-1)
    same({ { -1, -3 }, { -3, -6 } }, A)
    A:copy_(mat.eye(2))
    same({ { 1, 0 }, { 0, 1 } }, A)
    A:axpy_(2, mat.ones(2, 2))
    same({ { 3, 2 }, { 2, 3 } }, A)
    A:fill_(7)
    same({ { 7, 7 }, { 7, 7 } }, A)
    assert.has_error(function() A:add_(mat.ones(3)) end, "mat.add_: shapes 2x2 and 3 do not conform")
    assert.has_error(function() A:copy_(mat.ones(4)) end, "mat.copy_: shapes 2x2 and 4 do not conform")
    assert.has_error(function() A:axpy_(1, mat.ones(4)) end, "mat.axpy_: shapes 2x2 and 4 do not conform")
    assert.has_error(function() A:scale_("2") end, "mat.scale_: bad argument #2 (number expected, got string)")
  end)
end)

describe("mat unary math", function()
  local x = mat.new { -2, -0.5, 0, 0.5, 2 }

  it("exp, log, abs, sqrt, tanh, relu, sign, pow", function()
    close({ math.exp(-2), math.exp(-0.5), 1, math.exp(0.5), math.exp(2) }, x:exp())
    close({ 0, math.log(2), math.log(3) }, mat.new({ 1, 2, 3 }):log())
    same({ 2, 0.5, 0, 0.5, 2 }, x:abs())
    same({ 0, 1, 2, 3 }, mat.new({ 0, 1, 4, 9 }):sqrt())
    close({ -0.9640275800758169, -0.46211715726000974, 0,
      0.46211715726000974, 0.9640275800758169 }, x:tanh())
    same({ 0, 0, 0, 0.5, 2 }, x:relu())
    same({ -1, -1, 0, 1, 1 }, x:sign())
    same({ 4, 0.25, 0, 0.25, 4 }, x:pow(2))
    close({ 1, 2, 3 }, mat.new({ 1, 8, 27 }):pow(1 / 3))
    assert.is_true(mat.new({ -1 }):sqrt():get(1) ~= mat.new({ -1 }):sqrt():get(1)) -- NaN
    assert.are.equal(-math.huge, mat.new({ 0 }):log():get(1))
  end)

  it("sigmoid is stable for large |x|", function()
    local s = mat.new({ -1000, -30, 0, 30, 1000 }):sigmoid()
    assert.are.equal(0, s:get(1))
    close(1 / (1 + math.exp(30)), s:get(2))
    assert.are.equal(0.5, s:get(3))
    close(1 / (1 + math.exp(-30)), s:get(4))
    assert.are.equal(1, s:get(5))
  end)

  it("in-place variants modify and return self", function()
    local y = x:clone()
    assert.are.equal(y, y:abs_())
    same({ 2, 0.5, 0, 0.5, 2 }, y)
    y:pow_(2):sqrt_():neg_():exp_():log_()
    same({ -2, -0.5, 0, -0.5, -2 }, y)
    y:relu_()
    same({ 0, 0, 0, 0, 0 }, y)
    y:copy_(x):sign_()
    same({ -1, -1, 0, 1, 1 }, y)
    y:copy_(x):tanh_():sigmoid_()
    close(x:tanh():sigmoid():totable(), y)
  end)

  it("softmax and log_softmax along the last axis, max-subtracted", function()
    local S = mat.new({ { 1, 2, 3 }, { 1000, 1000, 1000 } }):softmax()
    local e = math.exp(1) + math.exp(2) + math.exp(3)
    close({ { math.exp(1) / e, math.exp(2) / e, math.exp(3) / e }, { 1 / 3, 1 / 3, 1 / 3 } }, S)
    local L = mat.new({ { 1, 2, 3 }, { -1000, 0, 1000 } }):log_softmax()
    close({ { 1 - math.log(e), 2 - math.log(e), 3 - math.log(e) }, { -2000, -1000, 0 } }, L)
    close({ 0.5, 0.5 }, mat.new({ 3, 3 }):softmax())
    local C = mat.new({ { 1, 1 }, { 2, 2 } }):softmax(1) -- along axis 1 (columns)
    close({ { 1 / (1 + math.exp(1)), 1 / (1 + math.exp(1)) },
      { 1 / (1 + math.exp(-1)), 1 / (1 + math.exp(-1)) } }, C)
    local X = mat.zeros(2, 2, 4):softmax()
    assert.are.equal(0.25, X:get(2, 1, 3))
    local Y = mat.new { { 1, 2 } }
    Y:softmax_()
    close({ { 1 / (1 + math.exp(1)), 1 / (1 + math.exp(-1)) } }, Y)
    local Z = mat.new { { 1, 2 } }
    assert.are.equal(Z, Z:log_softmax_())
    close({ { -math.log(1 + math.exp(1)), -math.log(1 + math.exp(-1)) } }, Z)
    assert.has_error(function() mat.ones(2, 2):softmax(3) end,
      "mat.softmax: bad argument #2 (axis in [1, 2] expected, got 3)")
  end)
end)

describe("mat reductions", function()
  local A = mat.new { { 1, 5, 3 }, { 4, 2, 6 } }

  it("sum, mean, max, min of the whole array", function()
    assert.are.equal(21, A:sum())
    assert.are.equal(3.5, A:mean())
    assert.are.equal(6, A:max())
    assert.are.equal(1, A:min())
    assert.are.equal(0, mat.zeros(0):sum())
    assert.has_error(function() mat.zeros(0):max() end, "mat.max: empty mat has no maximum")
    -- compensated summation
    assert.are.equal(2, mat.new({ 1e16, 1, 1, -1e16 }):sum())
  end)

  it("argmax / argmin return 1-based indices (one per axis)", function()
    assert.are.same({ 2, 3 }, { A:argmax() })
    assert.are.same({ 1, 1 }, { A:argmin() })
    assert.are.equal(2, mat.new({ 1, 3, 3 }):argmax()) -- first of ties
    assert.are.same({ 2, 1, 2 }, { mat.new({ { { 0, 0 } }, { { 0, 9 } } }):argmax() })
  end)

  it("reduce along an axis", function()
    same({ 5, 7, 9 }, A:sum(1))
    same({ 9, 12 }, A:sum(2))
    same({ 2.5, 3.5, 4.5 }, A:mean(1))
    same({ 4, 5, 6 }, A:max(1))
    same({ 1, 2 }, A:min(2))
    same({ 2, 1, 2 }, A:argmax(1))
    same({ 1, 2 }, A:argmin(2))
    assert.are.equal(3, mat.new({ 1, 2, 9 }):argmax(1))
    assert.are.equal(12, mat.new({ 1, 2, 9 }):sum(1))
    local X = mat.new { { { 1, 2 }, { 3, 4 } }, { { 5, 6 }, { 7, 8 } } }
    same({ { 6, 8 }, { 10, 12 } }, X:sum(1))
    same({ { 4, 6 }, { 12, 14 } }, X:sum(2))
    same({ { 3, 7 }, { 11, 15 } }, X:sum(3))
    same({ { 2, 2 }, { 2, 2 } }, X:argmax(3))
    assert.has_error(function() A:sum(0) end, "mat.sum: bad argument #2 (axis in [1, 2] expected, got 0)")
    assert.has_error(function() mat.zeros(2, 0):max(2) end, "mat.max: cannot reduce an empty axis 2")
  end)

  it("NaN propagates through max and is found by argmax", function()
    local v = mat.new { 1, 0 / 0, 3 }
    assert.is_true(v:max() ~= v:max())
    assert.are.equal(2, v:argmax())
  end)

  it("dot, outer, trace, diag", function()
    assert.are.equal(91, mat.dot(A, A))
    assert.are.equal(91, A:dot(A:reshape(6)))
    assert.has_error(function() mat.dot(A, mat.ones(5)) end,
      "mat.dot: shapes 2x3 and 5 have different sizes (6 and 5)")
    same({ { 3, 4 }, { 6, 8 } }, mat.outer(mat.new { 1, 2 }, mat.new { 3, 4 }))
    assert.has_error(function() mat.outer(A, A) end,
      "mat.outer: bad argument #1 (rank-1 mat expected, got shape 2x3)")
    assert.are.equal(3, A:trace())
    assert.are.equal(15, mat.new({ { 1, 2, 3 }, { 4, 5, 6 }, { 7, 8, 9 } }):trace())
    same({ { 1, 0 }, { 0, 2 } }, mat.diag(mat.new { 1, 2 }))
    same({ 1, 2 }, A:diag())
    assert.has_error(function() mat.ones(2, 2, 2):diag() end,
      "mat.diag: bad argument #1 (rank-1 or rank-2 mat expected, got shape 2x2x2)")
  end)
end)

describe("mat norms and corr", function()
  local A = mat.new { { 3, 0 }, { 4, 0 } }

  it("fro (default), nuc, spectral 2 and entrywise p", function()
    assert.are.equal(5, A:norm())
    assert.are.equal(5, A:norm "fro")
    close(5, A:norm "nuc")
    close(5, A:norm(2))
    local D = mat.new { { 3, 0 }, { 0, -4 } }
    close(7, D:norm "nuc")
    close(4, D:norm(2))
    assert.are.equal(7, D:norm(1))
    assert.are.equal(4, D:norm(math.huge))
    close((3 ^ 3 + 4 ^ 3) ^ (1 / 3), D:norm(3))
    assert.are.equal(5, mat.new({ 3, -4 }):norm(2))
    assert.are.equal(5, mat.new({ 3, -4 }):norm "nuc")
    close(math.sqrt(8), mat.ones(2, 2, 2):norm(2))
    assert.are.equal(0, mat.zeros(3, 3):norm "nuc")
    -- no overflow for huge entries
    close(5e300, mat.new({ 3e300, 4e300 }):norm())
    close((27 + 64) ^ (1 / 3) * 1e300, mat.new({ 3e300, 4e300 }):norm(3))
    assert.has_error(function() A:norm(0.5) end, "mat.norm: bad argument #2 (p >= 1 expected, got 0.5)")
    assert.has_error(function() A:norm "max" end,
      "mat.norm: bad argument #2 ('fro', 'nuc' or a number p >= 1 expected, got 'max')")
    assert.has_error(function() mat.ones(2, 2, 2):norm "nuc" end,
      "mat.norm: bad argument #1 (rank-1 or rank-2 mat expected for 'nuc')")
    assert.has_error(function() mat.new({ { 0 / 0 } }):norm "nuc" end,
      "mat.norm: bad argument #1 (finite entries expected, got NaN or Inf)")
  end)

  it("corr(A, B) = <A,B> / (|A|_F |B|_F)", function()
    local B = mat.new { { 1, 1 }, { 0, 0 } }
    close(3 / (5 * math.sqrt(2)), mat.corr(A, B))
    close(1, mat.corr(A, 2 * A))
    close(-1, A:corr(-A))
    assert.has_error(function() mat.corr(A, mat.zeros(2, 2)) end,
      "mat.corr: bad argument #2 (non-zero mat expected, got zero norm)")
    assert.has_error(function() mat.corr(A, mat.ones(4)) end,
      "mat.corr: shapes 2x2 and 4 do not conform")
    assert.has_error(function() mat.corr(mat.new { 0 / 0 }, mat.new { 1 }) end,
      "mat.corr: bad argument #1 (finite entries expected, got NaN or Inf)")
  end)
end)
