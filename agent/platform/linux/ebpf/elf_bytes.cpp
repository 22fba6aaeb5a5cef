#include "agent/platform/linux/ebpf/elf_bytes.h"

#include <map>
#include <memory>
#include <mutex>

namespace vigil::ebpf {
namespace {

std::mutex mu;
std::map<const EmbeddedBundle*, std::unique_ptr<EmbeddedTexts>>& Objects() {
  static auto* objects = new std::map<const EmbeddedBundle*, std::unique_ptr<EmbeddedTexts>>();
  return *objects;
}

}  // namespace

const void* ElfBytes(const EmbeddedBundle& bundle, size_t* size) {
  std::lock_guard lock(mu);
  std::unique_ptr<EmbeddedTexts>& texts = Objects()[&bundle];
  if (!texts) texts = std::make_unique<EmbeddedTexts>(bundle);
  const std::string_view object = texts->Text(bundle.files.front());
  *size = object.size();
  return object.data();
}

void ReleaseElfBytes(const EmbeddedBundle& bundle) {
  std::lock_guard lock(mu);
  Objects().erase(&bundle);
}

}  // namespace vigil::ebpf
