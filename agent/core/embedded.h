// Files compiled into a binary by vigil_embed (cmake/VigilEmbed.cmake): the built-in rules,
// lists, posture policies and event schema, and the eBPF objects. A bundle's files are joined
// into one zstd frame, decompressed when read and not kept: their text costs memory while its
// reader needs it, not for the life of the process, and the binary carries about a seventh of
// it.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace vigil {

struct EmbeddedFile {
  std::string_view name;  // as its bundle names it ("builtin:rules/brute_force.yml")
  size_t offset;          // in the decompressed bundle
  size_t size;
};

struct EmbeddedBundle {
  std::span<const unsigned char> zstd;  // one frame
  size_t raw_size;                      // of the joined files
  std::span<const EmbeddedFile> files;
};

// A bundle decompressed; each Text is a view into it, valid while it lives. The frame was
// made by the build and is read-only in the binary: one that does not decompress to its
// recorded size means a damaged binary, and aborts with a message saying so.
class EmbeddedTexts {
 public:
  explicit EmbeddedTexts(const EmbeddedBundle& bundle);
  std::string_view Text(const EmbeddedFile& file) const { return std::string_view(raw_).substr(file.offset, file.size); }

 private:
  std::string raw_;
};

// One file's text: its bundle is decompressed and the rest dropped.
std::string EmbeddedText(const EmbeddedBundle& bundle, const EmbeddedFile& file);

}  // namespace vigil
