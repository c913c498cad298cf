-- hardmax.plot against gnuplot injection (issue 16): every string-bearing option of every
-- plot function gets a battery of payloads that would run a command if they reached gnuplot
-- (or LaTeX) as code. Each case must either render with the payload as literal text in the
-- .gp, or fail with a "plot.<fn>: ..." error naming the option; the sentinel file that any
-- of the payloads would create must never exist.
require "hardmax"

local plot = require "hardmax.plot"
local sys = require "hardmax.sys"
local F = dofile((os.getenv("HARDMAX_SRC") or ".") .. "/tests/spec/file_helpers.lua")

local tmp, SENT
before_each(function()
  tmp = os.tmpname()
  os.remove(tmp)
  sys.mkdir_p(tmp)
  SENT = tmp .. "/pwned"
  -- a script that `load`/`call` payloads would run
  F.writefile(tmp .. "/evil.gp", "system('touch " .. SENT .. "')\n")
end)
after_each(function() os.execute("rm -rf '" .. tmp .. "'") end)

local function payloads()
  local s = SENT
  return {
    "x\nsystem('touch " .. s .. "')\nset title 'y",        -- the issue's reproducer
    "x'; system('touch " .. s .. "'); '",                   -- break out of single quotes
    'x"; system("touch ' .. s .. '"); "',                   -- ... and of double quotes
    "`touch " .. s .. "`",                                  -- backquote substitution
    "a \"`touch " .. s .. "`\" b",
    "x\n!touch " .. s,                                      -- shell escape command
    "!touch " .. s,
    "x\nload '" .. tmp .. "/evil.gp'",                      -- load / call another script
    "x'; load '" .. tmp .. "/evil.gp'; '",
    "x'; call '" .. tmp .. "/evil.gp'; '",
    "< touch " .. s,                                        -- data from a command
    "<touch " .. s,
    "|touch " .. s,                                         -- output into a pipe
    "x\rsystem('touch " .. s .. "')",                       -- CR, NUL, other controls
    "x\0system('touch " .. s .. "')",
    "x\tsystem('touch " .. s .. "')",
    "x\\\nsystem('touch " .. s .. "')",                     -- backslash-newline continuation
    "x\\",                                                  -- a trailing backslash
    "\\write18{touch " .. s .. "}",                         -- LaTeX shell escape
    "\\immediate\\write18{touch " .. s .. "}",
    "^^5cwrite18{touch " .. s .. "}",
    "$(touch " .. s .. ") @x ${HOME}",
    "α ‖W‖_F \u{2028}system('touch " .. s .. "') \u{85}",   -- unicode separators are text
    "\xff\xfe system('touch " .. s .. "')",                 -- invalid UTF-8
  }
end

-- the literal a label becomes in the .gp (non-latex: \name that is not a Greek letter stays)
local function literal(p) return "'" .. p:gsub("'", "''") .. "'" end

local function figure_with(opts) return plot.figure(opts) end

