#include "agent/collectors/peripheral/device_info.h"

#include <algorithm>
#include <charconv>

namespace vigil::peripheral {
namespace {

constexpr size_t kMaxAttrBytes = 4096;

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Length of the valid UTF-8 sequence at s[i] (code points U+0080 and up), 0 when invalid.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  size_t len = 0;
  uint32_t cp = 0;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2;
    cp = b0 & 0x1f;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    cp = b0 & 0x0f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;  // overlong, too big
  if (cp >= 0xd800 && cp <= 0xdfff) return 0;                                               // surrogate
  if (cp >= 0x80 && cp <= 0x9f) return 0;                                                   // C1 control
  return len;
}

bool ParseHex(std::string_view s, int* out) {
  s = TrimSpace(s);
  if (s.empty() || s.size() > 8) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, 16);
  return ec == std::errc() && p == s.data() + s.size() && *out >= 0;
}

bool ParseDec(std::string_view s, int64_t* out) {
  s = TrimSpace(s);
  if (s.empty()) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, 10);
  return ec == std::errc() && p == s.data() + s.size() && *out >= 0;
}

// A 16-bit id as 4 lower-case hex digits ("781" and "0781" give "0781"); "" when not hex.
std::string HexId(std::string_view s) {
  int v = 0;
  if (!ParseHex(s, &v) || v > 0xffff) return "";
  static constexpr char kHex[] = "0123456789abcdef";
  return {kHex[(v >> 12) & 15], kHex[(v >> 8) & 15], kHex[(v >> 4) & 15], kHex[v & 15]};
}

// Splits "a/b/c" at '/'.
std::vector<std::string_view> SplitSlash(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    const size_t slash = s.find('/', start);
    parts.push_back(s.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) return parts;
    start = slash + 1;
  }
}

// The devpath a sysfs link points to: "../../devices/virtual/net/lo" -> "/devices/virtual/net/lo".
std::optional<std::string> DevpathFromLink(std::string_view target) {
  const size_t at = target.find("/devices/");
  std::string devpath;
  if (at != std::string_view::npos) {
    devpath = target.substr(at);
  } else if (target.starts_with("devices/")) {
    devpath = "/" + std::string(target);
  } else {
    return std::nullopt;
  }
  if (!CheckDevpath(devpath).ok()) return std::nullopt;
  return devpath;
}

bool IsInputDevice(std::string_view devpath) {
  std::string_view base = BaseName(devpath);
  if (!base.starts_with("input") || base.size() == 5) return false;
  return std::all_of(base.begin() + 5, base.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "\"Logitech USB Receiver\"" -> "Logitech USB Receiver".
std::string_view Unquote(std::string_view s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

void AddClassName(Json* classes, std::string_view name) {
  if (name.empty()) return;
  for (const Json& c : *classes) {
    if (c == name) return;
  }
  classes->push_back(std::string(name));
}

}  // namespace

std::string CleanText(std::string_view s, size_t max_bytes) {
  s = TrimSpace(s);
  std::string out;
  out.reserve(std::min(s.size(), max_bytes));
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t len = 1;
    std::string_view piece;
    if (b < 0x80) {
      piece = (b < 0x20 || b == 0x7f) ? std::string_view("?") : s.substr(i, 1);
    } else if ((len = Utf8SequenceLength(s, i)) > 0) {
      piece = s.substr(i, len);
    } else {
      len = 1;
      piece = "?";
    }
    if (out.size() + piece.size() > max_bytes) break;
    out.append(piece);
    i += len;
  }
  return std::string(TrimSpace(out));
}

std::string_view UsbClassName(int code) {
  switch (code) {
    case 0x01: return "audio";
    case 0x02: return "communications";
    case 0x03: return "hid";
    case 0x05: return "physical";
    case 0x06: return "image";
    case 0x07: return "printer";
    case 0x08: return "mass_storage";
    case 0x09: return "hub";
    case 0x0a: return "cdc_data";
    case 0x0b: return "smart_card";
    case 0x0d: return "content_security";
    case 0x0e: return "video";
    case 0x0f: return "personal_healthcare";
    case 0x10: return "audio_video";
    case 0x11: return "billboard";
    case 0x12: return "usb_c_bridge";
    case 0xdc: return "diagnostic";
    case 0xe0: return "wireless_controller";
    case 0xef: return "miscellaneous";
    case 0xfe: return "application_specific";
    case 0xff: return "vendor_specific";
    default: return "";
  }
}

std::string NormalizeMac(std::string_view text) {
  text = TrimSpace(text);
  if (text.empty() || (text.size() + 1) % 3 != 0) return "";
  std::string out;
  bool all_zero = true;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (i % 3 == 2) {
      if (c != ':') return "";
      out += ':';
      continue;
    }
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return "";
    if (c != '0') all_zero = false;
    out += c;
  }
  return all_zero ? "" : out;
}

