// Engine: per-event evaluation (slot extraction, prefilter, conditions), correlations,
// suppression and alerts.
#include <algorithm>
#include <charconv>
#include <cstring>
#include <list>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "agent/detect/detect.h"
#include "agent/detect/internal.h"

namespace vigil::detect {

using internal::Correlation;
using internal::FieldTest;
using internal::Instance;
using internal::Matcher;
using internal::SlotDef;

namespace {

// One value of a field in the current event.
struct Leaf {
  const Json* j = nullptr;
  std::string_view text;   // original text (strings point into the event, others into text_buf)
  std::string_view lower;  // ASCII lower-cased text
  bool is_null = false;
  bool is_number = false;
  double num = 0;
  uint32_t text_off = 0, text_len = 0, lower_off = 0;
  bool text_in_buf = false;
};

struct SlotVal {
  uint32_t gen = 0;
  bool present = false;
  std::vector<Leaf> leaves;
  std::string text_buf;
  std::string lower_buf;
};

struct EventRef {
  std::string device;
  uint64_t seq = 0;
  int64_t ts = 0;
  int rule = -1;  // meta index of the base rule
};

struct CorrGroup {
  std::string key;
  std::vector<std::string> values;                        // group-by values
  std::vector<int64_t> times;                             // event_count: times in the window (at most window_cap)
  std::vector<std::pair<std::string, int64_t>> distinct;  // value_count: value, last seen
  std::vector<int64_t> rule_ts;  // temporal: per rule, last match (INT64_MIN: none); ordered: chain start
  std::vector<EventRef> refs;    // newest last
  uint64_t total = 0;            // events since the group's last alert
};

struct CorrState {
  std::list<CorrGroup> lru;  // most recent first
  internal::StrMap<std::list<CorrGroup>::iterator> index;
};

struct SuppEntry {
  std::string key;
  int64_t last_sent = 0;
  uint64_t suppressed = 0;
};

constexpr int64_t kNone = INT64_MIN;

bool GlobMatch(const std::string& pat, const std::vector<uint8_t>& kinds, std::string_view s) {
  size_t p = 0, i = 0, star = SIZE_MAX, mark = 0;
  const size_t n = pat.size();
  while (i < s.size()) {
    if (p < n && kinds[p] == 2) {
      star = p++;
      mark = i;
    } else if (p < n && (kinds[p] == 1 || pat[p] == s[i])) {
      ++p;
      ++i;
    } else if (star != SIZE_MAX) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < n && kinds[p] == 2) ++p;
  return p == n;
}

bool ParseNumber(std::string_view s, double* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool NetContains(const Matcher& m, const IpAddr& a) {
  if (a.v6 != m.net.v6) return false;
  int full = m.net_len / 8, rest = m.net_len % 8;
  if (std::memcmp(a.bytes.data(), m.net.bytes.data(), static_cast<size_t>(full)) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.bytes[static_cast<size_t>(full)] & mask) == (m.net.bytes[static_cast<size_t>(full)] & mask);
}

}  // namespace

struct Engine::State {
  uint32_t gen = 0;
  std::vector<SlotVal> slots;
  std::vector<uint32_t> cand;  // per instance of the current group: == gen when marked by the prefilter
  pcre2_match_data* md = nullptr;
  const Event* event = nullptr;
  std::vector<CorrState> corrs;
  std::list<SuppEntry> supp_lru;
  internal::StrMap<std::list<SuppEntry>::iterator> supp_index;
  std::string key_buf;

