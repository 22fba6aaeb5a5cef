# The eBPF toolchain (VIGIL_WITH_EBPF): clang compiles the kernel side (*.bpf.c) for the BPF
# target against a vmlinux.h that bpftool dumps from the build machine's BTF; bpftool turns
# each object into a skeleton header (the object embedded, with typed accessors); the agent
# links libbpf. Anything missing stops the configure step with what to install, or how to
# build without eBPF.
#
# Cache variables:
#   VIGIL_BTF_FILE    the BTF to compile against (default: the running kernel's,
#                     /sys/kernel/btf/vmlinux). Programs are CO-RE: libbpf relocates their
#                     field offsets to the target kernel's BTF when they are loaded, so this
#                     only has to hold every type and field the programs name.
#   VIGIL_BPF_CLANG   clang with the BPF target
#   VIGIL_BPFTOOL     bpftool
#
# Defines:
#   vigil_libbpf                      link target: libbpf (static when libbpf.a exists)
#   VIGIL_BPF_GEN_DIR                 where vmlinux.h and the skeletons are generated
#   vigil_bpf_skeleton(NAME n SOURCE x.bpf.c [DEPENDS header...])
#     compiles x.bpf.c and generates ${VIGIL_BPF_GEN_DIR}/n.skel.h (struct n, n__open...).
#     Add that header to a target's sources so it is generated before the target compiles.

if(NOT VIGIL_WITH_EBPF)
  return()
endif()

set(VIGIL_BTF_FILE "/sys/kernel/btf/vmlinux" CACHE FILEPATH "BTF that vmlinux.h is generated from")
find_program(VIGIL_BPF_CLANG NAMES clang clang-19 clang-18 clang-17 clang-16 clang-15 clang-14)
find_program(VIGIL_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin /usr/local/sbin)
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(VIGIL_LIBBPF_PC QUIET libbpf>=0.8)
endif()

set(_vigil_ebpf_missing)
if(NOT VIGIL_BPF_CLANG OR NOT EXISTS "${VIGIL_BPF_CLANG}")
  list(APPEND _vigil_ebpf_missing "clang (Debian package clang)")
else()
  execute_process(COMMAND ${VIGIL_BPF_CLANG} --version OUTPUT_VARIABLE _vigil_clang_version)
  if(_vigil_clang_version MATCHES "clang version ([0-9]+)" AND CMAKE_MATCH_1 LESS 11)
    list(APPEND _vigil_ebpf_missing "clang 11 or newer (${VIGIL_BPF_CLANG} is ${CMAKE_MATCH_1})")
  endif()
endif()
if(NOT VIGIL_BPFTOOL OR NOT EXISTS "${VIGIL_BPFTOOL}")
  list(APPEND _vigil_ebpf_missing "bpftool (Debian package bpftool)")
endif()
if(NOT VIGIL_LIBBPF_PC_FOUND)
  list(APPEND _vigil_ebpf_missing "libbpf 0.8 or newer, found by pkg-config (Debian packages libbpf-dev pkg-config)")
endif()
if(NOT EXISTS "${VIGIL_BTF_FILE}")
  list(APPEND _vigil_ebpf_missing
       "the kernel BTF ${VIGIL_BTF_FILE} (a kernel built with CONFIG_DEBUG_INFO_BTF, or -DVIGIL_BTF_FILE=<file>)")
endif()
if(_vigil_ebpf_missing)
  list(JOIN _vigil_ebpf_missing "\n  " _vigil_ebpf_missing_text)
  message(FATAL_ERROR "VIGIL_WITH_EBPF is ON but these are missing:\n  ${_vigil_ebpf_missing_text}\n"
                      "Install them (scripts/deps.sh build), or configure with -DVIGIL_WITH_EBPF=OFF "
                      "to build without the eBPF sources.")
endif()

# __TARGET_ARCH_<arch> selects the register layout of bpf_tracing.h's helpers.
string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" _vigil_cpu)
if(_vigil_cpu MATCHES "^(x86_64|amd64|i[3-6]86|x86)$")
  set(VIGIL_BPF_ARCH x86)
elseif(_vigil_cpu MATCHES "^(aarch64|arm64)")
  set(VIGIL_BPF_ARCH arm64)
elseif(_vigil_cpu MATCHES "^arm")
  set(VIGIL_BPF_ARCH arm)
elseif(_vigil_cpu MATCHES "^mips")
  set(VIGIL_BPF_ARCH mips)
elseif(_vigil_cpu MATCHES "^riscv")
  set(VIGIL_BPF_ARCH riscv)
elseif(_vigil_cpu MATCHES "^(ppc|powerpc)")
  set(VIGIL_BPF_ARCH powerpc)
elseif(_vigil_cpu MATCHES "^s390")
  set(VIGIL_BPF_ARCH s390)
elseif(_vigil_cpu MATCHES "^loongarch")
  set(VIGIL_BPF_ARCH loongarch)
else()
  message(FATAL_ERROR "VIGIL_WITH_EBPF: no BPF target arch known for CMAKE_SYSTEM_PROCESSOR "
                      "'${CMAKE_SYSTEM_PROCESSOR}'; configure with -DVIGIL_WITH_EBPF=OFF")
endif()

