# Test and fuzz helpers. Unit tests sit beside their code (foo_test.cpp) and are added by the
# CMakeLists.txt of that folder; integration tests live in tests/integration/.
#
#   vigil_test(NAME n SOURCES a_test.cpp ... LIBS lib ... [LABEL unit|integration] [WHOLE])
#     one GoogleTest binary, labelled (default: unit). A unit test binary is one CTest test:
#     its cases take milliseconds, and starting a sanitized process for each of them cost
#     ten times what the cases do. An integration binary's cases are discovered and run as
#     CTest tests of their own, in parallel (they wait on real processes and the kernel),
#     unless WHOLE: for suites whose cases share an expensive fixture started once per
#     process (a PostgreSQL server).
#   vigil_fuzz_target(NAME n SOURCES f.cpp LIBS lib ...)
#     one libFuzzer binary (VIGIL_BUILD_FUZZ, clang only: the dev preset), built into the
#     build's bin/ beside the programs.

include(GoogleTest)

# The integration tests (real processes, the kernel, servers) are built with the other tests
# unless this is off: the release-test preset runs the unit tests only, the sanitized dev
# build runs both.
option(VIGIL_INTEGRATION_TESTS "With VIGIL_BUILD_TESTS: build the integration tests too" ON)

function(vigil_test)
  if(NOT VIGIL_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(T "WHOLE" "NAME;LABEL" "SOURCES;LIBS" ${ARGN})
  if(NOT T_LABEL)
    set(T_LABEL unit)
  endif()
  if(T_LABEL STREQUAL "integration" AND NOT VIGIL_INTEGRATION_TESTS)
    return()
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  set_target_properties(${T_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  if(T_WHOLE OR T_LABEL STREQUAL "unit")
    add_test(NAME ${T_NAME} COMMAND ${T_NAME})
    set_tests_properties(${T_NAME} PROPERTIES LABELS ${T_LABEL})
  else()
    gtest_discover_tests(${T_NAME} PROPERTIES LABELS ${T_LABEL} DISCOVERY_TIMEOUT 60)
  endif()
  set_property(GLOBAL APPEND PROPERTY VIGIL_TESTS ${T_NAME})
endfunction()

function(vigil_fuzz_target)
  if(NOT VIGIL_BUILD_FUZZ)
    return()
  endif()
  cmake_parse_arguments(F "" "NAME" "SOURCES;LIBS" ${ARGN})
  add_executable(${F_NAME} ${F_SOURCES})
  target_link_libraries(${F_NAME} PRIVATE ${F_LIBS})
  target_link_options(${F_NAME} PRIVATE -fsanitize=fuzzer)
  set_property(GLOBAL APPEND PROPERTY VIGIL_FUZZ_TARGETS ${F_NAME})
endfunction()
