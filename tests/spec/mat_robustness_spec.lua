-- mat: every function, called with every combination of awkward arguments, either
-- returns or raises a string error "mat.<function>: ..." (never crashes, never a raw
-- Lua error from inside the binding).
require "hardmax"
local mat = require "hardmax.mat"
local rng = require "hardmax.rng"

describe("mat robustness", function()
  it("survives awkward arguments to every function", function()
    local function values()
      local closed = mat.ones(2)
      do local c <close> = closed end
      return {
        nil, 0, -1, 1.5, 2, 3, math.huge, 0 / 0, 1 << 62, "x", "fro", {}, { 1, 2 }, { { 1 } },
        { full = true }, true, rng.new(1), closed,
        mat.zeros(0), mat.zeros(0, 3), mat.zeros(3, 0), mat.ones(1), mat.ones(3),
        mat.new { { 1, 2 }, { 3, 4 } }, mat.new { { 1, 0 / 0 }, { 3, 4 } }, mat.ones(2, 3),
        mat.ones(2, 2, 2), mat.ones(2, 3, 2), mat.ones(2, 2)[1],
      }
    end
    local vals = values()
    local nv = 29
    local names = {}
    for k, f in pairs(mat) do
      if type(f) == "function" and k ~= "save_npy" and k ~= "load_npy" and k ~= "save_npz" and k ~= "printoptions" then
        names[#names + 1] = k
      end
    end
    table.sort(names)
    local calls, errors = 0, 0
    for _, name in ipairs(names) do
      local f = mat[name]
      for i = 1, nv do
        for j = 1, nv do
          local ok, err = pcall(f, vals[i], vals[j])
          calls = calls + 1
          if not ok then
            errors = errors + 1
            assert(type(err) == "string" and (err:match "^mat%.[%w_]+: " or err == "not enough memory"),
              ("mat.%s(#%d, #%d) raised %s"):format(name, i, j, tostring(err)))
          end
        end
        -- three arguments: a mat first, then pairs of scalars
        for j = 1, 12 do
          local ok, err = pcall(f, vals[24], vals[j], vals[(j % 12) + 1])
          calls = calls + 1
          if not ok then
            assert(type(err) == "string" and err:match "^mat%.[%w_]+: ",
              ("mat.%s(A, #%d, #%d) raised %s"):format(name, j, (j % 12) + 1, tostring(err)))
          end
        end
      end
    end
    assert.is_true(calls > 10000 and errors > 0)
  end)

  it("metamethods reject non-mat operands with mat errors", function()
    local A = mat.ones(2, 2)
    for _, v in ipairs { "x", {}, true, rng.new(1) } do
      for _, f in ipairs {
        function() return A + v end, function() return v - A end, function() return A * v end,
        function() return v / A end,
      } do
        local ok, err = pcall(f)
        assert.is_false(ok)
        assert.truthy(err:match "^mat%.[%w_]+: ", err)
      end
    end
  end)
end)
