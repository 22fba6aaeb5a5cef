// The BPF objects the skeletons load, compiled in compressed. cmake/VigilBpfSkeleton.cmake
// rewrites each skeleton's elf_bytes to return ElfBytes(<Name>Object(), sz) instead of the
// object as a string literal; libbpf reads that copy while the skeleton opens and loads, and
// the source frees it (ElfBytesScope) once its programs are loaded.
#pragma once

#include <cstddef>

#include "agent/core/embedded.h"

namespace vigil::ebpf {

// Defined by the generated <name>.object.gen.cpp beside each skeleton.
const EmbeddedBundle& VigilConnObject();
const EmbeddedBundle& VigilProcObject();

// The object of `bundle`, decompressed; the same copy until ReleaseElfBytes(bundle).
const void* ElfBytes(const EmbeddedBundle& bundle, size_t* size);
void ReleaseElfBytes(const EmbeddedBundle& bundle);

// Releases the object of `bundle` when it goes out of scope: held around a skeleton's open and
// load, whichever way they end.
class ElfBytesScope {
 public:
  explicit ElfBytesScope(const EmbeddedBundle& bundle) : bundle_(bundle) {}
  ~ElfBytesScope() { ReleaseElfBytes(bundle_); }
  ElfBytesScope(const ElfBytesScope&) = delete;
  ElfBytesScope& operator=(const ElfBytesScope&) = delete;

 private:
  const EmbeddedBundle& bundle_;
};

}  // namespace vigil::ebpf
