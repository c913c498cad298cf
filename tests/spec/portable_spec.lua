-- Portable numerics: the host pins the BLAS kernel and glibc's libm variant (docs/host.md,
-- "Portable numerics"), so the same computation gives the same bits whatever kernel the CPU
-- would pick; --native / HARDMAX_MODE=native keep the CPU's own; hardmax.so does the same on
-- HARDMAX_MODE=portable; manifests and result files record the numerics; verify compares bit
-- for bit only when they match. Spawns $HARDMAX and lua5.4, so it runs once per entry point
-- but tests executables.
local hm = require "hardmax"

local H = os.getenv("HARDMAX")
local SRC = os.getenv("HARDMAX_SRC")

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- run a shell command line with a clean numerics environment plus `env`; stdout, stderr, code
local function sh(env, cmd)
  local err = os.tmpname()
  local p = io.popen(string.format("env -u OPENBLAS_CORETYPE -u GLIBC_TUNABLES -u HARDMAX_PINNED -u HARDMAX_MODE %s %s 2>%s",
    env or "", cmd, err))
  local out = p:read("a")
  local _, _, code = p:close()
  local f = io.open(err, "rb"); local e = f:read("a"); f:close(); os.remove(err)
  return out, e, code
end

-- A fingerprint of BLAS (gemm, gemv, a LAPACK solve) and libm (the rng's log/cos/sin, exp,
-- log1p, tanh) results: hex floats of sums, which change with any last-bit difference.
local FINGERPRINT = [[
local hm = hardmax or require "hardmax"
local mat, rng = hm.mat, hm.rng
local g = rng.new(11)
local A = g:randn(120, 90)
local C = A * A:t()
local x = g:randn(90)
local S = C + mat.eye(120) * 0.5
local out = {(C):sum(), (A * x):sum(), mat.solve(S, g:randn(120)):sum(), A:exp():sum(), A:tanh():sum(),
             (A * 0.37):exp():log():sum(), A:abs():sqrt():sum()}
for i, v in ipairs(out) do out[i] = string.format("%a", v) end
local c = hm.config()
print(c.mode .. " " .. c.openblas_core .. " " .. c.libm .. " " .. table.concat(out, " "))
]]

local fp_file = os.tmpname()
do
  local f = assert(io.open(fp_file, "wb")); f:write(FINGERPRINT); f:close()
end

