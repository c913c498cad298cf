-- The l_inf / l_1 / spectral W-SVMs against an independent solver: CVXOPT's LP and SDP
-- (tests/svm_cvxopt_reference.py, Debian python3-cvxopt, a test-only dependency). Skips,
-- printing why, when no python3 with cvxopt is found.
require "hardmax"
local svm = require "hardmax.svm"
local mat = require "hardmax.mat"
local rng = require "hardmax.rng"
local json = require "hardmax.json"

local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
local script = here .. "../svm_cvxopt_reference.py"

local function find_python()
  for _, py in ipairs { "/usr/bin/python3", "python3" } do
    local ok = os.execute(py .. " -c 'import cvxopt' >/dev/null 2>&1")
    if ok == true or ok == 0 then return py end
  end
end

describe("l_inf / l_1 / spectral W-SVMs vs CVXOPT", function()
  local py = find_python()
  if not py then
    it("skipped: python3 -c 'import cvxopt' fails (install python3-cvxopt)", function()
      print("svm_cvxopt_spec: SKIPPED, no python3 with cvxopt (apt-get install python3-cvxopt)")
    end)
    return
  end

  it("agrees with CVXOPT within both solvers' certified brackets", function()
    local probs, ours = {}, {}
    for seed = 1, 3 do
      local g = rng.new(40 + seed)
      local m, d = 8 + 6 * seed, 3 + seed
      local A, Z = mat.randn(g, m, d), mat.randn(g, m, d)
      local b = {}
      for k = 1, m do b[k] = (k % 5 == 0) and 0 or 1 end -- some relaxed rows
      for _, nrm in ipairs { "inf", "l1", "spec" } do
        probs[#probs + 1] = { A = A:totable(), Z = Z:totable(), b = b, norm = nrm }
        local r = nrm == "spec" and svm.spectral_raw(A, Z, b)
          or svm.lp_raw(A, Z, b, nrm == "inf" and math.huge or 1)
        assert.are.equal("optimal", r.status)
        ours[#ours + 1] = r
      end
    end
    local inp = os.tmpname()
    local f = assert(io.open(inp, "w"))
    f:write(json.encode(probs))
    f:close()
    local p = assert(io.popen(py .. " '" .. script .. "' < '" .. inp .. "'"))
    local out = p:read("a")
    p:close()
    os.remove(inp)
    local ref = json.decode(out)
    assert.are.equal(#probs, #ref)
    local worst = 0
    for i, r in ipairs(ours) do
      local c = ref[i]
      assert.are.equal("optimal", c.status, probs[i].norm)
      -- ours: the optimum lies in [dual_objective, objective] (certified from the data).
      -- CVXOPT: primal and dual objectives at feastol 1e-9 bracket it up to that feasibility
      -- tolerance; allow 1e-7 relative for its (uncertified) residuals.
      local lo = math.min(c.primal, c.dual) * (1 - 1e-7)
      local hi = math.max(c.primal, c.dual) * (1 + 1e-7)
      assert.is_true(r.dual_objective <= hi and r.objective >= lo,
        string.format("%s: ours [%.12g, %.12g], cvxopt [%.12g, %.12g]", probs[i].norm,
          r.dual_objective, r.objective, c.dual, c.primal))
      assert.is_true(math.abs(r.objective - c.primal) <= 1e-6 * c.primal)
      worst = math.max(worst, math.abs(r.objective - c.primal) / c.primal)
    end
    print(string.format("svm_cvxopt_spec: %d problems, max |ours - cvxopt| / cvxopt = %.2e", #ours, worst))
  end)
end)