-- (name, fn prefix of the expected error, option, function(payload, path) building + saving)
local cases = {
  { "figure title", "plot.figure", "title", true, function(p, path) local f = figure_with { title = p }; f:line({ 1, 2 }, { 1, 2 }); return f:save(path) end },
  { "figure xlabel", "plot.figure", "xlabel", true, function(p, path) local f = figure_with { xlabel = p }; f:line({ 1, 2 }, { 1, 2 }); return f:save(path) end },
  { "figure ylabel", "plot.figure", "ylabel", true, function(p, path) local f = figure_with { ylabel = p }; f:line({ 1, 2 }, { 1, 2 }); return f:save(path) end },
  { "figure font", "plot.figure", "font", function(p) return "font " .. literal(p .. ",10") end, function(p, path) local f = figure_with { font = p }; f:line({ 1, 2 }, { 1, 2 }); return f:save(path) end },
  { "figure legend", "plot.figure", "legend", false, function(p, path) local f = figure_with { legend = p }; f:line({ 1, 2 }, { 1, 2 }); return f:save(path) end },
  { "figure xtics", "plot.figure", "xtics", false, function(p, path) local f = figure_with { xtics = p }; f:line({ 1, 2 }, { 1, 2 }); return f:save(path) end },
  { "figure ytics", "plot.figure", "ytics", false, function(p, path) local f = figure_with { ytics = p }; f:line({ 1, 2 }, { 1, 2 }); return f:save(path) end },
  { "figure log", "plot.figure", "log", false, function(p, path) local f = figure_with { log = p }; f:line({ 1, 2 }, { 1, 2 }); return f:save(path) end },
  { "figure raw", "plot.figure", "raw", false, function(p, path) local f = figure_with { raw = { p } }; f:line({ 1, 2 }, { 1, 2 }); return f:save(path) end },
  { "line label", "plot.line", "label", true, function(p, path) local f = figure_with {}; f:line({ 1, 2 }, { 1, 2 }, { label = p }); return f:save(path) end },
  { "line color", "plot.line", "color", false, function(p, path) local f = figure_with {}; f:line({ 1, 2 }, { 1, 2 }, { color = p }); return f:save(path) end },
  { "line dash", "plot.line", "dash", false, function(p, path) local f = figure_with {}; f:line({ 1, 2 }, { 1, 2 }, { dash = p }); return f:save(path) end },
  { "line marker", "plot.line", "marker", false, function(p, path) local f = figure_with {}; f:line({ 1, 2 }, { 1, 2 }, { marker = p }); return f:save(path) end },
  { "band label", "plot.band", "label", true, function(p, path) local f = figure_with {}; f:band({ 1, 2 }, { 0, 1 }, { 1, 2 }, { label = p }); return f:save(path) end },
  { "band color", "plot.band", "color", false, function(p, path) local f = figure_with {}; f:band({ 1, 2 }, { 0, 1 }, { 1, 2 }, { color = p }); return f:save(path) end },
  { "mean_std label", "plot.mean_std", "label", true, function(p, path) local f = figure_with {}; f:mean_std({ 1, 2 }, { 1, 2 }, { 0.1, 0.1 }, { label = p }); return f:save(path) end },
  { "mean_std color", "plot.mean_std", "color", false, function(p, path) local f = figure_with {}; f:mean_std({ 1, 2 }, { 1, 2 }, { 0.1, 0.1 }, { color = p }); return f:save(path) end },
  { "scatter label", "plot.scatter", "label", true, function(p, path) local f = figure_with {}; f:scatter({ 1, 2 }, { 1, 2 }, { label = p }); return f:save(path) end },
  { "scatter color", "plot.scatter", "color", false, function(p, path) local f = figure_with {}; f:scatter({ 1, 2 }, { 1, 2 }, { color = p }); return f:save(path) end },
  { "scatter colors", "plot.scatter", "color", false, function(p, path) local f = figure_with {}; f:scatter({ 1, 2 }, { 1, 2 }, { color = { p, "#000000" } }); return f:save(path) end },
  { "scatter marker", "plot.scatter", "marker", false, function(p, path) local f = figure_with {}; f:scatter({ 1, 2 }, { 1, 2 }, { marker = { p, "circle" } }); return f:save(path) end },
  { "trajectory label", "plot.trajectory", "label", true, function(p, path) local f = figure_with {}; f:trajectory({ 1, 2, 3 }, { 1, 2, 1 }, { label = p }); return f:save(path) end },
  { "trajectory color", "plot.trajectory", "color", false, function(p, path) local f = figure_with {}; f:trajectory({ 1, 2, 3 }, { 1, 2, 1 }, { color = p }); return f:save(path) end },
  { "trajectory start_marker", "plot.trajectory", "marker", false, function(p, path) local f = figure_with {}; f:trajectory({ 1, 2, 3 }, { 1, 2, 1 }, { start_marker = p }); return f:save(path) end },
  { "ray label", "plot.ray", "label", true, function(p, path) local f = figure_with {}; f:line({ 1, 2 }, { 1, 2 }); f:ray(1, 1, { label = p }); return f:save(path) end },
  { "ray color", "plot.ray", "color", false, function(p, path) local f = figure_with {}; f:line({ 1, 2 }, { 1, 2 }); f:ray(1, 1, { color = p }); return f:save(path) end },
  { "abline label", "plot.abline", "label", true, function(p, path) local f = figure_with {}; f:line({ 1, 2 }, { 1, 2 }); f:abline(1, 0, { label = p }); return f:save(path) end },
  { "abline dash", "plot.abline", "dash", false, function(p, path) local f = figure_with {}; f:line({ 1, 2 }, { 1, 2 }); f:abline(1, 0, { dash = p }); return f:save(path) end },
  { "hline color", "plot.hline", "color", false, function(p, path) local f = figure_with {}; f:line({ 1, 2 }, { 1, 2 }); f:hline(1, { color = p }); return f:save(path) end },
  { "vline color", "plot.vline", "color", false, function(p, path) local f = figure_with {}; f:line({ 1, 2 }, { 1, 2 }); f:vline(1, { color = p }); return f:save(path) end },
  { "text", "plot.text", "text", true, function(p, path) local f = figure_with {}; f:line({ 1, 2 }, { 1, 2 }); f:text(1, 1, p); return f:save(path) end },
  { "text align", "plot.text", "align", false, function(p, path) local f = figure_with {}; f:line({ 1, 2 }, { 1, 2 }); f:text(1, 1, "t", { align = p }); return f:save(path) end },
  { "text color", "plot.text", "color", false, function(p, path) local f = figure_with {}; f:line({ 1, 2 }, { 1, 2 }); f:text(1, 1, "t", { color = p }); return f:save(path) end },
  { "heatmap xlabels", "plot.heatmap", "xlabels", true, function(p, path) local f = figure_with {}; f:heatmap({ { 1, 2 } }, { xlabels = { p, "b" } }); return f:save(path) end },
  { "heatmap ylabels", "plot.heatmap", "ylabels", true, function(p, path) local f = figure_with {}; f:heatmap({ { 1, 2 } }, { ylabels = { p } }); return f:save(path) end },
  { "heatmap format", "plot.heatmap", "format", false, function(p, path) local f = figure_with {}; f:heatmap({ { 1, 2 } }, { format = p }); return f:save(path) end },
  { "save also", "plot.save", "also", false, function(p, path) local f = figure_with {}; f:line({ 1, 2 }, { 1, 2 }); return f:save(path, { also = { p } }) end },
  { "panels title", "plot.panels", "title", true, function(p, path) local f = figure_with {}; f:line({ 1, 2 }, { 1, 2 }); return plot.panels(path, { f, f }, { title = p }) end },
}

