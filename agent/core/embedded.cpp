#include "agent/core/embedded.h"

#include <zstd.h>

#include <cstdio>
#include <cstdlib>

namespace vigil {

EmbeddedTexts::EmbeddedTexts(const EmbeddedBundle& bundle) : raw_(bundle.raw_size, '\0') {
  const size_t n = ZSTD_decompress(raw_.data(), raw_.size(), bundle.zstd.data(), bundle.zstd.size());
  if (ZSTD_isError(n) || n != bundle.raw_size) {
    std::fprintf(stderr, "vigil: embedded files (%s, ...) do not decompress (%s): the binary is damaged\n",
                 bundle.files.empty() ? "none" : std::string(bundle.files.front().name).c_str(),
                 ZSTD_isError(n) ? ZSTD_getErrorName(n) : "wrong size");
    std::abort();
  }
}

std::string EmbeddedText(const EmbeddedBundle& bundle, const EmbeddedFile& file) {
  return std::string(EmbeddedTexts(bundle).Text(file));
}

}  // namespace vigil
