-- optim: normalized steps with eps = 0 stay finite when the gradient norm is subnormal
-- (theory.md §D.5: saturated attention, logit gaps beyond ~708).
require "hardmax"
local data, model, optim = require "hardmax.data", require "hardmax.model", require "hardmax.optim"

describe("normalized steps on a subnormal gradient", function()
  local ds = data.new{X = {{{1, 0}, {0, 0}}}, Y = {1}, Z = {{1, 0}}, v = {1, 0}}
  local function saturated() return model.attention{v = {1, 0}, W = {{720, 0}, {0, 0}}} end

  it("the gradient is subnormal but non-zero", function()
    local g = saturated():grad(ds).W:get(1, 1)
    assert.is_true(g < 0 and -g < 2.2250738585072014e-308)
  end)

  it("ngd with eps = 0 moves by exactly lr along the normalized direction", function()
    local m = saturated()
    optim.ngd{lr = 0.1, eps = 0}:step(m, ds)
    assert.are.equal(720.1, m.W:get(1, 1))
    assert.are.equal(0, m.W:get(1, 2))
  end)

  it("normalized mirror descent with eps = 0 stays finite", function()
    for _, p in ipairs{1.75, 2, 3} do
      local m = saturated()
      optim.mirror{p = p, lr = 0.1, normalized = true, eps = 0}:step(m, ds)
      local expect = (720 ^ (p - 1) + 0.1) ^ (1 / (p - 1))
      assert.is_true(math.abs(m.W:get(1, 1) - expect) <= 1e-12 * expect)
    end
  end)
end)
