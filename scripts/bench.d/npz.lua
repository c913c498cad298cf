-- .npy / .npz save and load of an 8 MB array (1e6 doubles), wall time via sys.clock
-- (saves include fsync). Run as: build/hardmax scripts/bench.d/npz.lua [N]
local mat = require "hardmax.mat"
local rng = require "hardmax.rng"
local sys = require "hardmax.sys"
local N = tonumber((...)) or 1000000
local tmp = os.tmpname()
os.remove(tmp)

local g = rng.new(1)
local R = mat.randn(g, N)                 -- incompressible doubles
local S = mat.zeros(N)                     -- sparse-ish: 1 in 100 nonzero, very compressible
for i = 1, N, 100 do S[i] = i end

local function timed(label, reps, f)
  f() -- warm-up
  local t0 = sys.clock()
  for _ = 1, reps do f() end
  local dt = (sys.clock() - t0) / reps
  print(("%-40s %8.2f ms  %7.0f MB/s"):format(label, dt * 1e3, N * 8 / 1e6 / dt))
end

local function size(p)
  local f = assert(io.open(p, "rb"))
  local n = f:seek "end"
  f:close()
  return n
end

print(("npz benchmarks (%d doubles, %.1f MB)"):format(N, N * 8 / 1e6))
for _, case in ipairs { { "randn", R }, { "sparse", S } } do
  local name, A = case[1], case[2]
  timed(name .. ": save_npy", 5, function() mat.save_npy(tmp .. ".npy", A) end)
  timed(name .. ": load_npy", 5, function() return mat.load_npy(tmp .. ".npy") end)
  timed(name .. ": save_npz stored", 5, function() mat.save_npz(tmp .. ".npz", { A = A }) end)
  timed(name .. ": load_npz stored", 5, function() return mat.load_npz(tmp .. ".npz") end)
  timed(name .. ": save_npz compress", 3, function()
    mat.save_npz(tmp .. "z.npz", { A = A }, { compress = true })
  end)
  timed(name .. ": load_npz compressed", 5, function() return mat.load_npz(tmp .. "z.npz") end)
  print(("%-40s %8.1f %%"):format(name .. ": compressed / stored size",
    100 * size(tmp .. "z.npz") / size(tmp .. ".npz")))
end
os.remove(tmp .. ".npy")
os.remove(tmp .. ".npz")
os.remove(tmp .. "z.npz")