  ~State() {
    if (md) pcre2_match_data_free(md);
  }
};

namespace {

void AppendText(const Json& j, SlotVal& sv, Leaf& leaf) {
  if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    leaf.text = s;
  } else {
    leaf.text_in_buf = true;
    leaf.text_off = static_cast<uint32_t>(sv.text_buf.size());
    if (j.is_boolean()) {
      sv.text_buf += j.get<bool>() ? "true" : "false";
    } else if (j.is_number_integer() || j.is_number_unsigned()) {
      char buf[24];
      auto r = j.is_number_unsigned() ? std::to_chars(buf, buf + sizeof(buf), j.get<uint64_t>())
                                      : std::to_chars(buf, buf + sizeof(buf), j.get<int64_t>());
      sv.text_buf.append(buf, r.ptr);
      leaf.is_number = true;
      leaf.num = j.get<double>();
    } else if (j.is_number_float()) {
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof(buf), j.get<double>());
      sv.text_buf.append(buf, r.ptr);
      leaf.is_number = true;
      leaf.num = j.get<double>();
    }
    leaf.text_len = static_cast<uint32_t>(sv.text_buf.size() - leaf.text_off);
  }
}

// Arrays nested in arrays are followed at most this deep (an event's depth is not bounded).
constexpr int kMaxArrayDepth = 8;

void Collect(const Json& j, const std::vector<std::string>& path, size_t i, SlotVal& sv, int depth = 0) {
  if (i == path.size()) {
    if (j.is_array()) {
      for (const Json& e : j)
        if (!e.is_array() && !e.is_object()) Collect(e, path, i, sv);
      return;
    }
    if (j.is_object()) return;
    Leaf leaf;
    leaf.j = &j;
    leaf.is_null = j.is_null();
    if (!leaf.is_null) AppendText(j, sv, leaf);
    sv.leaves.push_back(leaf);
    return;
  }
  if (j.is_array()) {
    if (depth >= kMaxArrayDepth) return;
    for (const Json& e : j) Collect(e, path, i, sv, depth + 1);
    return;
  }
  if (!j.is_object()) return;
  auto it = j.find(path[i]);
  if (it == j.end()) return;
  Collect(*it, path, i + 1, sv, depth);
}

void CollectText(const Json& j, SlotVal& sv, int depth) {
  if (depth > 16) return;
  if (j.is_string()) {
    Leaf leaf;
    leaf.j = &j;
    leaf.text = j.get_ref<const std::string&>();
    sv.leaves.push_back(leaf);
  } else if (j.is_object() || j.is_array()) {
    for (const Json& e : j) CollectText(e, sv, depth + 1);
  }
}

}  // namespace

Engine::Engine(std::shared_ptr<const RuleSet> rules, EngineOptions options)
    : rules_(std::move(rules)), options_(options), state_(std::make_unique<State>()) {
  const auto& impl = rules_->impl();
  state_->slots.resize(impl.slots.size());
  state_->cand.assign(impl.max_instances, 0);
  state_->md = pcre2_match_data_create(1, nullptr);
  state_->corrs.resize(impl.correlations.size());
}

Engine::~Engine() = default;

namespace {

// Evaluation of one event against one group, with access to the engine's state.
class Evaluator {
 public:
  Evaluator(const RuleSet::Impl& impl, Engine::State& st, const Event& e) : impl_(impl), st_(st), e_(e) {}

  SlotVal& Slot(int slot) {
    SlotVal& sv = st_.slots[static_cast<size_t>(slot)];
    if (sv.gen == st_.gen) return sv;
    sv.gen = st_.gen;
    sv.leaves.clear();
    sv.text_buf.clear();
    sv.lower_buf.clear();
    const SlotDef& def = impl_.slots[static_cast<size_t>(slot)];
    auto add_str = [&](std::string_view s) {
      Leaf leaf;
      leaf.text = s;
      sv.leaves.push_back(leaf);
    };
    switch (def.kind) {
      case SlotDef::Kind::kType:
        add_str(e_.type);
        break;
      case SlotDef::Kind::kAction:
        if (!e_.action.empty()) add_str(e_.action);
        break;
      case SlotDef::Kind::kDevice:
        add_str(e_.device);
        break;
      case SlotDef::Kind::kPriority:
        add_str(PriorityName(e_.priority));
        break;
      case SlotDef::Kind::kData:
        Collect(e_.data, def.path, 0, sv);
        break;
      case SlotDef::Kind::kAllText:
        CollectText(e_.data, sv, 0);
        break;
    }
    // Texts kept in text_buf get their views now that the buffer no longer grows.
    for (Leaf& l : sv.leaves) {
      if (l.text_in_buf) l.text = std::string_view(sv.text_buf).substr(l.text_off, l.text_len);
      if (l.is_null) continue;
      l.lower_off = static_cast<uint32_t>(sv.lower_buf.size());
      for (char c : l.text) sv.lower_buf.push_back(internal::LowerAscii(c));
    }
    for (Leaf& l : sv.leaves)
      if (!l.is_null) l.lower = std::string_view(sv.lower_buf).substr(l.lower_off, l.text.size());
    sv.present = !sv.leaves.empty();
    return sv;
  }

