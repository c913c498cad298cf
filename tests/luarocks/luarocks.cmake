# LuaRocks packaging (issue 15): `luarocks make` of a copy of the clone into a temporary tree,
# then stock lua5.4 runs an experiment with the installed hardmax.so. Builds its own Release
# module, so the sanitizer run skips it.
add_test(NAME luarocks.make
  COMMAND bash ${CMAKE_SOURCE_DIR}/tests/luarocks/test_luarocks.sh ${CMAKE_SOURCE_DIR}
          ${CMAKE_BINARY_DIR}/luarocks)
set_tests_properties(luarocks.make PROPERTIES LABELS "luarocks;no-asan" SKIP_RETURN_CODE 77
  TIMEOUT 600 ENVIRONMENT "HOME=${CMAKE_BINARY_DIR}/luarocks-home")
