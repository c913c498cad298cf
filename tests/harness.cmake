# Experiment-harness integration tests (issue 8): a sweep through a real one-node Slurm cluster
# on localhost and through GNU parallel; both exit 77 (skipped) without root / packages.
foreach(t slurm parallel)
  add_test(NAME harness.${t}
    COMMAND bash ${CMAKE_SOURCE_DIR}/tests/slurm/test_${t}.sh $<TARGET_FILE:hardmax>
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(harness.${t} PROPERTIES SKIP_RETURN_CODE 77 LABELS "no-asan;harness"
    ENVIRONMENT "OPENBLAS_NUM_THREADS=1" TIMEOUT 120)
endforeach()
