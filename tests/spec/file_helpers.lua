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

return F
