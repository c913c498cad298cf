-- hardmax.loss: values, derivatives, stability, custom losses, errors.
require "hardmax"
local loss = require "hardmax.loss"
local data = require "hardmax.data"

local function tt(a) return a:totable() end
local function close(a, b, tol)
  tol = tol or 1e-15
  assert.is_true(math.abs(a - b) <= tol * math.max(1, math.abs(b)),
    string.format("%.17g vs %.17g", a, b))
end

describe("loss", function()
  it("logistic: log(1+e^-x) and -1/(1+e^x), stable at both tails", function()
    local l = loss.logistic
    close(l:value(0), math.log(2))
    close(l:deriv(0), -0.5)
    close(l:value(1), math.log(1 + math.exp(-1)))
    close(l:deriv(1), -1 / (1 + math.exp(1)))
    close(l:value(-2), math.log(1 + math.exp(2)))
    -- far tails: no overflow, no cancellation
    close(l:value(800), math.exp(-800), 1e-15)     -- 0 (underflows to exactly 0)
    close(l:value(40), math.exp(-40), 1e-14)       -- log1p keeps tiny values exact
    close(l:deriv(40), -math.exp(-40), 1e-14)
    close(l:value(-800), 800)
    close(l:deriv(-800), -1)
    close(l:deriv(710), -math.exp(-710), 1e-13)     -- subnormal-free tail still accurate
    assert.are.equal("logistic", l:name())
  end)

  it("exponential: e^-x with overflow reported as an error", function()
    local l = loss.exponential
    close(l:value(0), 1)
    close(l:deriv(2), -math.exp(-2))
    close(l:value(-700), math.exp(700), 1e-15)
    assert.has_error(function() l:value(-710) end)
    local ok, msg = pcall(l.value, l, -710)
    assert.truthy(msg:match("^loss%.value: exponential loss value overflows"))
  end)

  it("correlation: -x and -1", function()
    close(loss.correlation:value(3.5), -3.5)
    assert.are.equal(-1, loss.correlation:deriv(1e300))
  end)

  it("evaluates elementwise on mats", function()
    local x = data.new { X = { { { 0 }, { 1 } } }, Y = { 1 } }.X
    local v = tt(loss.logistic:value(x))
    close(v[1][1][1], math.log(2))
    close(v[1][2][1], math.log(1 + math.exp(-1)))
  end)

  it("custom losses call Lua functions", function()
    local c = loss.custom(function(x) return x * x end, function(x) return 2 * x end)
    assert.are.equal(9, c:value(3))
    assert.are.equal(6, c:deriv(3))
    assert.are.equal("custom", c:name())
    assert.truthy(tostring(c):match("loss%(custom%)"))
    local bad = loss.custom(function() return "x" end, function() error("nope") end)
    assert.has_error(function() bad:value(1) end,
      "loss.value: value function returned string, number expected")
    local ok, msg = pcall(bad.deriv, bad, 1)
    assert.truthy(msg:match("loss%.deriv: derivative raised: .*nope"))
    assert.has_error(function() loss.custom() end,
      "loss.custom: bad argument #1 (function expected, got no value)")
    assert.has_error(function() loss.custom(1, 2) end,
      "loss.custom: bad argument #1 (function expected, got number)")
  end)

  it("a custom loss must not use its own model; the model stays usable afterwards", function()
    local model, data = require "hardmax.model", require "hardmax.data"
    local ds, big = data.grand(3, 4, 5, {seed = 1}), data.grand(20, 30, 5, {seed = 2})
    local m, copy
    local logistic = function(x) return math.log(1 + math.exp(-x)) end
    local uses = loss.custom(function(x) m:loss(big); return logistic(x) end, function(x) return -1 / (1 + math.exp(x)) end)
    m = model.attention{v = ds.v, loss = uses}
    local ok, msg = pcall(m.loss, m, ds)
    assert.is_false(ok)
    assert.truthy(msg:find("a custom loss must not use its own model", 1, true), msg)
    -- a copy made beforehand may be evaluated from inside the loss
    local other = loss.custom(function(x) copy:loss(big); return logistic(x) end, function(x) return -1 / (1 + math.exp(x)) end)
    m = model.attention{v = ds.v, loss = other}
    copy = model.attention{v = ds.v}
    local ref = model.attention{v = ds.v}:loss(ds)
    assert.is_true(math.abs(m:loss(ds) - ref) < 1e-15)
    assert.is_true(math.abs(m:loss(ds) - ref) < 1e-15)   -- and again: the guard was released
  end)

  it("rejects bad arguments", function()
    assert.has_error(function() loss.logistic:value(0 / 0) end)
    assert.has_error(function() loss.logistic:value("a") end,
      "loss.value: bad argument #2 (number expected, got string)")
    assert.has_error(function() loss.logistic.value(1, 2) end,
      "loss.value: bad argument #1 (loss expected, got number)")
  end)
end)