  bool MatchValue(const Matcher& m, const Leaf& l) {
    std::string_view s = m.cased ? l.text : l.lower;
    switch (m.op) {
      case Matcher::Op::kEquals:
        return s == m.lit;
      case Matcher::Op::kContains:
        return s.find(m.lit) != std::string_view::npos;
      case Matcher::Op::kStartsWith:
        return s.starts_with(m.lit);
      case Matcher::Op::kEndsWith:
        return s.ends_with(m.lit);
      case Matcher::Op::kGlob:
        return GlobMatch(m.lit, m.glob, s);
      case Matcher::Op::kRegex: {
        int rc = pcre2_match(static_cast<pcre2_code*>(m.re->code), reinterpret_cast<PCRE2_SPTR>(l.text.data()),
                             l.text.size(), 0, 0, st_.md, nullptr);
        return rc >= 0;
      }
      case Matcher::Op::kCidr: {
        auto ip = ParseIp(l.text);
        return ip && NetContains(m, *ip);
      }
      case Matcher::Op::kGt:
      case Matcher::Op::kGte:
      case Matcher::Op::kLt:
      case Matcher::Op::kLte: {
        double v = l.num;
        if (!l.is_number && !ParseNumber(l.text, &v)) return false;
        switch (m.op) {
          case Matcher::Op::kGt:
            return v > m.num;
          case Matcher::Op::kGte:
            return v >= m.num;
          case Matcher::Op::kLt:
            return v < m.num;
          default:
            return v <= m.num;
        }
      }
      case Matcher::Op::kList: {
        std::shared_ptr<const NamedList> list = m.list->current.load();
        return list && list->Contains(l.lower);
      }
    }
    return false;
  }

  bool MatchField(const FieldTest& ft) {
    if (ft.slot < 0) return ft.special == FieldTest::Special::kNull || ft.special == FieldTest::Special::kNotExists;
    SlotVal& sv = Slot(ft.slot);
    bool non_null = std::any_of(sv.leaves.begin(), sv.leaves.end(), [](const Leaf& l) { return !l.is_null; });
    switch (ft.special) {
      case FieldTest::Special::kNull:
        return !non_null;
      case FieldTest::Special::kExists:
        return non_null;
      case FieldTest::Special::kNotExists:
        return !non_null;
      case FieldTest::Special::kNone:
        break;
    }
    if (ft.has_null && !non_null) return true;
    for (const Leaf& l : sv.leaves) {
      if (l.is_null) continue;
      if (ft.all) {
        bool every = true;
        for (const Matcher& m : ft.values)
          if (!MatchValue(m, l)) {
            every = false;
            break;
          }
        if (every) return true;
      } else {
        for (const Matcher& m : ft.values)
          if (MatchValue(m, l)) return true;
      }
    }
    // Keywords with `all`: each keyword may be in a different text field.
    if (ft.all && impl_.slots[static_cast<size_t>(ft.slot)].kind == SlotDef::Kind::kAllText) {
      for (const Matcher& m : ft.values) {
        bool any = false;
        for (const Leaf& l : sv.leaves)
          if (MatchValue(m, l)) {
            any = true;
            break;
          }
        if (!any) return false;
      }
      return !ft.values.empty();
    }
    return false;
  }

