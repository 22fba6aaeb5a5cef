#include <deque>

#include "agent/detect/internal.h"

namespace vigil::detect::internal {

void AhoCorasick::Build(const std::vector<std::string>& patterns) {
  // Alphabet: class 0 for bytes in no pattern, 1..k for the others.
  std::fill(std::begin(cls_), std::end(cls_), 0);
  size_t k = 0;
  for (const std::string& p : patterns)
    for (unsigned char c : p)
      if (cls_[c] == 0) cls_[c] = static_cast<uint8_t>(++k);
  if (k > 254) k = 254;  // cannot happen with 255 distinct non-zero classes; kept for safety
  classes_ = k + 1;

  // Trie.
  std::vector<int32_t> go(classes_, -1);
  std::vector<std::vector<int32_t>> outs(1);
  for (size_t i = 0; i < patterns.size(); ++i) {
    int32_t s = 0;
    for (unsigned char c : patterns[i]) {
      size_t idx = static_cast<size_t>(s) * classes_ + cls_[c];
      if (go[idx] < 0) {
        go[idx] = static_cast<int32_t>(outs.size());
        outs.emplace_back();
        go.resize(go.size() + classes_, -1);
      }
      s = go[idx];
    }
    outs[static_cast<size_t>(s)].push_back(static_cast<int32_t>(i));
  }
  const size_t n = outs.size();
  // Breadth-first: failure links, complete transitions, inherited outputs.
  std::vector<int32_t> fail(n, 0);
  std::deque<int32_t> queue;
  for (size_t c = 0; c < classes_; ++c) {
    int32_t& t = go[c];
    if (t < 0) {
      t = 0;
    } else {
      fail[static_cast<size_t>(t)] = 0;
      queue.push_back(t);
    }
  }
  while (!queue.empty()) {
    int32_t s = queue.front();
    queue.pop_front();
    const auto& inherited = outs[static_cast<size_t>(fail[static_cast<size_t>(s)])];
    outs[static_cast<size_t>(s)].insert(outs[static_cast<size_t>(s)].end(), inherited.begin(), inherited.end());
    for (size_t c = 0; c < classes_; ++c) {
      int32_t& t = go[static_cast<size_t>(s) * classes_ + c];
      int32_t via_fail = go[static_cast<size_t>(fail[static_cast<size_t>(s)]) * classes_ + c];
      if (t < 0) {
        t = via_fail;
      } else {
        fail[static_cast<size_t>(t)] = via_fail;
        queue.push_back(t);
      }
    }
  }
  delta_ = std::move(go);
  out_begin_.assign(n + 1, 0);
  out_.clear();
  for (size_t s = 0; s < n; ++s) {
    out_begin_[s] = static_cast<int32_t>(out_.size());
    out_.insert(out_.end(), outs[s].begin(), outs[s].end());
  }
  out_begin_[n] = static_cast<int32_t>(out_.size());
}

}  // namespace vigil::detect::internal
