// Local outputs: where the agent writes events when it is not (yet) sending them to a hub.
//
//   stdout        one JSON object per line on standard output
//   jsonl:PATH    JSON Lines appended to PATH, rotated by size: PATH.1 is the newest old
//                 file, PATH.<keep> the oldest; older ones are removed
//   pretty        one readable line per event, coloured on a terminal (not in minimal builds)
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "agent/core/pipeline.h"
#include "agent/platform/env.h"

namespace vigil {

class JsonlFileOutput : public Output {
 public:
  static Result<std::unique_ptr<JsonlFileOutput>> Open(Env& env, std::string path, uint64_t max_bytes, int keep);
  Status Write(const Event& e) override;
  Status Flush() override;

 private:
  JsonlFileOutput(Env& env, std::string path, uint64_t max_bytes, int keep)
      : env_(env), path_(std::move(path)), max_bytes_(max_bytes), keep_(keep) {}
  Status Rotate();
  Env& env_;
  const std::string path_;
  const uint64_t max_bytes_;
  const int keep_;
  std::unique_ptr<AppendFile> file_;
};

class StreamOutput : public Output {
 public:
  enum class Format { kJsonLines, kPretty };
  StreamOutput(std::FILE* stream, Format format, bool color) : stream_(stream), format_(format), color_(color) {}
  Status Write(const Event& e) override;
  Status Flush() override;

 private:
  std::FILE* stream_;
  Format format_;
  bool color_;
};

// One readable line for an event (the pretty format). Defined only when VIGIL_WITH_PRETTY_OUTPUT.
std::string FormatEventPretty(const Event& e, bool color);

// Parses an --output / output.target value and opens it.
Result<std::unique_ptr<Output>> OpenOutput(Env& env, const std::string& spec, uint64_t jsonl_max_bytes,
                                           int jsonl_keep, bool stdout_is_terminal);

}  // namespace vigil
