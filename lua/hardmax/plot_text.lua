-- hardmax.plot_text — the only way values become text of a generated gnuplot script.
--
-- gnuplot runs shell commands from a script in many places: `system(...)`, `!cmd`, backquotes
-- (substituted even inside double-quoted strings), `load`/`call`, `set output '|cmd'`,
-- `plot '< cmd'`. A figure's labels, file names and options come from scripts, data and
-- config files, so plot.lua builds every command line from four kinds of pieces only:
--   * hardmax's own constant text,
--   * str(): a string as a single-quoted gnuplot literal (gnuplot substitutes nothing inside
--     single quotes; the only escape is '' for '), after refusing control characters (a
--     newline would end the command) and invalid UTF-8,
--     and file(): a file name hardmax chose, as './NAME' so it never starts with '<' or '|',
--   * num()/int(): numbers hardmax formats itself,
--   * word(): one of a fixed set of gnuplot keywords.
-- Label text for cairolatex output goes into a .tex file that LaTeX runs; latex_label()
-- accepts only an allow-list of TeX control words there (no \input, \write, \csname, ^^...).
-- Everything is captured at load time, so a script that replaces string.gsub or
-- plot.palette cannot change what these functions let through. See docs/plot.md.
local M = {}

local type, tostring, error, pairs = type, tostring, error, pairs
local fmt, gsub, find, byte, gmatch = string.format, string.gsub, string.find, string.byte, string.gmatch
local mtype, huge, floor = math.type, math.huge, math.floor
local utf8len = utf8.len

local function fail(fn, msg, ...)
  error(fn .. ": " .. fmt(msg, ...), 0)
end
M.fail = fail

local function checked_string(fn, what, s)
  if type(s) ~= "string" then fail(fn, "%s: string expected, got %s", what, type(s)) end
  local i = find(s, "[%z\1-\31\127]")
  if i then
    fail(fn, "%s: control character 0x%02X at byte %d is not allowed in figure text (newlines, tabs, CR, NUL ...)",
      what, byte(s, i), i)
  end
  if not utf8len(s) then fail(fn, "%s: text is not valid UTF-8", what) end
  return s
end

