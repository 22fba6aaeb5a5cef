#include "agent/collectors/peripheral/uevent.h"

#include <charconv>

namespace vigil::peripheral {
namespace {

constexpr std::string_view kLibudevMagic("libudev\0", 8);

bool IsKeyChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool IsActionChar(char c) { return (c >= 'a' && c <= 'z') || c == '_'; }

std::string Printable(std::string_view s, size_t max = 32) {
  std::string out;
  for (char c : s.substr(0, max)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u >= 0x7f) ? '?' : c;
  }
  if (s.size() > max) out += "...";
  return out;
}

// "ACTION=add" -> checks KEY=VALUE and splits it.
Status SplitField(std::string_view field, size_t index, std::string_view* key, std::string_view* value) {
  const size_t eq = field.find('=');
  const std::string where = "uevent field " + std::to_string(index) + " '" + Printable(field) + "'";
  if (eq == std::string_view::npos) return Status::InvalidArgument(where + ": no '='");
  if (eq == 0) return Status::InvalidArgument(where + ": empty key");
  for (char c : field.substr(0, eq)) {
    if (!IsKeyChar(c)) return Status::InvalidArgument(where + ": key has characters other than A-Z, 0-9, _");
  }
  *key = field.substr(0, eq);
  *value = field.substr(eq + 1);
  return Status::Ok();
}

}  // namespace

std::string_view Uevent::Get(std::string_view key) const {
  for (const auto& [k, v] : fields) {
    if (k == key) return v;
  }
  return {};
}

bool Uevent::Has(std::string_view key) const {
  for (const auto& [k, v] : fields) {
    if (k == key) return true;
  }
  return false;
}

Status CheckDevpath(std::string_view devpath) {
  if (devpath.empty() || devpath[0] != '/') return Status::InvalidArgument("devpath does not start with '/'");
  if (devpath.size() > kMaxDevpathBytes)
    return Status::InvalidArgument("devpath longer than " + std::to_string(kMaxDevpathBytes) + " bytes");
  for (char c : devpath) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return Status::InvalidArgument("devpath has a control character");
  }
  size_t start = 1;
  while (start <= devpath.size()) {
    size_t slash = devpath.find('/', start);
    if (slash == std::string_view::npos) slash = devpath.size();
    const std::string_view comp = devpath.substr(start, slash - start);
    if (comp.empty()) return Status::InvalidArgument("devpath has an empty component");
    if (comp == "." || comp == "..") return Status::InvalidArgument("devpath has a '" + std::string(comp) + "' component");
    start = slash + 1;
  }
  return Status::Ok();
}

Result<Uevent> ParseUevent(std::string_view message) {
  if (message.starts_with(kLibudevMagic))
    return Status::InvalidArgument("uevent: a libudev (udevd) message, not a kernel uevent");
  if (message.empty()) return Status::InvalidArgument("uevent: empty message");
  if (message.size() > kMaxUeventBytes)
    return Status::InvalidArgument("uevent: " + std::to_string(message.size()) + " bytes, more than " +
                                   std::to_string(kMaxUeventBytes));
  const size_t header_end = message.find('\0');
  const std::string_view header = message.substr(0, header_end);
  const size_t at = header.find('@');
  if (at == std::string_view::npos)
    return Status::InvalidArgument("uevent header '" + Printable(header) + "': no '@' between action and devpath");
  Uevent ev;
  const std::string_view action = header.substr(0, at);
  if (action.empty()) return Status::InvalidArgument("uevent header '" + Printable(header) + "': empty action");
  for (char c : action) {
    if (!IsActionChar(c))
      return Status::InvalidArgument("uevent header '" + Printable(header) + "': action is not lower-case letters");
  }
  const std::string_view devpath = header.substr(at + 1);
  if (Status st = CheckDevpath(devpath); !st.ok())
    return Status::InvalidArgument("uevent header '" + Printable(header) + "': " + std::string(st.message()));
  ev.action = action;
  ev.devpath = devpath;

  bool have_action = false, have_devpath = false, have_subsystem = false, have_seqnum = false;
  size_t pos = header_end == std::string_view::npos ? message.size() : header_end + 1;
  size_t index = 0;
  while (pos < message.size()) {
    size_t end = message.find('\0', pos);
    if (end == std::string_view::npos) end = message.size();
    const std::string_view field = message.substr(pos, end - pos);
    pos = end + 1;
    if (field.empty()) continue;
    ++index;
    if (index > kMaxUeventFields)
      return Status::InvalidArgument("uevent: more than " + std::to_string(kMaxUeventFields) + " fields");
    std::string_view key, value;
    if (Status st = SplitField(field, index, &key, &value); !st.ok()) return st;
    const std::string where = "uevent field " + std::to_string(index) + " '" + std::string(key) + "'";
    if (key == "ACTION" && !have_action) {
      if (value != ev.action) return Status::InvalidArgument(where + ": '" + Printable(value) + "' differs from the header");
      have_action = true;
    } else if (key == "DEVPATH" && !have_devpath) {
      if (value != ev.devpath) return Status::InvalidArgument(where + ": differs from the header");
      have_devpath = true;
    } else if (key == "SUBSYSTEM" && !have_subsystem) {
      if (value.empty()) return Status::InvalidArgument(where + ": empty");
      ev.subsystem = value;
      have_subsystem = true;
    } else if (key == "SEQNUM" && !have_seqnum) {
      const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), ev.seqnum);
      if (ec != std::errc() || p != value.data() + value.size() || value.empty())
        return Status::InvalidArgument(where + ": '" + Printable(value) + "' is not a decimal number");
      have_seqnum = true;
    }
    ev.fields.emplace_back(key, value);
  }
  if (!have_action) return Status::InvalidArgument("uevent: no ACTION field");
  if (!have_devpath) return Status::InvalidArgument("uevent: no DEVPATH field");
  if (!have_subsystem) return Status::InvalidArgument("uevent: no SUBSYSTEM field");
  if (!have_seqnum) return Status::InvalidArgument("uevent: no SEQNUM field");
  return ev;
}

std::string_view BaseName(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

namespace {

// "1-1", "3-2.4.1": bus, '-', port numbers separated by '.'.
bool IsUsbDeviceName(std::string_view name) {
  const size_t dash = name.find('-');
  if (dash == 0 || dash == std::string_view::npos || dash + 1 >= name.size()) return false;
  for (size_t i = 0; i < dash; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
  }
  bool digit_before = false;
  for (size_t i = dash + 1; i < name.size(); ++i) {
    const char c = name[i];
    if (c >= '0' && c <= '9') {
      digit_before = true;
    } else if (c == '.' && digit_before) {
      digit_before = false;
    } else {
      return false;
    }
  }
  return digit_before;
}

}  // namespace

std::string UsbDeviceDevpath(std::string_view devpath) {
  size_t best_end = std::string_view::npos;
  size_t start = 0;
  while (start < devpath.size()) {
    size_t slash = devpath.find('/', start + 1);
    if (slash == std::string_view::npos) slash = devpath.size();
    const std::string_view comp = devpath.substr(start + 1, slash - start - 1);
    if (IsUsbDeviceName(comp)) best_end = slash;
    start = slash;
  }
  return best_end == std::string_view::npos ? std::string() : std::string(devpath.substr(0, best_end));
}

}  // namespace vigil::peripheral
