# Test and fuzz helpers. Unit tests sit beside their code (foo_test.cpp) and are added by the
# CMakeLists.txt of that folder; integration tests live in tests/integration/.
#
#   vigil_test(NAME n SOURCES a_test.cpp ... LIBS lib ... [LABEL unit|integration] [WHOLE])
#     one GoogleTest binary, its tests discovered by CTest and labelled (default: unit).
#     WHOLE: the binary is one CTest test instead of one per case, for suites whose cases
#     share an expensive fixture started once per process (a PostgreSQL server).
#   vigil_fuzz_target(NAME n SOURCES f.cpp LIBS lib ...)
#     one libFuzzer binary (VIGIL_BUILD_FUZZ, clang only: the dev preset), built into the
#     build's bin/ beside the programs.

include(GoogleTest)

function(vigil_test)
  if(NOT VIGIL_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(T "WHOLE" "NAME;LABEL" "SOURCES;LIBS" ${ARGN})
  if(NOT T_LABEL)
    set(T_LABEL unit)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  set_target_properties(${T_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  if(T_WHOLE)
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
