-- hardmax.util — small shared helpers of the Lua-side library.
local M = {}

--- Raise an error if `opts` has a key not listed in `allowed` (a typo must never silently
--- change an experiment). `fn` names the calling function in the message.
function M.check_options(fn, opts, allowed)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(("%s: options table expected, got %s"):format(fn, type(opts)), 3)
  end
  local set = {}
  for _, k in ipairs(allowed) do set[k] = true end
  for k in pairs(opts) do
    if not set[k] then
      local names = table.concat(allowed, ", ")
      error(("%s: unknown option '%s' (valid options: %s)"):format(fn, tostring(k), names), 3)
    end
  end
  return opts
end

return M