local function fields(line)
  local t = {}
  for w in line:gmatch("%S+") do t[#t + 1] = w end
  return t
end

local KERNELS = {"Prescott", "Sandybridge", "Haswell", "SkylakeX", "Zen"}
local MASK = "GLIBC_TUNABLES=" .. hm.config().generic_libm_tunables

-- kernels this CPU can run: OpenBLAS falls back (prints "Core not found"? no: it picks the
-- detected core) when it cannot force one; keep only those it reports as forced
local function runnable(k)
  local out = sh("HARDMAX_MODE=native OPENBLAS_CORETYPE=" .. k, q(H) .. " -e " .. q("print(hardmax and hardmax.config().openblas_core or require'hardmax'.config().openblas_core)"))
  return out:match("^(%S+)") == k
end

describe("portable numerics", function()
  it("hardmax.config() reports the numerics that run: mode, BLAS core, libm variant, glibc", function()
    local c = hm.config()
    assert.is_true(c.mode == "portable" or c.mode == "native")
    assert.is_true(c.libm == "generic" or c.libm == "fma")
    assert.is_truthy(tostring(c.glibc):match("^%d+%.%d+"))
    assert.are.equal("glibc.cpu.hwcaps=-AVX2,-FMA,-FMA4", c.generic_libm_tunables)
    -- portable means exactly: pinned kernel and generic libm
    assert.are.equal(c.openblas_core == "Prescott" and c.libm == "generic", c.mode == "portable")
  end)

  it("the host is portable by default, whatever OPENBLAS_CORETYPE says; --native keeps the CPU's kernel", function()
    local out = sh("OPENBLAS_CORETYPE=Haswell", q(H) .. " " .. q(fp_file))
    local f = fields(out)
    assert.are.same({"portable", "Prescott", "generic"}, {f[1], f[2], f[3]})
    if runnable("Haswell") then
      out = sh("OPENBLAS_CORETYPE=Haswell", q(H) .. " --native " .. q(fp_file))
      assert.are.same({"native", "Haswell"}, {fields(out)[1], fields(out)[2]})
      out = sh("OPENBLAS_CORETYPE=Haswell HARDMAX_MODE=native", q(H) .. " " .. q(fp_file))
      assert.are.equal("native", fields(out)[1])
    end
    -- a bad HARDMAX_MODE is named and falls back to portable
    local o2, e2 = sh("HARDMAX_MODE=fast", q(H) .. " -e " .. q("print(hardmax.config().mode)"))
    assert.are.equal("portable\n", o2)
    assert.is_truthy(e2:find("HARDMAX_MODE: 'portable' or 'native' expected", 1, true))
  end)

  it("portable results are bit-identical under every kernel and libm the CPU offers; native ones are the CPU's", function()
    local ref
    local natives = {}
    for _, k in ipairs(KERNELS) do
      for _, mask in ipairs{"", MASK} do
        local env = "OPENBLAS_CORETYPE=" .. k .. " " .. mask
        local out, err, code = sh(env, q(H) .. " " .. q(fp_file))
        assert.is_true(code == 0, err)
        local f = fields(out)
        assert.are.equal("portable", f[1])
        local digits = table.concat(f, " ", 4)
        ref = ref or digits
        assert.are.equal(ref, digits, env)
        if runnable(k) then
          local n = fields(sh(env .. " HARDMAX_MODE=native", q(H) .. " " .. q(fp_file)))
          natives[#natives + 1] = {env = env, core = n[2], libm = n[3], digits = table.concat(n, " ", 4)}
        end
      end
    end
    -- native runs with the generic libm and the Prescott kernel are the portable numbers
    -- (the pinning is nothing but these two choices), and the FMA libm changes them: this is
    -- what makes the test able to fail
    for _, n in ipairs(natives) do
      if n.core == "Prescott" and n.libm == "generic" then assert.are.equal(ref, n.digits, n.env) end
      if n.libm == "fma" then assert.are_not.equal(ref, n.digits, n.env) end
    end
  end)

  it("hardmax.so under stock lua5.4: HARDMAX_MODE=portable re-executes the interpreter pinned", function()
    local cpath = dofile((os.getenv("HARDMAX_SRC") or ".") .. "/tests/spec/file_helpers.lua").lua54_preload() .. "LUA_CPATH=" .. q(os.getenv("LUA_CPATH") or "")
    local host = table.concat(fields(sh("OPENBLAS_CORETYPE=Sandybridge", q(H) .. " " .. q(fp_file))), " ", 4)
    local out, err, code = sh(cpath .. " HARDMAX_MODE=portable OPENBLAS_CORETYPE=Haswell", "lua5.4 " .. q(fp_file))
    assert.is_true(code == 0, err)
    local f = fields(out)
    assert.are.equal("portable", f[1])
    assert.are.equal(host, table.concat(f, " ", 4))
    -- without the request stock Lua is left alone
    out = sh(cpath .. " OPENBLAS_CORETYPE=Haswell", "lua5.4 " .. q(fp_file))
    if runnable("Haswell") then assert.are.equal("Haswell", fields(out)[2]) end
    local _, e2, c2 = sh(cpath .. " HARDMAX_MODE=turbo", "lua5.4 -e " .. q("require 'hardmax'"))
    assert.are_not.equal(0, c2)
    assert.is_truthy(e2:find("HARDMAX_MODE: 'portable' or 'native' expected", 1, true))
  end)

  it("sweep manifests and result files record the numerics; verify says how it compares", function()
    local dir = os.tmpname(); os.remove(dir)
    local script = dir .. ".lua"
    local f = assert(io.open(script, "wb"))
    f:write([[
local report = require "hardmax.report"
local o = exp.args(arg, {runs = 3, seed = 1, out = "]] .. dir .. [["})
local res = report.sweep(o, function(_, _, g) local A = g:randn(30, 30) return {s = (A * A:t()):exp():sum()} end)
local R = report.new("T")
R:check("ran", #res == 3)
local fig = plot.figure{}
fig:line({1, 2}, {1, 2})
R:finish{figure = o.out .. "/t.png", s = res[1].metrics.s}
]])
    f:close()
    local out, err, code = sh("OPENBLAS_CORETYPE=Haswell", q(H) .. " " .. q(script))
    assert.is_true(code == 0, err)
    local json = require "hardmax.json"
    local function readj(p) local h = assert(io.open(p, "rb")); local s = h:read("a"); h:close(); return json.decode(s) end
    local m = readj(dir .. "/sweep/manifest.json")
    assert.are.same({mode = "portable", blas_core = "Prescott", libm = "generic"},
                    {mode = m.numerics.mode, blas_core = m.numerics.blas_core, libm = m.numerics.libm})
    local r = readj(dir .. "/result.json")
    assert.are.equal("portable", r.numerics.mode)
    assert.is_nil(r.cpu_seconds)
    assert.are.equal("t.png", r.figure)
    -- verify on the same numerics: bit for bit
    out, err = sh("OPENBLAS_CORETYPE=Sandybridge", q(H) .. " verify " .. q(dir .. "/sweep"))
    assert.is_truthy(out:find("same numerics (portable, BLAS core Prescott, generic libm, 1 thread): comparing bit for bit", 1, true), out .. err)
    assert.is_truthy(out:find("-> OK", 1, true), out .. err)
    -- a result recorded elsewhere in native mode: re-run natively here, compared with a tolerance
    local mpath = dir .. "/sweep/manifest.json"
    local h = assert(io.open(mpath, "rb")); local txt = h:read("a"); h:close()
    txt = txt:gsub('"mode": "portable"', '"mode": "native"'):gsub('"blas_core": "Prescott"', '"blas_core": "Excavator"')
    h = assert(io.open(mpath, "wb")); h:write(txt); h:close()
    out, err = sh("", q(H) .. " verify " .. q(dir .. "/sweep"))
    assert.is_truthy(out:find("numerics differ (blas_core Excavator recorded, ", 1, true), out .. err)
    assert.is_truthy(out:find("comparing with rtol=1e-05", 1, true), out .. err)
    assert.is_truthy(out:find("verify: largest relative difference ", 1, true) or out:find("0 differ", 1, true), out .. err)
    assert.is_truthy(out:find("-> OK", 1, true), out .. err)
    -- a native result made under a kernel this CPU runs is re-run under that kernel: bit for bit
    if runnable("Sandybridge") then
      os.execute("rm -rf " .. q(dir))
      out, err, code = sh("HARDMAX_MODE=native OPENBLAS_CORETYPE=Sandybridge", q(H) .. " " .. q(script))
      assert.is_true(code == 0, err)
      out, err = sh("", q(H) .. " verify " .. q(dir .. "/sweep"))
      assert.is_truthy(out:find("same numerics (native, BLAS core Sandybridge, ", 1, true), out .. err)
      assert.is_truthy(out:find("bit-for-bit, 0 differ", 1, true), out .. err)
    end
    os.execute("rm -rf " .. q(dir) .. " " .. q(script))
  end)

  it("cpu_runs_core names the kernels this CPU can run", function()
    assert.is_true(hm.cpu_runs_core("Prescott"))       -- SSE3: every x86-64 CPU hardmax supports
    assert.is_false(hm.cpu_runs_core("NoSuchKernel"))
    -- consistent with what OpenBLAS reports when forced (checked where it runs the kernel)
    for _, k in ipairs(KERNELS) do
      if runnable(k) then assert.is_true(hm.cpu_runs_core(k), k) end
    end
    assert.has_error(function() hm.cpu_runs_core(1) end, "hardmax.cpu_runs_core: bad argument #1 (kernel name expected, got number)")
  end)

  teardown(function() os.remove(fp_file) end)
end)