Status ParseUeventFile(std::string_view text, std::vector<std::pair<std::string, std::string>>* fields) {
  size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.empty()) continue;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) return Status::InvalidArgument("line " + std::to_string(line_no) + ": no '='");
    if (eq == 0) return Status::InvalidArgument("line " + std::to_string(line_no) + ": empty key");
    fields->emplace_back(line.substr(0, eq), line.substr(eq + 1));
  }
  return Status::Ok();
}

bool ParseClassTriplet(std::string_view text, int* cls, int* subclass, int* protocol) {
  const auto parts = SplitSlash(text);
  if (parts.size() != 3) return false;
  int64_t v[3];
  for (int i = 0; i < 3; ++i) {
    if (!ParseDec(parts[i], &v[i]) || v[i] > 255) return false;
  }
  *cls = static_cast<int>(v[0]);
  *subclass = static_cast<int>(v[1]);
  *protocol = static_cast<int>(v[2]);
  return true;
}

std::optional<std::string> DeviceDescriber::Attr(const std::string& devpath, std::string_view name) const {
  auto text = env_.ReadFile("/sys" + devpath + "/" + std::string(name), kMaxAttrBytes);
  if (!text.ok()) return std::nullopt;
  return std::string(TrimSpace(*text));
}

std::string DeviceDescriber::DriverOf(const std::string& sysfs_dir) const {
  auto link = env_.ReadLink(sysfs_dir + "/driver");
  if (!link.ok()) return "";
  return CleanText(BaseName(*link));
}

bool DeviceDescriber::Relevant(const Uevent& ev, bool removing) const {
  if (subsystems_.count(ev.subsystem) == 0) return false;
  const std::string_view devtype = ev.Get("DEVTYPE");
  if (ev.subsystem == "usb") {
    if (!devtype.empty()) return devtype == "usb_device";
    return BaseName(ev.devpath).find(':') == std::string_view::npos;  // interfaces are "1-1:1.0"
  }
  if (ev.subsystem == "block") {
    if (devtype != "disk") return false;
    if (!UsbDeviceDevpath(ev.devpath).empty()) return true;
    if (removing) return false;
    return Attr(ev.devpath, "removable").value_or("") == "1";
  }
  if (ev.subsystem == "tty") return !UsbDeviceDevpath(ev.devpath).empty();
  if (ev.subsystem == "input") return IsInputDevice(ev.devpath);
  return true;
}

Json DeviceDescriber::Describe(const Uevent& ev, const std::vector<UsbInterfaceSeen>& seen) const {
  Json d = Json::object();
  d["subsystem"] = CleanText(ev.subsystem);
  d["devpath"] = CleanText(ev.devpath, kMaxDevpathBytes);
  if (const std::string devtype = CleanText(ev.Get("DEVTYPE")); !devtype.empty()) d["devtype"] = devtype;
  if (const std::string devname = CleanText(ev.Get("DEVNAME")); !devname.empty())
    d["devname"] = devname.starts_with("/") ? devname : "/dev/" + devname;
  if (ev.Has("SYNTH_UUID")) d["synthetic"] = true;
  if (ev.subsystem != "usb") {
    if (std::string usb = UsbDeviceDevpath(ev.devpath); !usb.empty()) d["usb_devpath"] = CleanText(usb, kMaxDevpathBytes);
  }

  std::string driver = CleanText(ev.Get("DRIVER"));
  const std::string dir = "/sys" + ev.devpath;
  if (ev.subsystem == "usb") {
    DescribeUsb(ev, seen, &d);
    driver.clear();  // always "usb" for a whole device; interfaces carry the real drivers
  } else if (ev.subsystem == "net") {
    DescribeNet(ev, &d);
    if (driver.empty()) driver = DriverOf(dir + "/device");
  } else if (ev.subsystem == "block") {
    DescribeBlock(ev, &d);
    if (driver.empty()) driver = DriverOf(dir + "/device");
  } else if (ev.subsystem == "tty") {
    if (driver.empty()) driver = DriverOf(dir + "/device");
  } else if (ev.subsystem == "input") {
    if (std::string name = CleanText(Unquote(ev.Get("NAME"))); !name.empty()) d["name"] = name;
    else if (auto attr = Attr(ev.devpath, "name")) {
      if (std::string n = CleanText(*attr); !n.empty()) d["name"] = n;
    }
    if (std::string phys = CleanText(Unquote(ev.Get("PHYS"))); !phys.empty()) d["phys"] = phys;
    // PRODUCT=bus/vendor/product/version, hex.
    const auto parts = SplitSlash(ev.Get("PRODUCT"));
    if (parts.size() == 4) {
      if (std::string v = HexId(parts[1]); !v.empty()) d["vendor_id"] = v;
      if (std::string p = HexId(parts[2]); !p.empty()) d["product_id"] = p;
    }
    if (driver.empty()) driver = DriverOf(dir + "/device");
  } else if (driver.empty()) {
    driver = DriverOf(dir);
  }
  if (!driver.empty()) d["driver"] = driver;
  return d;
}

