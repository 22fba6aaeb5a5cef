# Fails when a generated document in the repository differs from what its generator prints
# now. Run by CTest:
#   cmake -DCOMMAND="prog|arg|..." -DWORKDIR=<source dir> -DEXPECTED=docs/x.md -DGENERATED=<build>/x.md
#         -P check_generated.cmake
# COMMAND's arguments are separated by '|'; it runs in WORKDIR, as `make docs` runs it in the
# source directory. The fresh output is kept in GENERATED for a diff.
string(REPLACE "|" ";" cmd "${COMMAND}")
execute_process(COMMAND ${cmd} WORKING_DIRECTORY "${WORKDIR}" OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "generator failed (${rc}): ${COMMAND}\n${err}")
endif()
file(WRITE "${GENERATED}" "${out}")
if(NOT EXISTS "${EXPECTED}")
  message(FATAL_ERROR "${EXPECTED} is missing: run `make docs`")
endif()
file(READ "${EXPECTED}" want)
if(NOT out STREQUAL want)
  message(FATAL_ERROR "${EXPECTED} is out of date: run `make docs`\n"
                      "(see the difference: diff -u ${EXPECTED} ${GENERATED})")
endif()
