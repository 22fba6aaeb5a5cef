# Third-party libraries, one per job, all from Debian's packages:
#   JSON nlohmann-json3-dev, YAML libyaml-cpp-dev, CLI libcli11-dev, logging libspdlog-dev,
#   digests libmd-dev,
#   tests libgtest-dev, benchmarks libbenchmark-dev. scripts/deps.sh installs them.
# A library that is needed but missing stops the configure step with the package to install.

function(vigil_require_header header package)
  include(CheckIncludeFileCXX)
  string(MAKE_C_IDENTIFIER "HAVE_${header}" var)
  check_include_file_cxx("${header}" ${var})
  if(NOT ${var})
    message(FATAL_ERROR "Vigil needs <${header}>: install the Debian package ${package} "
                        "(or run scripts/deps.sh)")
  endif()
endfunction()

find_package(nlohmann_json 3 QUIET)
if(NOT nlohmann_json_FOUND)
  message(FATAL_ERROR "Vigil needs nlohmann JSON: install the Debian package nlohmann-json3-dev")
endif()
vigil_require_header(CLI/CLI.hpp libcli11-dev)

find_package(yaml-cpp QUIET)
if(NOT yaml-cpp_FOUND)
  message(FATAL_ERROR "Vigil needs yaml-cpp: install the Debian package libyaml-cpp-dev")
endif()
find_library(VIGIL_LIBMD md)
find_path(VIGIL_LIBMD_INCLUDE sha2.h)
if(NOT VIGIL_LIBMD OR NOT VIGIL_LIBMD_INCLUDE)
  message(FATAL_ERROR "Vigil needs libmd (SHA-256 of executables): install the Debian package libmd-dev")
endif()

find_package(spdlog QUIET)
if(NOT spdlog_FOUND)
  message(FATAL_ERROR "Vigil needs spdlog: install the Debian package libspdlog-dev")
endif()

if(VIGIL_BUILD_TESTS)
  find_package(GTest QUIET)
  if(NOT GTest_FOUND)
    message(FATAL_ERROR "Tests need GoogleTest: install the Debian package libgtest-dev")
  endif()
endif()
if(VIGIL_BUILD_BENCH)
  find_package(benchmark QUIET)
  if(NOT benchmark_FOUND)
    message(FATAL_ERROR "Benchmarks need Google Benchmark: install the Debian package libbenchmark-dev")
  endif()
endif()