local function check_outcome(name, fnname, opt, literal_ok, ok, err, payload, gppath)
  assert.is_nil(sys.stat(SENT), name .. ": a command ran for payload " .. ("%q"):format(payload))
  if ok then
    assert.truthy(literal_ok, name .. ": accepted a payload that is no valid value: " .. ("%q"):format(payload))
    local want = literal_ok == true and literal(payload) or literal_ok(payload)
    local gp = F.readfile(gppath)
    assert.truthy(gp:find(want, 1, true), name .. ": the .gp lacks the literal text " .. want)
  else
    err = tostring(err)
    assert.truthy(err:find("^" .. fnname:gsub("%.", "%%.") .. ": ") or err:find("^plot%.save: ") or err:find("^plot%.panels: "),
      name .. ": error does not name the function: " .. err)
    assert.truthy(err:find(opt, 1, true), name .. ": error does not name the option '" .. opt .. "': " .. err)
    assert.falsy(err:find("gnuplot failed", 1, true), name .. ": the payload reached gnuplot: " .. err)
  end
end

-- payloads with a control character or invalid UTF-8 are refused before gnuplot runs
local function refused_text(p) return p:find("[%z\1-\31\127]") ~= nil or utf8.len(p) == nil end

describe("plot injection", function()
  it("no payload in any string option runs a command; text renders literally or is refused by name", function()
    local n = 0
    for _, c in ipairs(cases) do
      local name, fnname, opt, literal_ok, build = c[1], c[2], c[3], c[4], c[5]
      for k, p in ipairs(payloads()) do
        -- text that is accepted is rendered below, all label options of a figure at once
        if literal_ok ~= true or refused_text(p) then
          local path = tmp .. "/c" .. k .. ".svg"
          os.remove(tmp .. "/c" .. k .. ".gp")
          local ok, err = pcall(build, p, path)
          check_outcome(name, fnname, opt, literal_ok, ok, err, p, tmp .. "/c" .. k .. ".gp")
          if literal_ok == true then assert.is_false(ok, name .. ": accepted " .. ("%q"):format(p)) end
          n = n + 1
        end
      end
    end
    assert.is_true(n > 400, n)
  end)

  it("renders every accepted payload literally in every label option, with gnuplot, and runs nothing", function()
    local rendered = 0
    for k, p in ipairs(payloads()) do
      if not refused_text(p) then
        local f = plot.figure { title = p, xlabel = p, ylabel = p }
        f:line({ 1, 2 }, { 1, 2 }, { label = p })
        f:band({ 1, 2 }, { 0, 1 }, { 1, 2 }, { label = p })
        f:mean_std({ 1, 2 }, { 1, 2 }, { 0.1, 0.1 }, { label = p })
        f:scatter({ 1, 2 }, { 1, 2 }, { label = p, color = { "#000000", "#ff0000" } })
        f:trajectory({ 1, 2, 3 }, { 1, 2, 1 }, { label = p })
        f:ray(1, 1, { label = p })
        f:abline(1, 0, { label = p })
        f:text(1, 1, p)
        f:heatmap({ { 1, 2 } }, { xlabels = { p, "b" }, ylabels = { p } })
        local path = tmp .. "/r" .. k .. ".svg"
        f:save(path)
        assert.is_nil(sys.stat(SENT), "a command ran for payload " .. ("%q"):format(p))
        local gp = F.readfile(tmp .. "/r" .. k .. ".gp")
        local _, count = gp:gsub(literal(p):gsub("%W", "%%%0"), "")
        assert.are.equal(3 + 7 + 1 + 2, count, "literal occurrences of " .. literal(p))
        assert.truthy(sys.stat(path).size > 1000)
        if rendered < 4 then -- the overall title of panels takes the same path
          plot.panels(tmp .. "/q" .. k .. ".svg", { f, f }, { title = p })
          assert.truthy(F.readfile(tmp .. "/q" .. k .. ".gp"):find("set multiplot layout 1,2 title " .. literal(p), 1, true))
          assert.is_nil(sys.stat(SENT))
        end
        rendered = rendered + 1
      end
    end
    assert.is_true(rendered >= 15, rendered)
  end)

  it("renders the issue's reproducer's text literally when it has no newline, and refuses the newline", function()
    local f = plot.figure { title = "x system('touch " .. SENT .. "') set title 'y" }
    f:line({ 1, 2, 3 }, { 1, 2, 3 }, { label = "a" })
    f:save(tmp .. "/inj.png")
    assert.truthy(sys.stat(tmp .. "/inj.png").size > 1000)
    assert.truthy(F.readfile(tmp .. "/inj.gp"):find("set title 'x system(''touch " .. SENT .. "'') set title ''y'", 1, true))
    assert.has_error(function() plot.figure { title = "x\nsystem('touch " .. SENT .. "')\nset title 'y" } end,
      "plot.figure: option 'title': control character 0x0A at byte 2 is not allowed in figure text (newlines, tabs, CR, NUL ...)")
    assert.is_nil(sys.stat(SENT))
  end)

  it("writes file names itself: output names with payloads are literal './name' or refused", function()
    -- relative payloads: gnuplot runs in the figure's directory
    local names = { "|touch pwned", "<touch pwned", "< touch pwned", "`touch pwned`", "x'; system('touch pwned'); '",
      "x\nsystem('touch pwned')", "x\rtouch", "-", "+", "~", "$data", "@m" }
    for _, b in ipairs(names) do
      local f = plot.figure {}
      f:line({ 1, 2 }, { 1, 2 })
      local ok, err = pcall(f.save, f, tmp .. "/" .. b .. ".svg")
      assert.is_nil(sys.stat(tmp .. "/pwned"), "a command ran for file name " .. ("%q"):format(b))
      if ok then
        local gp = F.readfile(tmp .. "/" .. b .. ".gp")
        assert.truthy(gp:find("set output " .. literal("./" .. b .. ".svg"), 1, true), b)
        assert.truthy(gp:find(literal("./" .. b .. ".dat") .. " index 0", 1, true), b)
        assert.truthy(sys.stat(tmp .. "/" .. b .. ".svg").size > 1000, b)
      else
        assert.truthy(tostring(err):find("^plot%.save: output file name: control character"), tostring(err))
      end
    end
  end)

  it("accepts only allow-listed TeX in cairolatex text", function()
    local f = plot.figure { xlabel = "$\\|W\\|_F$ and $\\mathbf{v}^\\top \\alpha$" }
    f:line({ 1, 2 }, { 2, 1 }, { label = "\\textbf{GD}" })
    f:save(tmp .. "/ok.tex")
    assert.truthy(F.readfile(tmp .. "/ok.tex"):find("\\mathbf{v}^\\top \\alpha", 1, true))
    for _, p in ipairs({ "\\write18{touch " .. SENT .. "}", "\\immediate\\write18{x}", "\\input{/etc/passwd}",
        "\\csname write\\endcsname", "^^5cinput{/etc/passwd}", "\\makeatletter\\@@input x", "\\catcode`\\^=0",
        "\\def\\x{y}", "\\openout1=x", "\\include{x}", "\\ShellEscape{x}" }) do
      local g = plot.figure { title = p }
      g:line({ 1, 2 }, { 2, 1 })
      local ok, err = pcall(g.save, g, tmp .. "/t.tex")
      assert.is_false(ok, p)
      assert.truthy(tostring(err):find("^plot%.save: plot%.figure option 'title': "), tostring(err))
      assert.truthy(tostring(err):find("not allowed in cairolatex text", 1, true), tostring(err))
    end
    -- the same text is harmless (and kept) in enhanced-text outputs
    local g = plot.figure { title = "\\write18{touch " .. SENT .. "} \\input{/etc/passwd}" }
    g:line({ 1, 2 }, { 2, 1 })
    g:save(tmp .. "/t.svg")
    assert.is_nil(sys.stat(SENT))
  end)

  it("checks again at render time: values changed after the call, the palette, defaults, string.*", function()
    local bad = "x'\nsystem('touch " .. SENT .. "')"
    local f = plot.figure { title = "t" }
    f:line({ 1, 2 }, { 1, 2 }, { label = "a" })
    f.opts.title = bad
    assert.has_error(function() f:save(tmp .. "/a.png") end,
      "plot.save: plot.figure option 'title': control character 0x0A at byte 3 is not allowed in figure text (newlines, tabs, CR, NUL ...)")
    f.opts.title = "t"
    f.series[1].label = bad
    assert.has_error(function() f:save(tmp .. "/a.png") end,
      "plot.save: plot.line option 'label': control character 0x0A at byte 3 is not allowed in figure text (newlines, tabs, CR, NUL ...)")
    f.series[1].label = "a"
    f.series[1].cols[2][1] = "1\nsystem('touch " .. SENT .. "')"
    assert.has_error(function() f:save(tmp .. "/a.png") end, "plot.save: data value: number expected, got string")
    f.series[1].cols[2][1] = 1
    local saved = plot.palette[1]
    plot.palette[1] = bad
    local g = plot.figure {}
    g:line({ 1, 2 }, { 1, 2 })
    plot.palette[1] = saved
    assert.has_error(function() g:save(tmp .. "/b.png") end)
    local font = plot.defaults.font
    plot.defaults.font = "Sans'\nsystem('touch " .. SENT .. "')"
    local ok = pcall(f.save, f, tmp .. "/c.png")
    plot.defaults.font = font
    assert.is_false(ok)
    -- a script that replaces string functions cannot turn quoting off
    local gsub, find = string.gsub, string.find
    string.gsub = function(s) return s, 0 end
    string.find = function() return nil end
    local h = plot.figure { title = "it's" }
    h:line({ 1, 2 }, { 1, 2 })
    local ok2, err2 = pcall(h.save, h, tmp .. "/d.png")
    string.gsub, string.find = gsub, find
    assert.is_true(ok2, err2)
    assert.truthy(F.readfile(tmp .. "/d.gp"):find("set title 'it''s'", 1, true))
    assert.is_nil(sys.stat(SENT))
  end)
end)
