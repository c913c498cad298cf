-- data: datasets in .npz archives (ds:save("x.npz"), data.load("x.npz")). The fixture
-- tests/data/npz/data.npz was written by Python's zipfile (tests/data/npz/make_fixtures.py).
require "hardmax"
local mat = require "hardmax.mat"
local data = require "hardmax.data"

local SRC = os.getenv "HARDMAX_SRC" or "."

local function tt(A) return A and A:totable() end

local function tmp()
  local p = os.tmpname()
  os.remove(p)
  return p .. ".npz"
end

describe("data .npz archives", function()
  it("data.load reads an archive written by another program", function()
    local ds = data.load(SRC .. "/tests/data/npz/data.npz")
    assert.are.equal(2, ds.n)
    assert.are.equal(2, ds.T)
    assert.are.equal(3, ds.d)
    assert.are.same({ { { 1, 0, 0 }, { 0, 1, 0 } }, { { 0.5, 0.5, 0 }, { -1, 2, 0.25 } } },
      tt(ds.X))
    assert.are.same({ 1, -1 }, tt(ds.Y)) -- '<i8' labels
    assert.are.same({ 0, 0, 1 }, tt(ds.v))
    assert.is_nil(ds.Z)
    assert.is_nil(ds.V)
  end)

  it("ds:save(path.npz) and data.load round-trip every field, stored or deflated", function()
    local ds = data.relu_mode(3, 4, 2, { seed = 9 })
    for _, opts in ipairs { {}, { compress = true } } do
      local p = tmp()
      assert.are.equal(ds, ds:save(p, opts))
      local t = mat.load_npz(p)
      local names = {}
      for k in pairs(t) do names[#names + 1] = k end
      table.sort(names)
      assert.are.same({ "V", "X", "Y", "Z", "v" }, names)
      local back = data.load(p)
      os.remove(p)
      for _, f in ipairs { "X", "Y", "Z", "v", "V" } do
        assert.are.same(tt(ds[f]), tt(back[f]))
      end
    end
  end)

  it("keeps sequence labels and leaves absent fields out of the archive", function()
    local sq = data.new { X = { { { 1 }, { 2 } } }, Y = { { 1, -1 } } }
    local p = tmp()
    sq:save(p)
    local t = mat.load_npz(p)
    assert.is_nil(t.Z)
    assert.is_nil(t.v)
    local back = data.load(p)
    os.remove(p)
    assert.is_true(back.sequence)
    assert.are.same({ { 1, -1 } }, tt(back.Y))
    assert.is_nil(back.Z)
  end)

  it("reports missing members, bad archives and misplaced options", function()
    local p = tmp()
    mat.save_npz(p, { X = mat.zeros(1, 2, 2) })
    local ok, err = pcall(data.load, p)
    assert.is_false(ok)
    assert.are.equal("data.load: '" .. p .. "': the archive has no member 'Y.npy'", err)
    -- labels are validated as for data.new
    mat.save_npz(p, { X = mat.zeros(1, 2, 2), Y = mat.new { 0.5 } })
    assert.has_error(function() data.load(p) end)
    os.remove(p)
    -- one flipped bit in the data of X (the first member: 30-byte local header, "X.npy",
    -- 128-byte .npy header) is caught by the CRC
    local ds = data.new { X = { { { 1 } } }, Y = { 1 } }
    ds:save(p)
    local f = assert(io.open(p, "rb"))
    local s = f:read "a"
    f:close()
    assert.are.equal("X.npy", s:sub(31, 35))
    f = assert(io.open(p, "wb"))
    f:write(s:sub(1, 163) .. string.char(s:byte(164) ~ 1) .. s:sub(165))
    f:close()
    ok, err = pcall(data.load, p)
    os.remove(p)
    assert.is_false(ok)
    assert.truthy(err:find("^data%.load: '.*%.npz': member 'X%.npy': CRC%-32 mismatch"), err)
    assert.has_error(function() ds:save(os.tmpname() .. "-dir", { compress = true }) end)
    ok, err = pcall(ds.save, ds, "/nonexistent-dir/d.npz")
    assert.is_false(ok)
    assert.truthy(err:find("^data%.save: cannot create a temporary file"), err)
    assert.has_error(function() ds:save(p, { compress = "yes" }) end,
      "data.save: option 'compress': boolean expected, got string")
  end)
end)
