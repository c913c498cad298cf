-- Runs every paper example at full size, prints experiment -> pass/fail with wall and cpu
-- time, and writes OUT/REPORT.md (with the figures) and OUT/summary.json.
-- usage: hardmax scripts/reproduce.lua [--out DIR] [--only PATTERN] [--jobs N]
local json = require "hardmax.json"
local sys = require "hardmax.sys"
local o = exp.args(arg, {out = "out/reproduce", only = ""})
local host = sys.exe()
local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local scripts = {}
for _, f in ipairs(sys.listdir("examples")) do
  if f:match("%.lua$") then -- every example is an experiment with a JSON last line
    if o.only == "" or f:find(o.only, 1, true) then scripts[#scripts + 1] = f end
  end
end
table.sort(scripts)
sys.mkdir_p(o.out)
local rows, all_pass, t_all = {}, true, sys.clock()
for _, f in ipairs(scripts) do
  local name = f:gsub("%.lua$", "")
  local dir = o.out .. "/" .. name
  local t0 = sys.clock()
  local p = io.popen(("%s %s --out %s --jobs %d 2>&1"):format(q(host), q("examples/" .. f), q(dir), o.jobs))
  local out = p:read("a")
  local ok = p:close()
  local wall = sys.clock() - t0
  local rep = ok and pcall(json.decode, out:match("([^\n]+)\n*$") or "") and json.decode(out:match("([^\n]+)\n*$"))
  if type(rep) ~= "table" or rep.pass == nil then rep = { experiment = name, pass = false, error = out:sub(-2000) } end
  sys.mkdir_p(dir)
  sys.write_atomic(dir .. "/output.txt", out)
  rows[#rows + 1] = { file = f, name = name, rep = rep, wall = wall }
  all_pass = all_pass and rep.pass == true
  print(("%-40s %-10s %-5s %8.2f s wall %8.2f s cpu"):format(f, rep.experiment or "?", rep.pass and "PASS" or "FAIL", wall, rep.cpu_seconds or 0 / 0))
end
local total = sys.clock() - t_all
print(("%d experiments, %s, %.1f s wall in total"):format(#rows, all_pass and "all pass" or "SOME FAIL", total))

local md = { "# hardmax: paper reproductions", "", ("hardmax %s, %s"):format(hardmax.config().version, hardmax.config().openblas), "",
  "| script | experiment | result | wall s | cpu s | failed checks |", "|---|---|---|---|---|---|" }
for _, r in ipairs(rows) do
  local bad = {}
  for k, v in pairs(r.rep.checks or {}) do if v ~= true then bad[#bad + 1] = k end end
  table.sort(bad)
  md[#md + 1] = ("| %s | %s | %s | %.2f | %.2f | %s |"):format(r.file, r.rep.experiment or "?", r.rep.pass and "pass" or "**FAIL**",
    r.wall, r.rep.cpu_seconds or 0 / 0, table.concat(bad, "; "))
end
md[#md + 1] = ""
md[#md + 1] = ("Total wall time: %.1f s"):format(total)
for _, r in ipairs(rows) do
  md[#md + 1] = ""
  md[#md + 1] = "## " .. (r.rep.experiment or r.name)
  for _, f in ipairs(select(2, pcall(sys.listdir, o.out .. "/" .. r.name)) or {}) do
    if type(f) == "string" and f:match("%.png$") then md[#md + 1] = ("![%s](%s/%s)"):format(f, r.name, f) end
  end
  if r.rep.error then md[#md + 1] = "```\n" .. r.rep.error .. "\n```" end
end
sys.write_atomic(o.out .. "/REPORT.md", table.concat(md, "\n") .. "\n")
local summary = {}
for _, r in ipairs(rows) do summary[#summary + 1] = { script = r.file, wall_seconds = r.wall, report = r.rep } end
sys.write_atomic(o.out .. "/summary.json", json.encode(summary) .. "\n")
print("report: " .. o.out .. "/REPORT.md")
os.exit(all_pass and 0 or 1)
