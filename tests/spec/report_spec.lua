-- hardmax.report: statistics over runs, checks, the final JSON line.
require "hardmax"
local report = require "hardmax.report"
local mat = require "hardmax.mat"
local json = require "hardmax.json"

local function runs(list)
  local r = {}
  for i, m in ipairs(list) do r[i] = {status = m.failed and "failed" or "ok", metrics = m, key = "run=" .. i} end
  return r
end

describe("report", function()
  it("band: elementwise mean and sample std over successful runs", function()
    local b = report.band(runs{{c = {1, 2}}, {c = {3, 6}}, {failed = true}}, "c")
    assert.are.same({2, 4}, b.mean)
    assert.are.equal(math.sqrt(2), b.std[1])
    assert.are.equal(math.sqrt(8), b.std[2])
    assert.are.equal(2, b.n)
    assert.has_error(function() report.band(runs{{c = {1}}, {c = {1, 2}}}, "c") end,
      "report.band: metric 'c': run 2 has length 2, run 1 has 1")
    assert.has_error(function() report.band(runs{{x = 1}}, "c") end, "report.band: run run=1 has no array metric 'c'")
  end)

  it("bands, final and plot_bands", function()
    local r = runs{{c = {1, 2}, d = {0, 4}}, {c = {3, 6}, d = {2, 0}}}
    local b = report.bands(r, {"c", "d"})
    assert.are.same({2, 4}, b.c.mean)
    assert.are.equal(4, b.c.final)
    assert.are.equal(2, report.final(b.d))
    local drawn = {}
    local fig = {mean_std = function(_, x, m, s, o) drawn[#drawn + 1] = {x, m, s, o.label} end}
    report.plot_bands(fig, {0, 1}, b, {"c", "d"}, {"C"})
    assert.are.same({{0, 1}, {2, 4}, b.c.std, "C"}, drawn[1])
    assert.are.equal("d", drawn[2][4])
    assert.has_error(function() report.plot_bands(fig, {0, 1}, b, {"zz"}) end, "report.plot_bands: no band 'zz'")
  end)

  it("band accepts mat-valued metrics", function()
    local b = report.band(runs{{c = mat.new{1, 3}}, {c = mat.new{3, 5}}}, "c")
    assert.are.same({2, 4}, b.mean)
  end)

  it("checks argument types and names the function", function()
    assert.has_error(function() report.at({0, 10}, nil, 5) end, "report.at: bad argument #2 (array expected, got nil)")
    assert.has_error(function() report.map({1}, "f") end, "report.map: bad argument #2 (function expected, got string)")
    assert.has_error(function() report.fraction({}, 3) end, "report.fraction: bad argument #2 (function or string expected, got number)")
    assert.has_error(function() report.corr_path({1, 2}, {1, 2}) end, "report.corr_path: bad argument #1 (mat expected, got table)")
    assert.has_error(function() report.at({0, "x"}, {1, 2}, 5) end, "report.at: bad argument #1 (array of step numbers expected, entry 2 is string)")
    assert.are.equal(2, report.at(mat.new{0, 10}, {1, 2}, 9))   -- mats are arrays too
    assert.is_true(report.nonincreasing(nil, {3, 2}))          -- optional arguments may be nil
  end)

  it("stats and fraction", function()
    local r = runs{{a = 1.0, ok = true}, {a = 3.0, ok = false}, {a = 0 / 0, ok = true}}
    local s = report.stats(r, "a")
    assert.are.equal(2.0, s.mean)
    assert.are.equal(2, s.n)
    assert.is_true(math.abs(s.std - math.sqrt(2)) < 1e-15)
    assert.are.equal(2 / 3, report.fraction(r, function(m) return m.ok end))
    -- values near 1 with a tiny spread: sum(v^2) - n mu^2 would lose every digit
    local near = report.stats(runs{{a = 1 - 1e-9}, {a = 1 + 1e-9}}, "a")
    assert.is_true(math.abs(near.std - math.sqrt(2) * 1e-9) < 1e-15)
  end)

  it("corr_path correlates every snapshot with the target", function()
    local S = mat.new{{{1, 0}, {0, 1}}, {{2, 0}, {0, 2}}, {{1, 0}, {0, -1}}}
    local c = report.corr_path(S, mat.eye(2))
    assert.are.equal(3, #c)
    for i, want in ipairs{1, 1, 0} do assert.is_true(math.abs(c[i] - want) < 1e-15) end
  end)

  it("corr_path gives NaN for a zero snapshot (the W = 0 start) and keeps the others", function()
    local S = mat.new{{{0, 0}, {0, 0}}, {{3, 0}, {0, 3}}, {{0, 1}, {0, 0}}}
    local c = report.corr_path(S, mat.eye(2))
    assert.are.equal(3, #c)
    assert.is_true(c[1] ~= c[1])
    assert.is_true(math.abs(c[2] - 1) < 1e-15)
    assert.are.equal(0, c[3])
    assert.has_error(function() report.corr_path(S, mat.zeros(2, 2)) end)
  end)

  it("at, first_reaching, same", function()
    local steps = {0, 10, 20}
    assert.are.equal(0.5, report.at(steps, {0.1, 0.5, 0.9}, 12))
    assert.are.equal(20, report.first_reaching(steps, {0.1, 0.5, 0.9}, 0.8))
    assert.is_nil(report.first_reaching(steps, {0.1, 0.5, 0.9}, 0.95))
    assert.is_true(report.same({1, 2}, {1, 2}))
    assert.is_false(report.same({1, 2}, {2, 1}))
    assert.is_false(report.same({1}, {1, 1}))
  end)

  it("spearman: perfect, reversed, and tied ranks", function()
    assert.are.equal(1, report.spearman({1, 2, 3}, {10, 20, 1000}))
    assert.are.equal(-1, report.spearman({1, 2, 3}, {3, 2, 1}))
    assert.is_true(math.abs(report.spearman({1, 1, 2}, {1, 2, 3}) - 0.8660254037844386) < 1e-12)
  end)

  it("check and finish print a verdict and one JSON line", function()
    local lines = {}
    local print0, write0 = _G.print, io.stdout
    _G.print = function(s) lines[#lines + 1] = s end
    local buf = {}
    io.stdout = {write = function(self, ...) for _, s in ipairs{...} do buf[#buf + 1] = s end return self end,
                 flush = function() end}
    local R = report.new("T-1")
    R:check("a", true)
    R:check("b", false, "detail")
    R:at_least("v", 0.5, 0.25)
    local out = R:finish{x = 1.5}
    _G.print, io.stdout = print0, write0
    assert.are.equal("  [pass] a", lines[1])
    assert.are.equal("  [FAIL] b  (detail)", lines[2])
    assert.are.equal("  [pass] v >= 0.25  (0.5)", lines[3])
    assert.is_false(out.pass)
    local j = json.decode(table.concat(buf):match("^(.-)\n$"))
    assert.are.same({a = true, b = false, ["v >= 0.25"] = true}, j.checks)
    assert.are.equal(1.5, j.x)
    assert.are.equal("T-1", j.experiment)
    assert.is_true(j.cpu_seconds_process > 0 and j.cpu_seconds >= j.cpu_seconds_process)
    assert.has_error(function() report.new("T"):finish{pass = 1} end)
  end)

  it("hypothesis: printed and recorded, but not part of pass; result.json next to the figure", function()
    local lines, buf = {}, {}
    local print0, write0 = _G.print, io.stdout
    _G.print = function(s) lines[#lines + 1] = s end
    io.stdout = {write = function(self, ...) for _, s in ipairs{...} do buf[#buf + 1] = s end return self end,
                 flush = function() end}
    local dir = os.tmpname(); os.remove(dir)
    require("hardmax.sys").mkdir_p(dir)
    local R = report.new("T-2")
    R:check("ran", true)
    R:hypothesis("h1", false, "0.72")
    R:hypothesis("h2", true)
    local ok, out = pcall(R.finish, R, {figure = dir .. "/f.png", y = 2})
    _G.print, io.stdout = print0, write0
    assert(ok, out)
    assert.are.equal("  [rejected] h1  (0.72)", lines[2])
    assert.are.equal("  [holds] h2", lines[3])
    assert.is_true(out.pass)
    assert.is_truthy(table.concat(lines, "\n"):find("T-2: PASS (1 checks; 2 hypotheses, 1 hold", 1, true))
    local j = json.decode(table.concat(buf):match("^(.-)\n$"))
    assert.are.same({h1 = false, h2 = true}, j.hypotheses)
    local f = assert(io.open(dir .. "/result.json", "rb")); local r = json.decode(f:read("a")); f:close()
    assert.are.equal("f.png", r.figure)
    assert.is_nil(r.cpu_seconds)
    assert.are.equal(2, r.y)
    assert.is_truthy(r.numerics.mode == "portable" or r.numerics.mode == "native")
    os.remove(dir .. "/result.json"); os.remove(dir)
    assert.has_error(function() report.new("T"):hypothesis(1, true) end, "report:hypothesis: bad argument #1 (hypothesis name expected, got number)")
  end)
end)
