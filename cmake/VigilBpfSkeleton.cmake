# Build step of vigil_bpf_skeleton (VigilEbpf.cmake): makes a skeleton from bpftool take its
# BPF object from the compressed copy compiled into the binary (VigilEmbed.cmake) instead of
# the string literal bpftool writes, about four times the size.
#
#   cmake -DSKEL=x.skel.h -DNAME=vigil_conn -DFUNCTION=vigil::ebpf::VigilConnObject -P VigilBpfSkeleton.cmake
#
# rewrites SKEL in place: the body of NAME__elf_bytes becomes a call of
# vigil::ebpf::ElfBytes(FUNCTION(), sz) (agent/platform/linux/ebpf/elf_bytes.h).

file(READ ${SKEL} text)
set(head "static inline const void *${NAME}__elf_bytes(size_t *sz)\n{\n")
string(FIND "${text}" "${head}" start)
if(start EQUAL -1)
  message(FATAL_ERROR "${SKEL}: no definition of ${NAME}__elf_bytes (has bpftool's skeleton format changed?)")
endif()
string(LENGTH "${head}" head_length)
math(EXPR body "${start} + ${head_length}")
string(SUBSTRING "${text}" ${body} -1 rest)
string(FIND "${rest}" "\n}\n" body_length)
if(body_length EQUAL -1)
  message(FATAL_ERROR "${SKEL}: ${NAME}__elf_bytes has no end")
endif()
string(SUBSTRING "${text}" 0 ${body} before)
string(SUBSTRING "${rest}" ${body_length} -1 after)

string(TOUPPER "__${NAME}_SKEL_H__" guard)
set(define "#define ${guard}\n")
string(FIND "${before}" "${define}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${SKEL}: no include guard ${guard}")
endif()
string(REPLACE "${define}" "${define}\n#include \"agent/platform/linux/ebpf/elf_bytes.h\"\n" before "${before}")

file(WRITE ${SKEL} "${before}\treturn vigil::ebpf::ElfBytes(${FUNCTION}(), sz);${after}")