void DeviceDescriber::DescribeUsb(const Uevent& ev, const std::vector<UsbInterfaceSeen>& seen, Json* d) const {
  Json& data = *d;
  // Ids: sysfs idVendor/idProduct, else PRODUCT=vendor/product/bcdDevice (hex).
  const auto product = SplitSlash(ev.Get("PRODUCT"));
  std::string vendor_id = HexId(Attr(ev.devpath, "idVendor").value_or(""));
  std::string product_id = HexId(Attr(ev.devpath, "idProduct").value_or(""));
  if (vendor_id.empty() && product.size() == 3) vendor_id = HexId(product[0]);
  if (product_id.empty() && product.size() == 3) product_id = HexId(product[1]);
  if (!vendor_id.empty()) data["vendor_id"] = vendor_id;
  if (!product_id.empty()) data["product_id"] = product_id;

  // Class: sysfs bDeviceClass... (hex), else TYPE=class/subclass/protocol (decimal).
  int cls = -1, subclass = -1, protocol = -1;
  if (!(ParseHex(Attr(ev.devpath, "bDeviceClass").value_or(""), &cls) &&
        ParseHex(Attr(ev.devpath, "bDeviceSubClass").value_or(""), &subclass) &&
        ParseHex(Attr(ev.devpath, "bDeviceProtocol").value_or(""), &protocol))) {
    if (!ParseClassTriplet(ev.Get("TYPE"), &cls, &subclass, &protocol)) cls = subclass = protocol = -1;
  }
  Json classes = Json::array();
  if (cls >= 0 && cls <= 255 && subclass <= 255 && protocol <= 255) {
    data["class"] = cls;
    data["subclass"] = subclass;
    data["protocol"] = protocol;
    if (std::string_view name = UsbClassName(cls); !name.empty()) data["class_name"] = std::string(name);
    AddClassName(&classes, UsbClassName(cls));
  }

  int64_t busnum = -1, devnum = -1;
  if (!ParseDec(Attr(ev.devpath, "busnum").value_or(""), &busnum)) {
    if (!ParseDec(ev.Get("BUSNUM"), &busnum)) busnum = -1;
  }
  if (!ParseDec(Attr(ev.devpath, "devnum").value_or(""), &devnum)) {
    if (!ParseDec(ev.Get("DEVNUM"), &devnum)) devnum = -1;
  }
  if (busnum >= 0) data["busnum"] = busnum;
  if (devnum >= 0) data["devnum"] = devnum;
  for (const char* attr : {"manufacturer", "product", "serial"}) {
    if (auto v = Attr(ev.devpath, attr)) {
      if (std::string text = CleanText(*v); !text.empty()) data[attr] = text;
    }
  }

  // Interfaces: sysfs "<name>:<config>.<n>" directories, else those the uevents reported.
  std::vector<UsbInterfaceSeen> interfaces;
  const std::string base(BaseName(ev.devpath));
  if (auto names = env_.ListDir("/sys" + ev.devpath); names.ok()) {
    std::sort(names->begin(), names->end());
    for (const std::string& name : *names) {
      if (!name.starts_with(base + ":")) continue;
      const std::string path = ev.devpath + "/" + name;
      UsbInterfaceSeen i;
      i.name = name;
      if (!ParseHex(Attr(path, "bInterfaceClass").value_or(""), &i.cls) ||
          !ParseHex(Attr(path, "bInterfaceSubClass").value_or(""), &i.subclass) ||
          !ParseHex(Attr(path, "bInterfaceProtocol").value_or(""), &i.protocol))
        continue;
      i.driver = DriverOf("/sys" + path);
      interfaces.push_back(std::move(i));
    }
  }
  for (const UsbInterfaceSeen& s : seen) {
    const bool known = std::any_of(interfaces.begin(), interfaces.end(),
                                   [&](const UsbInterfaceSeen& i) { return i.name == s.name; });
    if (!known && s.cls >= 0) interfaces.push_back(s);
  }
  if (!interfaces.empty()) {
    Json list = Json::array();
    for (const UsbInterfaceSeen& i : interfaces) {
      if (i.cls > 255 || i.subclass > 255 || i.protocol > 255) continue;
      Json o = {{"class", i.cls}, {"subclass", i.subclass}, {"protocol", i.protocol}};
      if (std::string_view name = UsbClassName(i.cls); !name.empty()) o["class_name"] = std::string(name);
      if (!i.driver.empty()) o["driver"] = CleanText(i.driver);
      list.push_back(std::move(o));
      AddClassName(&classes, UsbClassName(i.cls));
      // HID boot interfaces say what they are: 1 keyboard, 2 mouse.
      if (i.cls == 0x03 && i.subclass == 1 && i.protocol == 1) AddClassName(&classes, "keyboard");
      if (i.cls == 0x03 && i.subclass == 1 && i.protocol == 2) AddClassName(&classes, "mouse");
    }
    if (!list.empty()) data["interfaces"] = std::move(list);
  }
  if (!classes.empty()) data["classes"] = std::move(classes);
}

