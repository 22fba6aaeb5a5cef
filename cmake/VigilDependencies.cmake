# Third-party libraries, one per job, all from Debian's packages:
#   JSON nlohmann-json3-dev, YAML libyaml-cpp-dev, CLI libcli11-dev, logging libspdlog-dev,
#   digests libmd-dev, the nftables header libnftables-dev (firewall collector),
#   MQTT libmosquitto-dev, compression libzstd-dev, regular expressions libpcre2-dev (detection),
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
# The agent links yaml-cpp statically (with --gc-sections only the parser it uses stays, about
# 200 KB, instead of a 330 KB shared library on the device); VIGIL_SHARED_YAML_CPP=ON links it
# shared, for distributions that insist.
option(VIGIL_SHARED_YAML_CPP "Link yaml-cpp as a shared library" OFF)
find_library(VIGIL_YAML_CPP_STATIC NAMES libyaml-cpp.a)
if(VIGIL_SHARED_YAML_CPP OR NOT VIGIL_YAML_CPP_STATIC)
  set(VIGIL_YAML_CPP yaml-cpp)
else()
  set(VIGIL_YAML_CPP ${VIGIL_YAML_CPP_STATIC})
endif()
find_library(VIGIL_LIBMD md)
find_path(VIGIL_LIBMD_INCLUDE sha2.h)
if(NOT VIGIL_LIBMD OR NOT VIGIL_LIBMD_INCLUDE)
  message(FATAL_ERROR "Vigil needs libmd (SHA-256 of executables): install the Debian package libmd-dev")
endif()

# The firewall collector loads libnftables at run time (dlopen), so the agent runs where it is
# missing; building it needs only the header.
if(VIGIL_WITH_FIREWALL)
  vigil_require_header(nftables/libnftables.h libnftables-dev)
endif()

# The login collector reads the journal through libsystemd, loaded at run time: only the
# header is needed to build (VIGIL_WITH_JOURNAL=OFF builds without it).
if(VIGIL_WITH_LOGIN AND VIGIL_WITH_JOURNAL)
  find_path(VIGIL_SD_JOURNAL_INCLUDE systemd/sd-journal.h)
  if(NOT VIGIL_SD_JOURNAL_INCLUDE)
    message(FATAL_ERROR "The login collector's journal input needs <systemd/sd-journal.h>: install the Debian "
                        "package libsystemd-dev, or configure with -DVIGIL_WITH_JOURNAL=OFF")
  endif()
endif()

# zstd: the uplink's event batches, and the files compiled in compressed (cmake/VigilEmbed.cmake:
# rules, policies, the event schema). A shared library every Debian-based device already has.
find_library(VIGIL_LIBZSTD zstd)
find_path(VIGIL_LIBZSTD_INCLUDE zstd.h)
if(NOT VIGIL_LIBZSTD OR NOT VIGIL_LIBZSTD_INCLUDE)
  message(FATAL_ERROR "Vigil needs zstd: install the Debian package libzstd-dev")
endif()

# The uplink (VIGIL_WITH_UPLINK): MQTT through libmosquitto (which brings OpenSSL for TLS). A
# shared library every Debian-based device already has.
if(VIGIL_WITH_UPLINK OR VIGIL_BUILD_HUB)
  find_library(VIGIL_LIBMOSQUITTO mosquitto)
  find_path(VIGIL_LIBMOSQUITTO_INCLUDE mosquitto.h)
  if(NOT VIGIL_LIBMOSQUITTO OR NOT VIGIL_LIBMOSQUITTO_INCLUDE)
    message(FATAL_ERROR "VIGIL_WITH_UPLINK and VIGIL_BUILD_HUB need libmosquitto: install the Debian package "
                        "libmosquitto-dev, or configure with -DVIGIL_WITH_UPLINK=OFF -DVIGIL_BUILD_HUB=OFF")
  endif()
endif()

