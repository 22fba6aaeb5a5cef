# Precompiled headers. Nearly every source includes nlohmann/json (through core/event.h), and
# every test includes GoogleTest; parsing them is most of a debug compile. They are compiled
# once per build into two headers that every C++ target reuses:
#   vigil_pch       nlohmann/json and the standard library, for the agent's own code;
#   vigil_test_pch  the same plus GoogleTest and GoogleMock, for test binaries.
# A target compiled with other optimisation flags (the -Os collectors of the release build)
# sets DISABLE_PRECOMPILE_HEADERS: GCC will not use a header precompiled at another level.

option(VIGIL_PCH "Precompile nlohmann/json and GoogleTest once per build" ON)

set(_vigil_pch_headers
  <nlohmann/json.hpp> <algorithm> <chrono> <cstdint> <functional> <map> <memory> <mutex>
  <optional> <string> <string_view> <thread> <unordered_map> <vector>)

# Call once, at the end of the top-level CMakeLists.txt: every target defined gets the headers.
function(vigil_precompile_headers)
  if(NOT VIGIL_PCH)
    return()
  endif()
  add_library(vigil_pch STATIC ${PROJECT_SOURCE_DIR}/cmake/pch.cpp)
  target_link_libraries(vigil_pch PRIVATE nlohmann_json::nlohmann_json)
  target_precompile_headers(vigil_pch PRIVATE ${_vigil_pch_headers})
  if(VIGIL_BUILD_TESTS)
    add_library(vigil_test_pch STATIC ${PROJECT_SOURCE_DIR}/cmake/pch.cpp)
    target_link_libraries(vigil_test_pch PRIVATE nlohmann_json::nlohmann_json GTest::gtest GTest::gmock)
    target_precompile_headers(vigil_test_pch PRIVATE ${_vigil_pch_headers} <gtest/gtest.h> <gmock/gmock.h>)
  endif()
  get_property(tests GLOBAL PROPERTY VIGIL_TESTS)
  _vigil_pch_directory(${PROJECT_SOURCE_DIR} "${tests}")
endfunction()

function(_vigil_pch_directory dir tests)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(t IN LISTS targets)
    get_target_property(type ${t} TYPE)
    get_target_property(sources ${t} SOURCES)
    if(NOT type MATCHES "^(STATIC_LIBRARY|OBJECT_LIBRARY|EXECUTABLE)$" OR NOT sources MATCHES "\\.cpp"
       OR t MATCHES "^vigil_(test_)?pch$")
      continue()
    endif()
    if(t IN_LIST tests)
      target_precompile_headers(${t} REUSE_FROM vigil_test_pch)
    else()
      target_precompile_headers(${t} REUSE_FROM vigil_pch)
    endif()
  endforeach()
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub IN LISTS subdirs)
    _vigil_pch_directory(${sub} "${tests}")
  endforeach()
endfunction()
