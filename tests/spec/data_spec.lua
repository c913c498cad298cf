-- hardmax.data: constructors, generators (draw order), examples, scores, optimal tokens,
-- subsets, .npy save/load, errors.
require "hardmax"
local data = require "hardmax.data"
local model = require "hardmax.model"
local rng = require "hardmax.rng"

local function tt(a) return a:totable() end
local function close(a, b, tol)
  tol = tol or 1e-14
  assert.is_true(math.abs(a - b) <= tol * math.max(1, math.abs(b)), string.format("%.17g vs %.17g", a, b))
end
local function norm(x) local s = 0 for _, a in ipairs(x) do s = s + a * a end return math.sqrt(s) end

describe("data", function()
  it("new: validated construction and read-only copies", function()
    local ds = data.new { X = { { { 1, 0 }, { 0, 1 } } }, Y = { -1 }, Z = { { 0.5, 0.5 } }, v = { 1, 2 } }
    assert.are.equal(1, ds.n)
    assert.are.equal(2, ds.T)
    assert.are.equal(2, ds.d)
    assert.are.same({ { { 1, 0 }, { 0, 1 } } }, tt(ds.X))
    assert.are.same({ -1 }, tt(ds.Y))
    assert.are.same({ { 0.5, 0.5 } }, tt(ds.Z))
    assert.are.same({ 1, 2 }, tt(ds.v))
    assert.is_nil(ds.V)
    assert.is_false(ds.sequence)
    assert.has_error(function() ds.X = 1 end)
    local seq = data.new { X = { { { 1 }, { 2 } } }, Y = { { 1, -1 } } }
    assert.is_true(seq.sequence)
    assert.is_nil(seq.Z)
  end)

  it("new: errors name the problem", function()
    local X = { { { 1, 0 }, { 0, 1 } } }
    assert.has_error(function() data.new { X = X, Y = { 0.5 } } end,
      "data.new: labels Y must be +1 or -1, got 0.5 at element 1")
    assert.has_error(function() data.new { X = X, Y = { 1, 1 } } end)
    assert.has_error(function() data.new { X = { { { 0 / 0, 0 }, { 0, 1 } } }, Y = { 1 } } end,
      "data.new: X contains NaN or Inf (element 1)")
    assert.has_error(function() data.new { X = X, Y = { 1 }, Z = { { 1, 2, 3 } } } end,
      "data.new: Z must be n x d = 1x2, got shape 1x3")
    assert.has_error(function() data.new { X = X } end, "data.new: option 'Y' is required")
    assert.has_error(function() data.new { X = X, Y = { 1 }, W = 1 } end)
    assert.has_error(function() data.new { X = { { 1, 2 } }, Y = { 1 } } end,
      "data.new: X must be n x T x d (rank 3), got shape 1x2")
    assert.has_error(function() data.new { X = { { { 1, 2 }, { 3 } } }, Y = { 1 } } end)
  end)

  it("grand: documented draw order, unit tokens, reproducible", function()
    local a = data.grand(3, 4, 5, { seed = 11 })
    local b = data.grand(3, 4, 5, { rng = rng.new(11) })
    assert.are.same(tt(a.X), tt(b.X))
    assert.are.same(tt(a.Y), tt(b.Y))
    assert.are.equal(11, a.seed)
    close(norm(tt(a.v)), 1)
    for _, sample in ipairs(tt(a.X)) do for _, tok in ipairs(sample) do close(norm(tok), 1) end end
    for _, z in ipairs(tt(a.Z)) do close(norm(z), 1) end
    for _, y in ipairs(tt(a.Y)) do assert.is_true(y == 1 or y == -1) end
    -- G-md draws the same stream (normalization after drawing is the same distribution)
    assert.are.same(tt(a.X), tt(data.gmd(3, 4, 5, { seed = 11 }).X))
    local c = data.grand(3, 4, 5, { seed = 12 })
    assert.are_not.same(tt(a.X), tt(c.X))
    assert.has_error(function() data.grand(0, 4, 5) end, "data.grand: bad argument #1 (n >= 1 expected, got 0)")
    assert.has_error(function() data.grand(3, 4, 5, { seed = 1, rng = rng.new(1) }) end)
    assert.has_error(function() data.grand(3, 4, 5, { sed = 1 }) end)
  end)

  it("a dataset the allocator refuses is a named Lua error", function()
    local asan = os.getenv "ASAN_OPTIONS"   -- AddressSanitizer aborts unless allowed to return NULL
    if not asan or asan:match "allocator_may_return_null=1" then
      local ok, err = pcall(data.grand, 1000000, 1000000, 1000000, {seed = 1})
      assert.is_false(ok)
      assert.are.equal("data.grand: not enough memory for 8 EB", err)
    end
  end)

  it("relu_mode: V with unit Frobenius norm, head all ones, not all labels +1", function()
    for s = 1, 5 do
      local ds = data.relu_mode(3, 4, 4, { seed = s })
      local V = tt(ds.V)
      local f = 0
      for i = 1, 4 do for j = 1, 4 do f = f + V[i][j] ^ 2 end end
      close(f, 1)
      assert.are.same({ 1, 1, 1, 1 }, tt(ds.v))
      local neg = false
      for _, y in ipairs(tt(ds.Y)) do neg = neg or y == -1 end
      assert.is_true(neg)
    end
  end)

  it("fr_joint: the first token carries the label along e_1", function()
    local ds = data.fr_joint(64, 5, 16, { seed = 3 })
    local X, Y = tt(ds.X), tt(ds.Y)
    local agree = 0
    for i = 1, 64 do if (X[i][1][1] > 0) == (Y[i] > 0) then agree = agree + 1 end end
    assert.is_true(agree >= 60) -- |noise| ~ N(0, 1/16) vs the +-1 shift
    local sc = ds:scores()
    local opt = ds:optimal()
    local first = 0
    for i = 1, 64 do if opt[i] == 1 then first = first + 1 end end
    assert.is_true(first >= 60)
    assert.are.equal(64, #tt(sc))
  end)

  it("hand-made examples", function()
    local a, info = data.example("mm_f1a")
    assert.are.same({ { { -0.1, 1, 1 }, { 1, 0, 0.9 }, { 0, 0, 0.9 } } }, tt(a.X))
    assert.are.same({ { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 0 } }, tt(info.W))
    local b = data.example("mm_f1b")
    assert.are.same({ 0, 0, 0 }, tt(b.X)[1][3])
    local sc = tt(a:scores())
    close(sc[1][1], 1); close(sc[1][2], 0.9); close(sc[1][3], 0.9)
    local opt, ties = a:optimal()
    assert.are.same({ 1 }, opt)
    assert.are.same({}, ties)
    local c = data.example("mm_f1c", { seed = 0 })
    local X = tt(c.X)
    for i = 1, 3 do
      assert.are.equal(1, X[i][1][3])
      for t = 2, 7 do assert.are.equal(0.5, X[i][t][3]) end
    end
    assert.are.same({ 1, 1, 1 }, c:optimal())
    local t3, i3 = data.example("mm_f3_tight")
    assert.are.same({ 0.5, 1 }, tt(t3.X)[3][2])
    assert.are.same({ 0, -1 }, tt(i3.p0))
    assert.are.same({ 0.5, 1.5 }, tt(data.example("mm_f3_nontight").X)[3][2])
    local f4 = data.example("mm_f4", { C = 7 })
    assert.are.same({ 1, 1, 7 }, tt(f4.X)[1][2])
    local s1 = data.example("svm_f1a", { seed = 1 })
    assert.are.equal(3, s1.T)
    assert.are.same({ 1, 1 }, tt(s1.Y))
    local s2 = data.example("svm_f1b", { rng = rng.new(3) })
    assert.are.same({ 1, 0.5 }, tt(s2.X)[1][1])
    assert.are.same({ 1, -0.5 }, tt(s2.X)[2][1])
    local md, mi = data.example("md_f3")
    assert.are.equal(1, mi.query)
    assert.are.same({ 1, -1 }, tt(md.Y))
    assert.has_error(function() data.example("nope") end)
    assert.has_error(function() data.example("mm_f4", { D = 1 }) end)
  end)

  it("scores with a model head, optimal tokens with ties reported", function()
    local ds = data.new { X = { { { 1, 0 }, { 0, 1 } }, { { 2, 0 }, { 0, 2 } } }, Y = { 1, -1 } }
    local opt, ties = ds:optimal({ 1, 1 })
    assert.are.same({ 1, 1 }, opt)
    assert.are.same({ 1, 2 }, ties)
    opt, ties = ds:optimal({ 1, 2 })
    assert.are.same({ 2, 1 }, opt)
    assert.are.same({}, ties)
    local m = model.attention { d = 2, head = "relu", V = { { 1, -1 }, { -1, 1 } } }
    -- relu head 1^T ReLU(V^T x): x=(1,0) -> ReLU(1,-1) -> 1
    local g = tt(ds:scores(m))
    assert.are.same({ { 1, 1 }, { -2, -2 } }, g)
    local ml = model.attention { d = 2, v = { 1, 2 }, head = "lambda", lambda = 0.5 }
    g = tt(ds:scores(ml))
    close(g[1][1], 1 - 0.5); close(g[2][2], -(4 - 2))
    assert.has_error(function() ds:scores() end)
    assert.has_error(function() ds:scores({ 1, 2, 3 }) end)
  end)

  it("sequence labels: scores n x T x T and per-position optimal tokens (full / causal)", function()
    -- tokens with head values v.x = (1, 3, 2); labels per query position
    local sq = data.new { X = { { { 1, 0 }, { 3, 0 }, { 2, 0 } } }, Y = { { 1, -1, 1 } }, v = { 1, 0 } }
    local g = tt(sq:scores())
    assert.are.same({ { { 1, 3, 2 }, { -1, -3, -2 }, { 1, 3, 2 } } }, g)
    local opt, ties = sq:optimal()
    assert.are.same({ { 2, 1, 2 } }, opt)
    assert.are.same({}, ties)
    opt = sq:optimal(nil, { mask = "causal" })
    assert.are.same({ { 1, 1, 2 } }, opt)
    local tie = data.new { X = { { { 1, 0 }, { 1, 0 } } }, Y = { { 1, 1 } }, v = { 1, 0 } }
    opt, ties = tie:optimal(nil, { mask = "causal" })
    assert.are.same({ { 1, 1 } }, opt)
    assert.are.same({ { 1, 2 } }, ties) -- sample 1, position 2 (position 1 has one token)
    assert.has_error(function() sq:optimal(nil, { mask = "diag" }) end,
      "data.optimal: option 'mask': expected full or causal, got 'diag'")
    assert.has_error(function() data.grand(2, 2, 2):optimal(nil, { mask = "causal" }) end,
      "data.optimal: option 'mask' needs sequence labels (Y n x T)")
  end)

  it("subset copies the chosen samples", function()
    local ds = data.grand(5, 3, 2, { seed = 4 })
    local s = ds:subset({ 4, 2 })
    assert.are.equal(2, s.n)
    assert.are.same(tt(ds.X)[4], tt(s.X)[1])
    assert.are.same(tt(ds.Z)[2], tt(s.Z)[2])
    assert.are.same({ tt(ds.Y)[4], tt(ds.Y)[2] }, tt(s.Y))
    assert.are.same(tt(ds.v), tt(s.v))
    assert.has_error(function() ds:subset({ 6 }) end)
    assert.has_error(function() ds:subset({}) end)
    assert.has_error(function() ds:subset("x") end,
      "data.subset: bad argument #2 (array of sample indices expected, got string)")
  end)

  it("save/load round trip through a directory of .npy files", function()
    local dir = os.tmpname()
    os.remove(dir)
    local ds = data.relu_mode(3, 4, 2, { seed = 9 })
    ds:save(dir)
    local f = assert(io.open(dir .. "/X.npy", "rb"))
    local head = f:read(10)
    f:close()
    assert.are.equal("\147NUMPY\1\0", head:sub(1, 8))
    local back = data.load(dir)
    assert.are.same(tt(ds.X), tt(back.X))
    assert.are.same(tt(ds.Y), tt(back.Y))
    assert.are.same(tt(ds.Z), tt(back.Z))
    assert.are.same(tt(ds.V), tt(back.V))
    assert.are.same(tt(ds.v), tt(back.v))
    -- sequence labels and a dataset without Z
    local sq = data.new { X = { { { 1 }, { 2 } } }, Y = { { 1, -1 } } }
    sq:save(dir)
    local b2 = data.load(dir)
    assert.is_nil(b2.Z)
    assert.are.same({ { 1, -1 } }, tt(b2.Y))
    for _, n in ipairs { "X", "Y" } do os.remove(dir .. "/" .. n .. ".npy") end
    os.remove(dir)
    assert.has_error(function() data.load(dir) end)
  end)
end)
