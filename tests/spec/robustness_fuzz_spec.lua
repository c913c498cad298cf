-- Every public function of the numeric modules, report, plot and exp, and every method of their objects, called with
-- hostile arguments (nil, NaN, Inf, huge integers, empty and mis-shaped arrays, wrong types):
-- the process must survive (a crash ends this spec; under the Asan build so does any memory
-- error) and every failure must be a Lua error that names its function ("module.fn: ..." or
-- "type:method: ..."). Deterministic: a fixed pseudo-random argument stream.
require "hardmax"
local mat = require "hardmax.mat"
local rng = require "hardmax.rng"
local data = require "hardmax.data"
local model = require "hardmax.model"
local optim = require "hardmax.optim"

local MODULES = {"mat", "rng", "data", "loss", "model", "optim", "svm", "json", "jsonc", "report", "plot", "exp"}
-- file writers are exercised by their own specs (they would litter the working directory)
local SKIP = {save = true, load = true, save_npz = true, load_npz = true, printoptions = true,
              -- these run experiments or write files (exp_spec / plot_spec cover their arguments)
              sweep = true, panels = true, cli = true, merge = true, verify = true, write_json = true,
              write_csv = true, print_summary = true}

describe("robustness under hostile arguments", function()
  it("never crashes and always names the failing function", function()
    local state = 12345
    local function rand(k)   -- LCG: the spec's own stream, independent of hardmax.rng
      state = (state * 1103515245 + 12345) % 2147483648
      return state % k + 1
    end
    local nanm = mat.new{1, 0 / 0}
    -- the one string argument doubles as a file name (mat:save, ds:save, ...): a path in a
    -- temporary folder, so a fuzzed call that writes a file never writes into the source tree
    local junkdir = os.tmpname(); os.remove(junkdir)
    require("hardmax.sys").mkdir_p(junkdir)
    local junk = junkdir .. "/x"
    local values = {
      function() return nil end, function() return 0 end, function() return -1 end,
      function() return 1.5 end, function() return 0 / 0 end, function() return math.huge end,
      function() return 2 ^ 62 end, function() return math.mininteger end, function() return junk end,
      function() return {} end, function() return {1, 2, 3} end, function() return {{1, 2}, {3}} end,
      function() return {a = 1} end, function() return true end, function() return mat.zeros(0) end,
      function() return mat.new{1, 2} end, function() return mat.new{{1, 2}, {3, 4}} end,
      function() return mat.zeros(2, 2, 2) end, function() return nanm end,
      function() return rng.new(1) end, function() return data.grand(2, 3, 2, {seed = 1}) end,
      function() return model.attention{v = {1, 0}} end, function() return print end,
      function() return {lr = -1} end, function() return {iters = 3} end, function() return {1, 0 / 0} end,
    }
    local function args(k)
      local a = {}
      for i = 1, k do a[i] = values[rand(#values)]() end
      return a
    end
    local objects = {
      function() return mat.new{{1, 2}, {3, 4}} end, function() return mat.zeros(2, 3, 2) end,
      function() return rng.new(3) end, function() return data.grand(2, 3, 2, {seed = 1}) end,
      function() return model.attention{v = {1, 0}} end, function() return optim.ngd{lr = 0.1, eps = 0} end,
      function() return model.ntp{d = 2} end, function() return model.ntp_soft{V = 2, d = 2} end,
    }
    local calls, unnamed = 0, {}
    local function try(name, f, ...)
      calls = calls + 1
      local ok, e = pcall(f, ...)
      e = tostring(e)
      if not ok and not e:match("^[%w_.]+[.:][%w_]+: ") then
        unnamed[#unnamed + 1] = name .. ": " .. e
      end
    end
    for _ = 1, 4 do
      for _, mod in ipairs(MODULES) do
        local M = require("hardmax." .. mod)
        local names = {}
        for k, f in pairs(M) do if type(f) == "function" and not SKIP[k] then names[#names + 1] = k end end
        table.sort(names)
        for _, k in ipairs(names) do
          for n = 0, 4 do try(mod .. "." .. k, M[k], table.unpack(args(n), 1, n)) end
        end
      end
      for _, make in ipairs(objects) do
        local mt = getmetatable(make())
        local methods = mt.__methods or (type(mt.__index) == "table" and mt.__index) or {}
        local names = {}
        for k, f in pairs(methods) do
          if type(f) == "function" and not k:match("^__") and not SKIP[k] and k ~= "close" then names[#names + 1] = k end
        end
        table.sort(names)
        for _, k in ipairs(names) do
          for n = 0, 3 do try(mt.__name .. ":" .. k, methods[k], make(), table.unpack(args(n), 1, n)) end
        end
      end
    end
    os.execute("rm -rf '" .. junkdir .. "'")
    assert.is_true(calls > 4000, "calls made: " .. calls)
    assert.are.same({}, unnamed)
  end)
end)
