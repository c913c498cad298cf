-- mat: constructors, shape queries, element access, views, <close>.
require "hardmax"
local mat = require "hardmax.mat"
local rng = require "hardmax.rng"

local function same(t, A)
  assert.are.same(t, A:totable())
end

describe("mat constructors", function()
  it("new builds arrays from nested tables of depth 1 to 3", function()
    local v = mat.new { 1, 2, 3 }
    assert.are.same({ 3 }, { v:shape() })
    same({ 1, 2, 3 }, v)
    local A = mat.new { { 1, 2, 3 }, { 4, 5, 6 } }
    assert.are.same({ 2, 3 }, { A:shape() })
    same({ { 1, 2, 3 }, { 4, 5, 6 } }, A)
    local X = mat.new { { { 1, 2 }, { 3, 4 } }, { { 5, 6 }, { 7, 8 } }, { { 9, 10 }, { 11, 12 } } }
    assert.are.same({ 3, 2, 2 }, { X:shape() })
    assert.are.equal(11, X:get(3, 2, 1))
    assert.are.same({ 0 }, { mat.new({}):shape() })
    assert.are.same({ 1, 0 }, { mat.new({ {} }):shape() })
  end)

  it("new takes a flat table and a shape", function()
    local A = mat.new({ 1, 2, 3, 4, 5, 6 }, 3, 2)
    same({ { 1, 2 }, { 3, 4 }, { 5, 6 } }, A)
    local X = mat.new({ 1, 2, 3, 4, 5, 6, 7, 8 }, 2, 2, 2)
    assert.are.equal(7, X:get(2, 2, 1))
    assert.has_error(function() mat.new({ 1, 2, 3 }, 2, 2) end,
      "mat.new: bad argument #1 (table of 4 numbers expected for shape 2x2, got 3)")
    assert.has_error(function() mat.new({ 1, "a" }, 2) end,
      "mat.new: bad argument #1 (number expected at t[2], got string)")
  end)

  it("new copies a mat and from_table is an alias", function()
    local A = mat.new { { 1, 2 }, { 3, 4 } }
    local B = mat.new(A)
    B:set(1, 1, 9)
    assert.are.equal(1, A:get(1, 1))
    assert.are.equal(mat.new, mat.from_table)
  end)

  it("new rejects ragged, non-numeric and too deep tables", function()
    assert.has_error(function() mat.new { { 1, 2 }, { 3 } } end,
      "mat.new: bad argument #1 (ragged nested table: t[2] has 1 entries, expected 2)")
    assert.has_error(function() mat.new { { 1, 2 }, { 3, "x" } } end,
      "mat.new: bad argument #1 (number expected at t[2][2], got string)")
    assert.has_error(function() mat.new { { 1, 2 }, 3 } end,
      "mat.new: bad argument #1 (table expected at t[2], got number)")
    assert.has_error(function() mat.new { { { { 1 } } } } end,
      "mat.new: bad argument #1 (nested table of depth at most 3 expected)")
    assert.has_error(function() mat.new "x" end,
      "mat.new: bad argument #1 (table or mat expected, got string)")
  end)

  it("zeros, ones, full and eye", function()
    same({ { 0, 0, 0 }, { 0, 0, 0 } }, mat.zeros(2, 3))
    same({ 1, 1 }, mat.ones(2))
    assert.are.same({ 2, 3, 4 }, { mat.ones(2, 3, 4):shape() })
    assert.are.equal(24, mat.ones(2, 3, 4):sum())
    same({ { 7.5, 7.5 } }, mat.full(7.5, 1, 2))
    same({ { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } }, mat.eye(3))
    same({ { 1, 0, 0 }, { 0, 1, 0 } }, mat.eye(2, 3))
  end)

  it("rejects negative, non-integer, missing and overflowing sizes", function()
    assert.has_error(function() mat.zeros(-1) end,
      "mat.zeros: bad argument #1 (non-negative size expected, got -1)")
    assert.has_error(function() mat.ones(2, 1.5) end,
      "mat.ones: bad argument #2 (integer expected, got non-integral number 1.5)")
    assert.has_error(function() mat.zeros() end, "mat.zeros: 1 to 3 dimensions expected, got 0")
    assert.has_error(function() mat.zeros(1, 2, 3, 4) end,
      "mat.zeros: 1 to 3 dimensions expected, got 4")
    assert.has_error(function() mat.zeros(1 << 40, 1 << 40) end,
      "mat.zeros: array of that shape is too large")
    assert.has_error(function() mat.zeros("a") end,
      "mat.zeros: bad argument #1 (integer expected, got string)")
    -- an allocation the allocator refuses is a Lua error, not an abort (AddressSanitizer
    -- aborts on such requests unless allocator_may_return_null=1, so skip it there)
    local asan = os.getenv "ASAN_OPTIONS"
    if not asan or asan:match "allocator_may_return_null=1" then
      local ok, err = pcall(mat.zeros, 1 << 26, 1 << 26)
      assert.is_false(ok)
      assert.are.equal("mat.zeros: not enough memory for 36 PB", err)
    end
  end)

  it("range and linspace", function()
    same({ 1, 2, 3, 4 }, mat.range(4))
    same({ 0, 2, 4 }, mat.range(0, 5, 2))
    same({ 3, 2, 1 }, mat.range(3, 1, -1))
    same({ 0, 0.25, 0.5, 0.75, 1 }, mat.range(0, 1, 0.25))
    assert.are.same({ 0 }, { mat.range(1, 0):shape() })
    same({ 0, 0.25, 0.5, 0.75, 1 }, mat.linspace(0, 1, 5))
    same({ 2 }, mat.linspace(2, 3, 1))
    assert.has_error(function() mat.range(1, 2, 0) end,
      "mat.range: bad argument #3 (non-zero step expected, got 0)")
    assert.has_error(function() mat.linspace(0, math.huge, 3) end,
      "mat.linspace: bad argument #2 (finite number expected, got inf)")
  end)

  it("randn and rand draw from an rng (same stream as the generator)", function()
    local A = mat.randn(rng.new(5), 200, 50)
    assert.are.same({ 200, 50 }, { A:shape() })
    assert.is_true(math.abs(A:mean()) < 0.05)
    assert.is_true(math.abs(A:pow(2):mean() - 1) < 0.05)
    assert.are.equal(mat.randn(rng.new(5), 200, 50), A) -- reproducible
    local U = mat.rand(rng.new(1), 1000)
    assert.is_true(U:min() >= 0 and U:max() < 1)
    assert.is_true(math.abs(U:mean() - 0.5) < 0.05)
    assert.are_not.equal(mat.randn(rng.new(6), 3), mat.randn(rng.new(5), 3))
    -- without a generator the default one is used
    assert.are.same({ 2, 2 }, { mat.randn(2, 2):shape() })
    assert.has_error(function() mat.randn("x", 2) end,
      "mat.randn: bad argument #1 (rng or dimension expected, got string)")
  end)
end)