void DeviceDescriber::DescribeNet(const Uevent& ev, Json* d) const {
  Json& data = *d;
  std::string name = CleanText(ev.Get("INTERFACE"));
  if (name.empty()) name = CleanText(BaseName(ev.devpath));
  data["interface"] = name;
  int64_t ifindex = -1;
  if (ParseDec(ev.Get("IFINDEX"), &ifindex) || ParseDec(Attr(ev.devpath, "ifindex").value_or(""), &ifindex))
    data["ifindex"] = ifindex;
  if (std::string mac = NormalizeMac(Attr(ev.devpath, "address").value_or("")); !mac.empty()) data["mac"] = mac;
  data["virtual"] = ev.devpath.starts_with("/devices/virtual/");
}

void DeviceDescriber::DescribeBlock(const Uevent& ev, Json* d) const {
  Json& data = *d;
  if (auto removable = Attr(ev.devpath, "removable")) {
    if (*removable == "1" || *removable == "0") data["removable"] = *removable == "1";
  }
  int64_t sectors = 0;
  if (ParseDec(Attr(ev.devpath, "size").value_or(""), &sectors) && sectors <= (INT64_MAX / 512))
    data["size_bytes"] = sectors * 512;  // sysfs counts 512-byte sectors whatever the device's
  if (auto v = Attr(ev.devpath, "device/vendor")) {
    if (std::string text = CleanText(*v); !text.empty()) data["vendor"] = text;
  }
  if (auto v = Attr(ev.devpath, "device/model")) {
    if (std::string text = CleanText(*v); !text.empty()) data["model"] = text;
  }
}

void DeviceDescriber::ListSubsystem(const std::string& subsystem, std::vector<Uevent>* out) const {
  std::string dir = subsystem == "usb" ? "/sys/bus/usb/devices" : "/sys/class/" + subsystem;
  auto names = env_.ListDir(dir);
  if (!names.ok() && subsystem != "usb") {
    dir = "/sys/bus/" + subsystem + "/devices";
    names = env_.ListDir(dir);
  }
  if (!names.ok()) return;
  std::sort(names->begin(), names->end());
  for (const std::string& name : *names) {
    Uevent ev;
    ev.action = "present";
    ev.subsystem = subsystem;
    auto link = env_.ReadLink(dir + "/" + name);
    if (link.ok()) {
      auto devpath = DevpathFromLink(*link);
      if (!devpath) continue;
      ev.devpath = std::move(*devpath);
    } else {
      ev.devpath = dir.substr(4) + "/" + name;  // a real directory (older sysfs layouts)
      if (!CheckDevpath(ev.devpath).ok()) continue;
    }
    if (auto text = env_.ReadFile("/sys" + ev.devpath + "/uevent", kMaxAttrBytes); text.ok()) {
      (void)ParseUeventFile(*text, &ev.fields);  // what parsed before a bad line is kept
    }
    if (Relevant(ev, false)) out->push_back(std::move(ev));
  }
}

std::vector<Uevent> DeviceDescriber::ListPresent() const {
  std::vector<Uevent> out;
  for (const std::string& s : subsystems_) ListSubsystem(s, &out);
  return out;
}

}  // namespace vigil::peripheral
