-- Placeholder main job until the flagship experiment lands: prints the configuration.
local c = hardmax.config()
print(("hardmax %s (%s), %s, %s, %d BLAS thread(s), seed %d"):format(
  c.version, c.git_commit, c.lua, c.openblas_core, c.threads, c.seed))
local A = mat.zeros(3, 4)
print("mat.zeros(3,4):", A)