  bool MatchSelection(const internal::Selection& sel) {
    for (const auto& alt : sel.alternatives) {
      bool all = true;
      for (const FieldTest& ft : alt)
        if (!MatchField(ft)) {
          all = false;
          break;
        }
      if (all) return true;
    }
    return false;
  }

  bool MatchInstance(const Instance& inst) {
    return inst.cond.Eval([&](int ident) { return MatchSelection(inst.selections[static_cast<size_t>(ident)]); });
  }

  // The first value of a slot as text ("" when absent).
  std::string_view FirstText(int slot) {
    if (slot < 0) return {};
    SlotVal& sv = Slot(slot);
    for (const Leaf& l : sv.leaves)
      if (!l.is_null) return l.text;
    return {};
  }
  bool Has(int slot) {
    if (slot < 0) return false;
    SlotVal& sv = Slot(slot);
    return std::any_of(sv.leaves.begin(), sv.leaves.end(), [](const Leaf& l) { return !l.is_null; });
  }

 private:
  const RuleSet::Impl& impl_;
  Engine::State& st_;
  const Event& e_;
};

// `s` with every byte that is not part of a valid UTF-8 sequence replaced by '?' (alerts are
// serialised as JSON, which needs valid UTF-8; event texts may not be).
std::string ValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (ok && len == 2 && c < 0xC2) ok = false;  // overlong
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += '?';
      ++i;
    }
  }
  return out;
}

// The event as one JSON line, invalid UTF-8 replaced (U+FFFD).
std::string EventLine(const Event& e) { return EventToJson(e).dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string Truncate(std::string_view s, size_t n) {
  if (s.size() <= n) return std::string(s);
  size_t cut = n;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // keep UTF-8 whole
  return std::string(s.substr(0, cut)) + "...";
}

Event NewAlert(const internal::RuleMeta& meta, const Event& e, std::string_view action) {
  Event a;
  a.device = e.device;
  a.ts_ms = e.ts_ms;
  a.type = "alert";
  a.action = std::string(action);
  a.priority = Priority::kHigh;
  a.collector = "detect";
  Json& d = a.data;
  d["rule_id"] = ValidUtf8(!meta.id.empty() ? meta.id : !meta.name.empty() ? meta.name : meta.title);
  if (!meta.name.empty()) d["rule_name"] = ValidUtf8(meta.name);
  d["title"] = ValidUtf8(meta.title);
  d["level"] = meta.level;
  Json attack = Json::array();
  for (const auto& t : meta.attack) attack.push_back(ValidUtf8(t));
  d["attack"] = std::move(attack);
  if (!meta.tags.empty()) {
    Json tags = Json::array();
    for (const auto& t : meta.tags) tags.push_back(ValidUtf8(t));
    d["tags"] = std::move(tags);
  }
  return a;
}

}  // namespace

