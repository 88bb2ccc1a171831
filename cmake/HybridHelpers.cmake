# hybrid_library(NAME SOURCES ... LIBS ...): a static library of one layer, with the
# repository root on its include path so that code includes "layer/file.h".
function(hybrid_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_LIBS})
  # Position-independent, so that the shared libhybrid.so (lib/) can be made from them.
  set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  # The CLI, fuzzers and benchmarks link every layer library.
  set_property(GLOBAL APPEND PROPERTY HYBRID_ALL_LIBS ${name})
endfunction()

# _hybrid_add_test(NAME TIMEOUT LABELS COMMAND...): registers a test with ctest, run from the
# repository root with HYBRID_SOURCE_DIR and HYBRID_BINARY (the CLI) in its environment.
function(_hybrid_add_test name timeout labels)
  add_test(NAME ${name} COMMAND ${ARGN})
  set_tests_properties(${name} PROPERTIES
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    TIMEOUT ${timeout}
    LABELS "${labels}"
    ENVIRONMENT "HYBRID_SOURCE_DIR=${PROJECT_SOURCE_DIR};HYBRID_BINARY=$<TARGET_FILE:hybrid>")
endfunction()

# hybrid_test(NAME SOURCES ... LIBS ... [LABELS ...] [TIMEOUT s]): a Catch2 test binary
# registered with ctest. Tests run with the repository root as working directory so that
# data files (tests/vectors/...) are found by relative path; HYBRID_SOURCE_DIR and
# HYBRID_BINARY (the CLI) are in the environment.
function(hybrid_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  # Catch2's main is compiled once (it is slow to compile) and shared by every test.
  if(NOT TARGET hybrid_catch_main)
    add_library(hybrid_catch_main STATIC ${PROJECT_SOURCE_DIR}/tests/catch_main.cpp)
    target_link_libraries(hybrid_catch_main PUBLIC Catch2::Catch2)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} hybrid_catch_main)
  _hybrid_add_test(${name} "${ARG_TIMEOUT}" "${ARG_LABELS}" ${name})
endfunction()

# hybrid_script_test(NAME COMMAND ... [TIMEOUT s] [LABELS ...]): a test that is a script
# (shell or python) run from the repository root; same environment as hybrid_test.
function(hybrid_script_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "COMMAND;LABELS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  _hybrid_add_test(${name} "${ARG_TIMEOUT}" "${ARG_LABELS}" ${ARG_COMMAND})
endfunction()

# hybrid_fuzzer(NAME SOURCE file LIBS ...): a libFuzzer target, built only with
# -DHYBRID_FUZZ=ON under clang. scripts/run-fuzzers runs every target named *_fuzzer.
function(hybrid_fuzzer name)
  cmake_parse_arguments(ARG "" "SOURCE" "LIBS" ${ARGN})
  if(NOT HYBRID_FUZZ)
    return()
  endif()
  add_executable(${name}_fuzzer ${ARG_SOURCE})
  target_include_directories(${name}_fuzzer PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_options(${name}_fuzzer PRIVATE -fsanitize=fuzzer)
  target_link_options(${name}_fuzzer PRIVATE -fsanitize=fuzzer)
  target_link_libraries(${name}_fuzzer PRIVATE ${ARG_LIBS})
  set_property(GLOBAL APPEND PROPERTY HYBRID_FUZZERS ${name}_fuzzer)
endfunction()