# The detection engine (VIGIL_WITH_DETECT, and the hub, which runs the same rules): regular
# expressions through PCRE2 (8-bit, JIT where the platform has it). Posture policies use it too.
if(VIGIL_WITH_DETECT OR VIGIL_BUILD_HUB OR VIGIL_WITH_POSTURE)
  find_library(VIGIL_PCRE2 pcre2-8)
  find_path(VIGIL_PCRE2_INCLUDE pcre2.h)
  if(NOT VIGIL_PCRE2 OR NOT VIGIL_PCRE2_INCLUDE)
    message(FATAL_ERROR "VIGIL_WITH_DETECT, VIGIL_WITH_POSTURE and VIGIL_BUILD_HUB need PCRE2: install the Debian "
                        "package libpcre2-dev, or configure with -DVIGIL_WITH_DETECT=OFF -DVIGIL_WITH_POSTURE=OFF "
                        "-DVIGIL_BUILD_HUB=OFF")
  endif()
endif()

# The hub: SQLite (libsqlite3-dev), PostgreSQL's client library (libpq-dev), OpenSSL for its CA
# (libssl-dev) and HTTP (cpp-httplib, header-only, libcpp-httplib-dev).
if(VIGIL_BUILD_HUB)
  find_package(SQLite3 QUIET)
  if(NOT SQLite3_FOUND)
    message(FATAL_ERROR "VIGIL_BUILD_HUB needs SQLite: install the Debian package libsqlite3-dev, "
                        "or configure with -DVIGIL_BUILD_HUB=OFF")
  endif()
  find_package(PostgreSQL QUIET)
  if(NOT PostgreSQL_FOUND)
    message(FATAL_ERROR "VIGIL_BUILD_HUB needs libpq: install the Debian package libpq-dev, "
                        "or configure with -DVIGIL_BUILD_HUB=OFF")
  endif()
  find_package(OpenSSL 3 QUIET)
  if(NOT OpenSSL_FOUND)
    message(FATAL_ERROR "VIGIL_BUILD_HUB needs OpenSSL 3: install the Debian package libssl-dev, "
                        "or configure with -DVIGIL_BUILD_HUB=OFF")
  endif()
  vigil_require_header(httplib.h libcpp-httplib-dev)
endif()

find_package(spdlog QUIET)
if(NOT spdlog_FOUND)
  message(FATAL_ERROR "Vigil needs spdlog: install the Debian package libspdlog-dev")
endif()
# Logging is compiled in (spdlog and fmt header-only): only what the agent uses lands in the
# binary, instead of two shared libraries (660 KB) that a device would have to carry and that
# are almost wholly resident once loaded. Header-only, every source that logs compiles spdlog's
# and fmt's implementations again (a third of a build's compile time); the test builds
# (VIGIL_SHARED_LOGGING, on in the dev and release-test presets) link Debian's shared
# libraries instead.
option(VIGIL_SHARED_LOGGING "Link the shared spdlog and fmt libraries instead of compiling them in" OFF)
find_package(Threads REQUIRED)
add_library(vigil_logging INTERFACE)
if(VIGIL_SHARED_LOGGING)
  target_link_libraries(vigil_logging INTERFACE spdlog::spdlog Threads::Threads)
else()
  # fmt compiled in without the types Vigil never formats (float, long double, 128-bit
  # integers): about 9 KB less. fmt would print such an argument as nothing, so the test
  # source_has_no_unformattable_types fails if one appears in the sources. Only when fmt is
  # compiled in: a shared libfmt is built with them anyway, and the headers should match it.
  target_compile_definitions(vigil_logging INTERFACE SPDLOG_FMT_EXTERNAL FMT_HEADER_ONLY
                                                     FMT_USE_FLOAT=0 FMT_USE_LONG_DOUBLE=0 FMT_USE_INT128=0)
  target_link_libraries(vigil_logging INTERFACE Threads::Threads)
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
