-- Runs one example script at reduced size and asserts the pass criteria that hold at that
-- size: usage  hardmax tests/run_example.lua SCRIPT "check & check & ..." [script args...]
-- The script's last output line is its JSON report (report:finish); every listed check must
-- be present and true. An empty check list asserts all checks of the report.
local json = require "hardmax.json"
local script, wanted = arg[1], arg[2] or ""
assert(script, "usage: run_example.lua SCRIPT CHECKS [ARGS...]")
local host = require("hardmax.sys").exe()
local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local cmd = { q(host), q(script) }
for i = 3, #arg do cmd[#cmd + 1] = q(arg[i]) end
local p = assert(io.popen(table.concat(cmd, " ") .. " 2>&1"))
local out = p:read("a")
local ok, _, code = p:close()
io.write(out)
if not ok then error(("example exited with status %s"):format(tostring(code)), 0) end
local last = out:match("([^\n]+)\n*$")
local rep = json.decode(last)
assert(type(rep) == "table" and rep.checks, "last line is not a report JSON object")
local failed = {}
local names = {}
if wanted == "" then
  for k in pairs(rep.checks) do names[#names + 1] = k end
  table.sort(names)
else
  for name in wanted:gmatch("[^&]+") do names[#names + 1] = name:match("^%s*(.-)%s*$") end
end
for _, name in ipairs(names) do
  local v = rep.checks[name]
  if v == nil then failed[#failed + 1] = "missing check: " .. name
  elseif v ~= true then failed[#failed + 1] = "failed check: " .. name end
end
if #failed > 0 then error(table.concat(failed, "\n"), 0) end
print(("%s: %d checks asserted"):format(rep.experiment, #names))