void Engine::Process(const Event& event, std::vector<Event>* alerts) {
  const RuleSet::Impl& impl = rules_->impl();
  State& st = *state_;
  ++stats_.events;
  auto tit = impl.group_index.find(std::string_view(event.type));
  if (tit == impl.group_index.end()) return;
  auto ait = tit->second.find(std::string_view(event.action));
  if (ait == tit->second.end()) return;
  const internal::Group& g = impl.groups[static_cast<size_t>(ait->second)];
  if (++st.gen == 0) {  // wrapped: reset the stamps so no stale one equals a new generation
    for (auto& s : st.slots) s.gen = 0;
    std::fill(st.cand.begin(), st.cand.end(), 0);
    st.gen = 1;
  }
  Evaluator ev(impl, st, event);
  if (!g.ac.empty()) {
    for (int slot : g.scan_slots) {
      SlotVal& sv = ev.Slot(slot);
      for (const Leaf& l : sv.leaves) {
        if (l.is_null) continue;
        g.ac.Scan(l.lower, [&](int32_t pat) {
          if (g.prefilter_slot[static_cast<size_t>(pat)] != slot) return;
          for (int r : g.prefilter_rules[static_cast<size_t>(pat)]) st.cand[static_cast<size_t>(r)] = st.gen;
        });
      }
    }
  }
  for (size_t i = 0; i < g.instances.size(); ++i) {
    if (g.needs_prefilter[i] && st.cand[i] != st.gen) continue;
    ++stats_.candidates;
    const Instance& inst = g.instances[i];
    if (!ev.MatchInstance(inst)) continue;
    ++stats_.matches;
    const internal::RuleMeta& meta = impl.metas[static_cast<size_t>(inst.meta)];
    if (meta.generates) {
      std::string& key = st.key_buf;
      key.assign(meta.id.empty() ? meta.title : meta.id);
      key += '\x1f';
      key += event.device;
      int64_t suppressed = 0;
      if (AllowAlert(key, event.ts_ms, &suppressed)) {
        Event a = NewAlert(meta, event, "match");
        std::string summary = meta.title + ":";
        for (const auto& [field, slot] : inst.summary_fields) {
          if (!ev.Has(slot)) continue;
          summary += " " + field + "=" + Truncate(ev.FirstText(slot), 120);
        }
        a.data["summary"] = ValidUtf8(Truncate(summary, 509));
        a.data["events"] = Json::array({EventLine(event)});
        a.data["events_total"] = 1;
        if (suppressed > 0) a.data["suppressed"] = suppressed;
        alerts->push_back(std::move(a));
        ++stats_.alerts;
      }
    }
    for (const internal::CorrRef& ref : inst.corrs) {
      const Correlation& c = impl.correlations[static_cast<size_t>(ref.corr)];
      // Group key: the group-by values joined by \x1f.
      std::string key;
      std::vector<std::string> values;
      for (int s : ref.group_slots) {
        values.emplace_back(ev.FirstText(s));
        key += values.back();
        key += '\x1f';
      }
      std::string value;
      if (c.type == Correlation::Type::kValueCount) {
        if (!ev.Has(ref.value_slot)) continue;  // no value: nothing to count
        value = ev.FirstText(ref.value_slot);
      }
      UpdateCorrelation(ref, inst.meta, key, std::move(values), value, event, alerts);
    }
  }
}

bool Engine::AllowAlert(const std::string& key, int64_t ts, int64_t* suppressed_before) {
  *suppressed_before = 0;
  if (options_.suppress_ms <= 0) return true;
  State& st = *state_;
  auto it = st.supp_index.find(std::string_view(key));
  if (it != st.supp_index.end()) {
    SuppEntry& e = *it->second;
    st.supp_lru.splice(st.supp_lru.begin(), st.supp_lru, it->second);
    if (ts - e.last_sent < options_.suppress_ms && ts >= e.last_sent) {
      ++e.suppressed;
      ++stats_.suppressed;
      return false;
    }
    *suppressed_before = static_cast<int64_t>(e.suppressed);
    e.suppressed = 0;
    e.last_sent = ts;
    return true;
  }
  if (options_.max_suppress_entries == 0) return true;
  while (st.supp_lru.size() >= options_.max_suppress_entries) {
    st.supp_index.erase(st.supp_lru.back().key);
    st.supp_lru.pop_back();
    ++stats_.suppress_evicted;
  }
  st.supp_lru.push_front(SuppEntry{key, ts, 0});
  st.supp_index.emplace(key, st.supp_lru.begin());
  return true;
}