# libbpf: linked statically when the archive is there (the agent then needs libelf and zlib,
# which libbpf uses to read the embedded objects, but no libbpf.so on the device).
find_library(VIGIL_LIBBPF_STATIC NAMES libbpf.a HINTS ${VIGIL_LIBBPF_PC_LIBRARY_DIRS})
add_library(vigil_libbpf INTERFACE)
if(VIGIL_LIBBPF_STATIC)
  target_link_libraries(vigil_libbpf INTERFACE ${VIGIL_LIBBPF_STATIC} elf z)
else()
  target_link_libraries(vigil_libbpf INTERFACE ${VIGIL_LIBBPF_PC_LINK_LIBRARIES})
endif()
target_include_directories(vigil_libbpf SYSTEM INTERFACE ${VIGIL_LIBBPF_PC_INCLUDE_DIRS})

set(VIGIL_BPF_GEN_DIR "${CMAKE_BINARY_DIR}/bpf")
file(MAKE_DIRECTORY "${VIGIL_BPF_GEN_DIR}")
add_custom_command(
  OUTPUT "${VIGIL_BPF_GEN_DIR}/vmlinux.h"
  COMMAND sh -c "\"$0\" btf dump file \"$1\" format c > vmlinux.h.tmp && mv vmlinux.h.tmp vmlinux.h"
          "${VIGIL_BPFTOOL}" "${VIGIL_BTF_FILE}"
  WORKING_DIRECTORY "${VIGIL_BPF_GEN_DIR}"
  COMMENT "Generating vmlinux.h from ${VIGIL_BTF_FILE}"
  VERBATIM)

set(_vigil_bpf_includes "-I${VIGIL_BPF_GEN_DIR}")
foreach(dir IN LISTS VIGIL_LIBBPF_PC_INCLUDE_DIRS)
  list(APPEND _vigil_bpf_includes "-I${dir}")
endforeach()
set(VIGIL_BPF_CFLAGS -target bpf -mcpu=v3 -g -O2 -Wall -Werror -D__TARGET_ARCH_${VIGIL_BPF_ARCH}
    -I${PROJECT_SOURCE_DIR} ${_vigil_bpf_includes})

function(vigil_bpf_skeleton)
  cmake_parse_arguments(B "" "NAME;SOURCE" "DEPENDS" ${ARGN})
  get_filename_component(src "${B_SOURCE}" ABSOLUTE)
  set(obj "${VIGIL_BPF_GEN_DIR}/${B_NAME}.bpf.o")
  set(linked "${VIGIL_BPF_GEN_DIR}/${B_NAME}.o")
  set(skel "${VIGIL_BPF_GEN_DIR}/${B_NAME}.skel.h")
  add_custom_command(
    OUTPUT "${obj}"
    COMMAND ${VIGIL_BPF_CLANG} ${VIGIL_BPF_CFLAGS} -c "${src}" -o "${obj}"
    DEPENDS "${src}" "${VIGIL_BPF_GEN_DIR}/vmlinux.h" ${B_DEPENDS}
    COMMENT "Compiling BPF object ${B_NAME}"
    VERBATIM)
  # `gen object` links the object alone, which drops the DWARF (the BTF stays). The skeleton
  # takes that object from a compressed copy (VigilBpfSkeleton.cmake, VigilEmbed.cmake), written
  # beside it as ${B_NAME}.object.gen.cpp (a source of the target that includes the skeleton)
  # and defining vigil::ebpf::<Name>Object() (vigil_conn: VigilConnObject).
  set(function "")
  string(REPLACE "_" ";" words "${B_NAME}")
  foreach(w IN LISTS words)
    string(SUBSTRING "${w}" 0 1 first)
    string(TOUPPER "${first}" first)
    string(SUBSTRING "${w}" 1 -1 others)
    string(APPEND function "${first}${others}")
  endforeach()
  set(function "vigil::ebpf::${function}Object")
  set(object_cpp "${VIGIL_BPF_GEN_DIR}/${B_NAME}.object.gen.cpp")
  add_custom_command(
    OUTPUT "${skel}" "${object_cpp}"
    COMMAND ${VIGIL_BPFTOOL} gen object "${linked}" "${obj}"
    COMMAND sh -c "\"$0\" gen skeleton \"$1\" name \"$2\" > \"$3.tmp\""
            "${VIGIL_BPFTOOL}" "${linked}" "${B_NAME}" "${skel}"
    COMMAND ${CMAKE_COMMAND} "-DSKEL=${skel}.tmp" "-DNAME=${B_NAME}" "-DFUNCTION=${function}"
            -P "${PROJECT_SOURCE_DIR}/cmake/VigilBpfSkeleton.cmake"
    COMMAND ${CMAKE_COMMAND} "-DOUTPUT=${object_cpp}" "-DFUNCTION=${function}" "-DFILES=${B_NAME}.o$<SEMICOLON>${linked}"
            -P "${PROJECT_SOURCE_DIR}/cmake/VigilEmbed.cmake"
    COMMAND ${CMAKE_COMMAND} -E rename "${skel}.tmp" "${skel}"
    DEPENDS "${obj}" "${PROJECT_SOURCE_DIR}/cmake/VigilBpfSkeleton.cmake" "${PROJECT_SOURCE_DIR}/cmake/VigilEmbed.cmake"
    COMMENT "Generating BPF skeleton ${B_NAME}.skel.h"
    VERBATIM)
endfunction()