--- str(fn, what, s) -> the gnuplot literal 's' (single-quoted; ' doubled).
function M.str(fn, what, s)
  s = checked_string(fn, what, s)
  return "'" .. gsub(s, "'", "''") .. "'"
end

--- file(fn, what, name) -> './name' for a bare file name written by hardmax itself.
function M.file(fn, what, name)
  checked_string(fn, what, name)
  if name == "" or find(name, "/", 1, true) then fail(fn, "%s: bare file name expected, got '%s'", what, name) end
  return M.str(fn, what, "./" .. name)
end

--- num(fn, what, x [, lo, hi]) -> x formatted by hardmax; x must be a finite number (in [lo, hi]).
function M.num(fn, what, x, lo, hi)
  if type(x) ~= "number" or x ~= x or x == huge or x == -huge then
    fail(fn, "%s: finite number expected, got %s", what, tostring(x))
  end
  if (lo and x < lo) or (hi and x > hi) then
    fail(fn, "%s: number in [%s, %s] expected, got %s", what, tostring(lo or "-inf"), tostring(hi or "inf"), tostring(x))
  end
  if mtype(x) == "integer" then return fmt("%d", x) end
  return fmt("%.17g", x)
end

--- int(fn, what, x [, lo]) -> an integer (>= lo) formatted by hardmax.
function M.int(fn, what, x, lo)
  if mtype(x) ~= "integer" and not (type(x) == "number" and x == floor(x) and x > -2^53 and x < 2^53) then
    fail(fn, "%s: integer expected, got %s", what, tostring(x))
  end
  if lo and x < lo then fail(fn, "%s: integer >= %d expected, got %s", what, lo, tostring(x)) end
  return fmt("%d", floor(x))
end

--- data(x) -> a data-file cell: numbers as %.17g, non-finite as NaN; anything else is refused.
function M.data(fn, x)
  if type(x) ~= "number" then fail(fn, "data value: number expected, got %s", type(x)) end
  if x ~= x or x == huge or x == -huge then return "NaN" end
  if mtype(x) == "integer" then return fmt("%d", x) end
  return fmt("%.17g", x)
end

--- word(fn, what, s, set) -> s when it is a key of set (a fixed gnuplot keyword).
function M.word(fn, what, s, set, expected)
  if type(s) ~= "string" or not set[s] then fail(fn, "%s: %s expected, got %s", what, expected, tostring(s)) end
  return s
end

--- color(fn, what, c) -> 'c' for "#RRGGBB", "#AARRGGBB" or a gnuplot colour name ("dark-red").
function M.color(fn, what, c)
  if type(c) ~= "string" or not (find(c, "^#%x%x%x%x%x%x$") or find(c, "^#%x%x%x%x%x%x%x%x$")
      or find(c, "^%a[%w%-]*$")) then
    fail(fn, "%s: \"#RRGGBB\" or a gnuplot colour name expected, got %s", what, tostring(c))
  end
  return M.str(fn, what, c)
end

local greek = {
  alpha = "α", beta = "β", gamma = "γ", delta = "δ", epsilon = "ε", varepsilon = "ε",
  zeta = "ζ", eta = "η", theta = "θ", iota = "ι", kappa = "κ", lambda = "λ", mu = "μ", nu = "ν",
  xi = "ξ", pi = "π", rho = "ρ", sigma = "σ", tau = "τ", upsilon = "υ", phi = "φ", chi = "χ",
  psi = "ψ", omega = "ω", Gamma = "Γ", Delta = "Δ", Theta = "Θ", Lambda = "Λ", Xi = "Ξ",
  Pi = "Π", Sigma = "Σ", Phi = "Φ", Psi = "Ψ", Omega = "Ω", infty = "∞", star = "⋆",
  top = "⊤", cdot = "·", times = "×", le = "≤", ge = "≥", approx = "≈", to = "→",
  langle = "⟨", rangle = "⟩", Vert = "‖", nabla = "∇", partial = "∂", ell = "ℓ",
}

-- TeX control words a cairolatex label may use: math symbols, fonts, accents, spacing,
-- delimiters. Anything else (\input, \write, \immediate, \csname, \catcode, \def,
-- \makeatletter, \include, \openin ...) could read or write files or run commands when the
-- .tex is compiled, and a deny-list of TeX cannot be complete.
local TEX_OK = {}
for name in pairs(greek) do TEX_OK[name] = true end
for w in ([[varphi vartheta varrho varsigma varpi Upsilon mathrm mathbf mathit mathsf mathtt
    mathcal mathbb mathfrak boldsymbol bm text textrm textbf textit textsf texttt emph
    operatorname frac dfrac tfrac sqrt left right big Big bigg Bigg middle hat tilde bar vec
    dot ddot widehat widetilde overline underline overrightarrow sum prod int log exp min max
    sup inf lim arg det sin cos tan ln sign quad qquad mid neq ne leq geq ll gg sim simeq
    cong equiv propto pm mp div circ bullet ast oplus otimes odot perp parallel in notin
    subset subseteq cup cap setminus forall exists neg land lor rightarrow leftarrow
    Rightarrow Leftarrow leftrightarrow mapsto uparrow downarrow ldots cdots vdots dots
    prime dagger hbar imath jmath top bot emptyset lfloor rfloor lceil rceil lbrace rbrace
    vert displaystyle textstyle scriptstyle strut phantom hspace vspace mathop limits
    nolimits underbrace overbrace scriptsize footnotesize small normalsize large Large
    tiny bf it rm sf tt]]):gmatch("%a+") do TEX_OK[w] = true end

--- latex_label(fn, what, s) -> 's' for cairolatex text (TeX control words from TEX_OK only).
function M.latex_label(fn, what, s)
  s = checked_string(fn, what, s)
  if find(s, "^^", 1, true) then fail(fn, "%s: '^^' (TeX character codes) is not allowed in cairolatex text", what) end
  for name in gmatch(s, "\\(%a+)") do
    if not TEX_OK[name] then
      fail(fn, "%s: TeX command \\%s is not allowed in cairolatex text (allowed: math symbols, fonts, accents, spacing; see docs/plot.md)", what, name)
    end
  end
  return M.str(fn, what, s)
end

--- label(fn, what, s, latex) -> the literal of a label: enhanced text with \alpha etc. as
--- UTF-8, or, for cairolatex, LaTeX checked by latex_label.
function M.label(fn, what, s, latex)
  if latex then return M.latex_label(fn, what, s) end
  s = checked_string(fn, what, s)
  s = gsub(s, "\\(%a+)", function(name) return greek[name] or ("\\" .. name) end)
  return M.str(fn, what, s)
end

M.greek = greek
return M