void Engine::UpdateCorrelation(const internal::CorrRef& ref, int base_meta, const std::string& key,
                               std::vector<std::string> values, const std::string& value, const Event& event,
                               std::vector<Event>* alerts) {
  const RuleSet::Impl& impl = rules_->impl();
  const Correlation& c = impl.correlations[static_cast<size_t>(ref.corr)];
  CorrState& cs = state_->corrs[static_cast<size_t>(ref.corr)];
  const int64_t ts = event.ts_ms;
  auto it = cs.index.find(std::string_view(key));
  CorrGroup* g;
  if (it == cs.index.end()) {
    if (options_.max_groups == 0) return;
    while (cs.lru.size() >= options_.max_groups) {
      cs.index.erase(cs.lru.back().key);
      cs.lru.pop_back();
      ++stats_.groups_evicted;
      --stats_.groups;
    }
    cs.lru.emplace_front();
    g = &cs.lru.front();
    g->key = key;
    g->values = std::move(values);
    if (c.type == Correlation::Type::kTemporal || c.type == Correlation::Type::kTemporalOrdered)
      g->rule_ts.assign(c.rules.size(), kNone);
    cs.index.emplace(g->key, cs.lru.begin());
    ++stats_.groups;
  } else {
    cs.lru.splice(cs.lru.begin(), cs.lru, it->second);
    g = &*it->second;
  }
  const int64_t from = ts - c.timespan_ms;
  int64_t figure = 0;
  switch (c.type) {
    case Correlation::Type::kEventCount: {
      auto keep = std::find_if(g->times.begin(), g->times.end(), [&](int64_t t) { return t >= from; });
      g->times.erase(g->times.begin(), keep);
      g->times.push_back(ts);
      if (g->times.size() > c.window_cap) g->times.erase(g->times.begin());
      figure = static_cast<int64_t>(g->times.size());
      break;
    }
    case Correlation::Type::kValueCount: {
      std::erase_if(g->distinct, [&](const auto& p) { return p.second < from; });
      auto v = std::find_if(g->distinct.begin(), g->distinct.end(), [&](const auto& p) { return p.first == value; });
      if (v != g->distinct.end()) {
        v->second = std::max(v->second, ts);
      } else {
        if (g->distinct.size() >= c.window_cap) {
          auto oldest = std::min_element(g->distinct.begin(), g->distinct.end(),
                                         [](const auto& a, const auto& b) { return a.second < b.second; });
          g->distinct.erase(oldest);
        }
        g->distinct.emplace_back(value, ts);
      }
      figure = static_cast<int64_t>(g->distinct.size());
      break;
    }
    case Correlation::Type::kTemporal: {
      g->rule_ts[static_cast<size_t>(ref.rule_pos)] = ts;
      for (int64_t t : g->rule_ts)
        if (t != kNone && t >= from) ++figure;
      break;
    }
    case Correlation::Type::kTemporalOrdered: {
      // rule_ts[i]: start time of the latest chain that has reached step i.
      size_t pos = static_cast<size_t>(ref.rule_pos);
      if (pos == 0) {
        g->rule_ts[0] = ts;
      } else if (g->rule_ts[pos - 1] != kNone && g->rule_ts[pos - 1] >= from) {
        g->rule_ts[pos] = std::max(g->rule_ts[pos], g->rule_ts[pos - 1]);
      }
      for (size_t i = 0; i < g->rule_ts.size(); ++i)
        if (g->rule_ts[i] != kNone && g->rule_ts[i] >= from)
          figure = static_cast<int64_t>(i) + 1;
        else
          break;
      break;
    }
  }
  ++g->total;
  bool fire;
  if (c.type == Correlation::Type::kTemporal || c.type == Correlation::Type::kTemporalOrdered) {
    fire = c.cmp == Correlation::Cmp::kNone ? figure == static_cast<int64_t>(c.rules.size()) : c.Check(figure);
    if (c.type == Correlation::Type::kTemporalOrdered && c.cmp == Correlation::Cmp::kNone)
      fire = g->rule_ts.back() != kNone && g->rule_ts.back() >= from;
  } else {
    fire = c.Check(figure);
  }
  if (!fire) {
    g->refs.push_back(EventRef{event.device, event.seq, ts, base_meta});
    if (g->refs.size() > options_.max_event_refs) g->refs.erase(g->refs.begin());
    return;
  }
  const internal::RuleMeta& meta = impl.metas[static_cast<size_t>(c.meta)];
  std::string skey = (meta.id.empty() ? meta.title : meta.id) + "\x1f" + key;
  int64_t suppressed = 0;
  if (AllowAlert(skey, ts, &suppressed)) {
    Event a = NewAlert(meta, event, "correlation");
    Json& d = a.data;
    d["correlation"] = std::string(internal::CorrelationTypeName(c.type));
    std::string group_text;
    if (!c.group_by.empty()) {
      Json grp = Json::object();
      for (size_t i = 0; i < c.group_by.size() && i < g->values.size(); ++i) {
        grp[c.group_by[i]] = ValidUtf8(g->values[i]);
        group_text += (group_text.empty() ? "" : ", ") + c.group_by[i] + "=" + Truncate(g->values[i], 80);
      }
      d["group"] = std::move(grp);
    }
    d["value"] = figure;
    std::string what = c.type == Correlation::Type::kEventCount   ? " events"
                       : c.type == Correlation::Type::kValueCount ? " distinct " + c.value_field + " values"
                                                                  : " of " + std::to_string(c.rules.size()) + " rules";
    std::string summary =
        meta.title + ": " + std::to_string(figure) + what + " within " + std::to_string(c.timespan_ms / 1000) + " s";
    if (!group_text.empty()) summary += " for " + group_text;
    d["summary"] = ValidUtf8(Truncate(summary, 509));
    d["events"] = Json::array({EventLine(event)});
    if (!g->refs.empty()) {
      Json refs = Json::array();
      for (const EventRef& r : g->refs) {
        const auto& bm = impl.metas[static_cast<size_t>(r.rule)];
        refs.push_back({{"device", ValidUtf8(r.device)},
                        {"seq", r.seq},
                        {"ts", r.ts},
                        {"rule_id", !bm.id.empty()     ? bm.id
                                    : !bm.name.empty() ? bm.name
                                                       : bm.title}});
      }
      d["event_refs"] = std::move(refs);
    }
    d["events_total"] = g->total;
    if (suppressed > 0) d["suppressed"] = suppressed;
    alerts->push_back(std::move(a));
    ++stats_.alerts;
  }
  // The window starts again after the condition was met.
  g->times.clear();
  g->distinct.clear();
  std::fill(g->rule_ts.begin(), g->rule_ts.end(), kNone);
  g->refs.clear();
  g->total = 0;
}

