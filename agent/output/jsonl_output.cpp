#include "agent/output/outputs.h"

namespace vigil {

Result<std::unique_ptr<JsonlFileOutput>> JsonlFileOutput::Open(Env& env, std::string path, uint64_t max_bytes,
                                                               int keep) {
  std::unique_ptr<JsonlFileOutput> out(new JsonlFileOutput(env, std::move(path), max_bytes, keep));
  auto f = env.OpenAppend(out->path_);
  if (!f.ok()) return f.status();
  out->file_ = std::move(*f);
  return out;
}

Status JsonlFileOutput::Rotate() {
  file_.reset();
  if (keep_ == 0) {
    Status st = env_.Remove(path_);
    if (!st.ok() && st.code() != Status::Code::kNotFound) return st;
  } else {
    for (int i = keep_; i >= 1; --i) {
      const std::string from = i == 1 ? path_ : path_ + "." + std::to_string(i - 1);
      const std::string to = path_ + "." + std::to_string(i);
      Status st = env_.Rename(from, to);  // overwrites the oldest
      if (!st.ok() && st.code() != Status::Code::kNotFound) return st;
    }
  }
  auto f = env_.OpenAppend(path_);
  if (!f.ok()) return f.status();
  file_ = std::move(*f);
  return Status::Ok();
}

Status JsonlFileOutput::Write(const Event& e) {
  if (!file_) VIGIL_RETURN_IF_ERROR(Rotate());  // a failed rotation is retried on the next event
  std::string line = EventToJsonLine(e);
  line += '\n';
  if (file_->size() > 0 && file_->size() + line.size() > max_bytes_) VIGIL_RETURN_IF_ERROR(Rotate());
  return file_->Append(line);
}

Status JsonlFileOutput::Flush() { return file_ ? file_->Flush() : Status::Ok(); }

Status StreamOutput::Write(const Event& e) {
  std::string line;
#ifdef VIGIL_WITH_PRETTY_OUTPUT
  line = format_ == Format::kPretty ? FormatEventPretty(e, color_) : EventToJsonLine(e);
#else
  line = EventToJsonLine(e);
#endif
  line += '\n';
  if (std::fwrite(line.data(), 1, line.size(), stream_) != line.size())
    return Status::IoError("standard output: write failed");
  // Live output: each event is visible as it happens.
  std::fflush(stream_);
  return Status::Ok();
}

Status StreamOutput::Flush() {
  return std::fflush(stream_) == 0 ? Status::Ok() : Status::IoError("standard output: flush failed");
}

Result<std::unique_ptr<Output>> OpenOutput(Env& env, const std::string& spec, uint64_t jsonl_max_bytes,
                                           int jsonl_keep, bool stdout_is_terminal) {
  if (spec == "stdout") return std::unique_ptr<Output>(new StreamOutput(stdout, StreamOutput::Format::kJsonLines, false));
  if (spec == "pretty") {
#ifdef VIGIL_WITH_PRETTY_OUTPUT
    return std::unique_ptr<Output>(new StreamOutput(stdout, StreamOutput::Format::kPretty, stdout_is_terminal));
#else
    (void)stdout_is_terminal;
    return Status::InvalidArgument("output 'pretty' is not compiled into this build (VIGIL_WITH_PRETTY_OUTPUT)");
#endif
  }
  if (spec.starts_with("jsonl:") && spec.size() > 6) {
    auto out = JsonlFileOutput::Open(env, spec.substr(6), jsonl_max_bytes, jsonl_keep);
    if (!out.ok()) return out.status();
    return std::unique_ptr<Output>(std::move(*out));
  }
  return Status::InvalidArgument("unknown output '" + spec + "': expected stdout, pretty or jsonl:PATH");
}

}  // namespace vigil
