# The Jupyter kernel against real clients (issue 15): Debian's nbconvert executes the flagship
# notebook, and a jupyter_client script drives interrupts, completion, inspection, restart and
# shutdown. Debian's python3 (not a pyenv/venv one earlier on PATH) has the packages.
find_program(HM_DEBIAN_PYTHON3 python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT HM_DEBIAN_PYTHON3)
  find_program(HM_DEBIAN_PYTHON3 python3)
endif()
set(HM_JUPYTER_WORK ${CMAKE_BINARY_DIR}/jupyter)
add_test(NAME jupyter.notebook
  COMMAND ${HM_DEBIAN_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/jupyter/check_kernel.py notebook
          $<TARGET_FILE:hardmax> ${CMAKE_SOURCE_DIR}/examples/notebooks/svm_f3_local_convergence.ipynb
          ${HM_JUPYTER_WORK}/notebook)
add_test(NAME jupyter.client
  COMMAND ${HM_DEBIAN_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/jupyter/check_kernel.py client
          $<TARGET_FILE:hardmax> ${HM_JUPYTER_WORK}/client)
file(MAKE_DIRECTORY ${HM_JUPYTER_WORK}/notebook ${HM_JUPYTER_WORK}/client)
set_tests_properties(jupyter.notebook jupyter.client PROPERTIES LABELS "jupyter" SKIP_RETURN_CODE 77
  TIMEOUT 180 ENVIRONMENT "OPENBLAS_NUM_THREADS=1;HOME=${HM_JUPYTER_WORK}")
