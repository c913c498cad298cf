-- Shared file helpers of the specs that read and write bytes (not a spec itself).
local F = {}

function F.readfile(p)
  local f = assert(io.open(p, "rb"))
  local s = f:read "a"
  f:close()
  return s
end

function F.writefile(p, s)
  local f = assert(io.open(p, "wb"))
  f:write(s)
  f:close()
end

-- "LD_PRELOAD=... " for spawning stock lua5.4 on this build's hardmax.so: an ASan build's
-- module needs the sanitizer runtimes loaded first (the ones this process has mapped, libasan
-- before libubsan); "" for a normal build or when LD_PRELOAD is already set (inherited).
function F.lua54_preload()
  if (os.getenv("LD_PRELOAD") or "") ~= "" then return "" end
  local f = io.open("/proc/self/maps", "rb")
  local maps = f and f:read("a") or ""
  if f then f:close() end
  local libs, seen = {}, {}
  for line in maps:gmatch("[^\n]+") do
    local lib = line:match("(/%S+/lib[a-z]*san%.so[%.%d]*)$")
    if lib and not seen[lib] then seen[lib] = true; libs[#libs + 1] = lib end
  end
  if #libs == 0 then return "" end
  table.sort(libs, function(x, y) return (x:find("libasan") and 0 or 1) < (y:find("libasan") and 0 or 1) end)
  return "LD_PRELOAD='" .. table.concat(libs, ":") .. "' "
end

return F