describe("mat shape and access", function()
  local A
  before_each(function() A = mat.new { { 1, 2, 3 }, { 4, 5, 6 } } end)

  it("shape, ndim, size, #", function()
    assert.are.same({ 2, 3 }, { A:shape() })
    assert.are.same({ 2, 3 }, { mat.shape(A) })
    assert.are.equal(2, A:ndim())
    assert.are.equal(6, A:size())
    assert.are.equal(3, A:size(2))
    assert.are.equal(2, #A)
    assert.are.equal(4, #mat.zeros(4, 2, 2))
    assert.has_error(function() A:size(3) end, "mat.size: bad argument #2 (axis in [1, 2] expected, got 3)")
  end)

  it("pairs iterates entries, rows or samples in order; ipairs is refused with a hint", function()
    local seen = {}
    for i, x in pairs(mat.new{5, 6, 7}) do seen[#seen + 1] = {i, x} end
    assert.are.same({{1, 5}, {2, 6}, {3, 7}}, seen)
    local rows = {}
    for i, r in pairs(mat.new{{1, 2}, {3, 4}}) do rows[i] = r:totable() end
    assert.are.same({{1, 2}, {3, 4}}, rows)
    local S = mat.zeros(2, 2, 3)
    for _, sample in pairs(S) do sample[1] = 1 end   -- the slices are views
    assert.are.equal(6, S:sum())
    for _ in pairs(mat.zeros(0)) do error("an empty mat has no entries") end
    assert.has_error(function() for _ in ipairs(mat.new{1, 2}) do end end,
      "mat.__index: bad argument #2 (index out of range: 3 not in [1, 2]; to iterate use pairs(A) or for i = 1, #A)")
    assert.has_error(function() return mat.new{1, 2}[4] end,
      "mat.__index: bad argument #2 (index out of range: 4 not in [1, 2])")
  end)

  it("get and set are 1-based and range-checked", function()
    assert.are.equal(6, A:get(2, 3))
    assert.are.equal(A, A:set(2, 3, -1))
    assert.are.equal(-1, A:get(2, 3))
    assert.has_error(function() A:get(3, 1) end,
      "mat.get: bad argument #2 (index out of range: 3 not in [1, 2])")
    assert.has_error(function() A:get(1, 0) end,
      "mat.get: bad argument #3 (index out of range: 0 not in [1, 3])")
    assert.has_error(function() A:get(1) end, "mat.get: 2 indices expected for a 2x3 mat, got 1")
    assert.has_error(function() A:get(1.5, 1) end,
      "mat.get: bad argument #2 (integer expected, got non-integral number 1.5)")
    assert.has_error(function() A:set(1, 1, "x") end,
      "mat.set: bad argument #4 (number expected, got string)")
    assert.has_error(function() mat.get({}, 1) end,
      "mat.get: bad argument #1 (mat expected, got table)")
  end)

  it("reshape (copy, one -1 inferred) and reshape_view", function()
    local B = A:reshape(3, 2)
    same({ { 1, 2 }, { 3, 4 }, { 5, 6 } }, B)
    B:set(1, 1, 100)
    assert.are.equal(1, A:get(1, 1))
    same({ 1, 2, 3, 4, 5, 6 }, A:reshape(-1))
    assert.are.same({ 1, 2, 3 }, { A:reshape(1, -1, 3):shape() })
    local V = A:reshape_view(6)
    V[1] = 100
    assert.are.equal(100, A:get(1, 1))
    assert.has_error(function() A:reshape(4, 2) end, "mat.reshape: cannot reshape 2x3 (6 elements) to 4x2")
    assert.has_error(function() A:reshape(4, -1) end,
      "mat.reshape: cannot infer a dimension: 6 elements of shape 2x3")
    assert.has_error(function() A:reshape(-2, 3) end,
      "mat.reshape: bad argument #2 (non-negative size (or one -1) expected, got -2)")
  end)

  it("t transposes rank 2 and swaps the last two axes of rank 3", function()
    same({ { 1, 4 }, { 2, 5 }, { 3, 6 } }, A:t())
    same({ { 1, 4 }, { 2, 5 }, { 3, 6 } }, A:transpose())
    local X = mat.new { { { 1, 2, 3 }, { 4, 5, 6 } }, { { 7, 8, 9 }, { 10, 11, 12 } } }
    same({ { { 1, 4 }, { 2, 5 }, { 3, 6 } }, { { 7, 10 }, { 8, 11 }, { 9, 12 } } }, X:t())
    assert.has_error(function() mat.new({ 1, 2 }):t() end,
      "mat.t: bad argument #1 (rank-2 or rank-3 mat expected, got shape 2)")
  end)

  it("clone is a deep copy and totable round-trips", function()
    local B = A:clone()
    B:set(1, 1, 0)
    assert.are.equal(1, A:get(1, 1))
    assert.are.equal(A, mat.new(A:totable()))
    same({ { { 1 } } }, mat.ones(1, 1, 1))
  end)

  it("concat joins along an axis", function()
    local B = mat.new { { 7, 8, 9 } }
    same({ { 1, 2, 3 }, { 4, 5, 6 }, { 7, 8, 9 } }, mat.concat { A, B })
    same({ { 1, 2, 3, 1, 2, 3 }, { 4, 5, 6, 4, 5, 6 } }, mat.concat({ A, A }, 2))
    same({ 1, 2, 3 }, mat.concat { mat.new { 1 }, mat.new { 2, 3 } })
    local X = mat.concat({ mat.ones(2, 2, 1), mat.zeros(2, 2, 2) }, 3)
    same({ { { 1, 0, 0 }, { 1, 0, 0 } }, { { 1, 0, 0 }, { 1, 0, 0 } } }, X)
    assert.has_error(function() mat.concat({ A, B }, 2) end,
      "mat.concat: shapes 2x3 and 1x3 do not conform along axis 2")
    assert.has_error(function() mat.concat {} end,
      "mat.concat: bad argument #1 (non-empty table of mats expected)")
    assert.has_error(function() mat.concat { A, 3 } end,
      "mat.concat: bad argument #1 (mat expected at [2], got number)")
  end)

  it("stack inserts a new axis", function()
    local u, v = mat.new { 1, 2 }, mat.new { 3, 4 }
    same({ { 1, 2 }, { 3, 4 } }, mat.stack { u, v })
    same({ { 1, 3 }, { 2, 4 } }, mat.stack({ u, v }, 2))
    local X = mat.stack { A, A * 2 }
    assert.are.same({ 2, 2, 3 }, { X:shape() })
    assert.are.equal(12, X:get(2, 2, 3))
    same({ { { 1, 2, 3 }, { 2, 4, 6 } }, { { 4, 5, 6 }, { 8, 10, 12 } } }, mat.stack({ A, A * 2 }, 2))
    assert.has_error(function() mat.stack { u, A } end, "mat.stack: shapes 2 and 2x3 differ")
    assert.has_error(function() mat.stack { X } end,
      "mat.stack: cannot stack mats of shape 2x2x3 (rank would exceed 3)")
    assert.has_error(function() mat.stack({ u }, 3) end,
      "mat.stack: bad argument #2 (axis in [1, 2] expected, got 3)")
  end)

  it("slice copies an index range along an axis", function()
    same({ { 2, 3 }, { 5, 6 } }, A:slice(2, 2, 3))
    same({ { 4, 5, 6 } }, A:slice(1, 2))
    assert.are.same({ 0, 3 }, { A:slice(1, 2, 1):shape() })
    local S = A:slice(2, 1, 1)
    S:set(1, 1, 50)
    assert.are.equal(1, A:get(1, 1))
    assert.has_error(function() A:slice(2, 2, 4) end,
      "mat.slice: bad argument #4 (index out of range: 4 not in [1, 3])")
    assert.has_error(function() A:slice(3, 1, 1) end,
      "mat.slice: bad argument #2 (axis in [1, 2] expected, got 3)")
  end)
end)

describe("mat views", function()
  it("A[i] of a rank-2 mat is a row view that writes through", function()
    local A = mat.new { { 1, 2, 3 }, { 4, 5, 6 } }
    local r = A[2]
    assert.are.same({ 3 }, { r:shape() })
    assert.is_true(r:is_view())
    assert.is_false(A:is_view())
    r[1] = 40
    r:add_(1)
    same({ { 1, 2, 3 }, { 41, 6, 7 } }, A)
    assert.are.equal(6, A[2][2])
    A[1] = mat.new { 7, 8, 9 }
    same({ 7, 8, 9 }, A[1])
    A[1] = 0
    same({ 0, 0, 0 }, A[1])
    assert.has_error(function() return A[3] end,
      "mat.__index: bad argument #2 (index out of range: 3 not in [1, 2]; to iterate use pairs(A) or for i = 1, #A)")
    assert.has_error(function() return A[0] end,
      "mat.__index: bad argument #2 (index out of range: 0 not in [1, 2])")
    assert.has_error(function() A[1] = mat.new { 1, 2 } end,
      "mat.__newindex: cannot assign a 2 mat to a slice of shape 3")
    assert.has_error(function() A.foo = 1 end,
      "mat.__newindex: bad argument #2 (integer index expected, got string)")
  end)

  it("X[i] of a rank-3 mat is a sample view; views pin their parent", function()
    local X = mat.zeros(3, 2, 2)
    local s = X[2]
    X = nil
    collectgarbage()
    collectgarbage()
    s:fill_(5)
    assert.are.same({ 2, 2 }, { s:shape() })
    assert.are.equal(20, s:sum())
    local Y = mat.zeros(3, 2, 2)
    Y:view(3):set(2, 2, 1)
    assert.are.equal(1, Y:get(3, 2, 2))
    assert.has_error(function() mat.new({ 1 }):view(1) end,
      "mat.view: bad argument #1 (rank-2 or rank-3 mat expected, got rank 1)")
  end)

  it("rows_view aliases a contiguous range of the first axis", function()
    local A = mat.new { { 1, 2 }, { 3, 4 }, { 5, 6 }, { 7, 8 } }
    local V = A:rows_view(2, 3)
    same({ { 3, 4 }, { 5, 6 } }, V)
    V:scale_(10)
    same({ { 1, 2 }, { 30, 40 }, { 50, 60 }, { 7, 8 } }, A)
    local v = mat.new { 1, 2, 3, 4 }:rows_view(2, 4)
    same({ 2, 3, 4 }, v)
    assert.are.same({ 0, 2 }, { A:rows_view(3, 2):shape() })
    assert.has_error(function() A:rows_view(0, 2) end,
      "mat.rows_view: bad argument #2 (index out of range: 0 not in [1, 4])")
    assert.has_error(function() A:rows_view(2, 5) end,
      "mat.rows_view: bad argument #3 (index out of range: 5 not in [1, 4])")
  end)

  it("methods not named view return fresh storage", function()
    local A = mat.new { { 1, 2 }, { 3, 4 } }
    for _, B in ipairs { A:clone(), A:reshape(4), A:t(), A:slice(1, 1, 1), A + 0 } do
      B:fill_(0)
    end
    same({ { 1, 2 }, { 3, 4 } }, A)
  end)
end)

describe("mat methods", function()
  it("are reachable by name and listed for tab completion", function()
    local A = mat.ones(2, 2)
    assert.are.equal(mat.sum, A.sum)
    assert.is_nil(A.nonexistent_method)
    local hardmax = require "hardmax"
    if hardmax.complete then
      _G.__mat_completion_probe = A
      local c = hardmax.complete "__mat_completion_probe:resh"
      _G.__mat_completion_probe = nil
      table.sort(c)
      assert.are.same({ "__mat_completion_probe:reshape", "__mat_completion_probe:reshape_view" }, c)
    end
  end)
end)

describe("mat <close>", function()
  it("marks the mat closed so further use raises", function()
    local keep
    do
      local A <close> = mat.ones(2, 2)
      keep = A
      assert.are.equal(4, A:sum())
    end
    assert.is_true(keep:is_closed())
    assert.has_error(function() keep:sum() end, "mat.sum: bad argument #1 (mat was closed)")
    assert.has_error(function() return keep + 1 end, "mat.add: bad argument #1 (mat was closed)")
    assert.has_error(function() return keep[1] end,
      "mat.__index: bad argument #1 (mat was closed)")
    assert.are.equal("[closed mat]", tostring(keep))
  end)

  it("a view closes independently of its parent", function()
    local A = mat.ones(2, 2)
    do
      local r <close> = A[1]
      r:fill_(3)
    end
    assert.are.equal(8, A:sum())
  end)
end)
