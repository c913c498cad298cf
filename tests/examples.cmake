# Every example at reduced size (issue 6): lines of tests/examples*.txt are
#   <script> | <args> | <check> & <check> & ...   (empty checks: all checks of the report)
file(GLOB HM_EXAMPLE_LISTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/examples*.txt)
foreach(list ${HM_EXAMPLE_LISTS})
  file(STRINGS ${list} lines)
  foreach(line ${lines})
    if(line MATCHES "^[ \t]*#" OR line MATCHES "^[ \t]*$")
      continue()
    endif()
    string(REPLACE "|" ";" parts "${line}")
    list(GET parts 0 script)
    list(GET parts 1 args)
    list(GET parts 2 checks)
    string(STRIP "${script}" script)
    string(STRIP "${args}" args)
    string(STRIP "${checks}" checks)
    separate_arguments(arglist UNIX_COMMAND "${args}")
    get_filename_component(name ${script} NAME_WE)
    set(outdir ${CMAKE_BINARY_DIR}/example-out/${name})
    add_test(NAME example.${name}
      COMMAND $<TARGET_FILE:hardmax> ${CMAKE_SOURCE_DIR}/tests/run_example.lua
              ${CMAKE_SOURCE_DIR}/${script} "${checks}" ${arglist} --out ${outdir}
      WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
    set_tests_properties(example.${name} PROPERTIES LABELS "example;no-asan"
      ENVIRONMENT "OPENBLAS_NUM_THREADS=1")
  endforeach()
endforeach()
