-- Interpreter start-up time: spawn `hardmax -e ''` N times (and stock lua5.4 for reference).
-- Run as: build/hardmax scripts/bench.d/host.lua [N]
local N = tonumber((...)) or 200

local function self_path()
  local i = -1
  while arg[i - 1] do i = i - 1 end
  return arg[i]
end

local function wall()
  local p = io.popen("date +%s.%N")
  local t = tonumber(p:read("l"))
  p:close()
  return t
end

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function spawn_cost(cmd, n)
  -- one shell runs the loop, so only the interpreter's own start-up is repeated
  local script = string.format("i=0; while [ $i -lt %d ]; do %s -e '' </dev/null || exit 1; i=$((i+1)); done", n, cmd)
  local t0 = wall()
  assert(os.execute("sh -c " .. q(script)), "spawn failed: " .. cmd)
  local t1 = wall()
  return (t1 - t0) / n
end

local function baseline(n)
  local script = string.format("i=0; while [ $i -lt %d ]; do /bin/true; i=$((i+1)); done", n)
  local t0 = wall()
  os.execute("sh -c " .. q(script))
  return (wall() - t0) / n
end

local H = os.getenv("HARDMAX") or self_path()
local b = baseline(N)
local h = spawn_cost(q(H), N)
print(string.format("host: start-up of `hardmax -e ''`: %.2f ms per run (N=%d; /bin/true spawn %.2f ms)",
  h * 1e3, N, b * 1e3))
if os.execute("command -v lua5.4 >/dev/null 2>&1") then
  local l = spawn_cost("lua5.4", N)
  print(string.format("host: start-up of `lua5.4 -e ''` for reference: %.2f ms per run", l * 1e3))
end