size_t Engine::StateBytes() const {
  const State& st = *state_;
  auto str = [](const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; };
  constexpr size_t kListNode = 2 * sizeof(void*);
  constexpr size_t kMapNode = sizeof(void*) + sizeof(size_t) + sizeof(void*);  // next, hash, bucket slot
  size_t total = 0;
  for (const CorrState& cs : st.corrs) {
    total += cs.index.bucket_count() * sizeof(void*);
    for (const CorrGroup& g : cs.lru) {
      total += sizeof(CorrGroup) + kListNode;
      total += kMapNode + sizeof(std::pair<const std::string, std::list<CorrGroup>::iterator>) + str(g.key);
      total += str(g.key);
      total += g.values.capacity() * sizeof(std::string);
      for (const auto& v : g.values) total += str(v);
      total += g.times.capacity() * sizeof(int64_t);
      total += g.distinct.capacity() * sizeof(g.distinct[0]);
      for (const auto& v : g.distinct) total += str(v.first);
      total += g.rule_ts.capacity() * sizeof(int64_t);
      total += g.refs.capacity() * sizeof(EventRef);
      for (const auto& r : g.refs) total += str(r.device);
    }
  }
  total += st.supp_index.bucket_count() * sizeof(void*);
  for (const SuppEntry& e : st.supp_lru)
    total += sizeof(SuppEntry) + kListNode + kMapNode +
             sizeof(std::pair<const std::string, std::list<SuppEntry>::iterator>) + 2 * str(e.key);
  return total;
}

}  // namespace vigil::detect
