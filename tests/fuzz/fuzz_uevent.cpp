// Fuzzes what the peripheral collector reads from outside: kernel uevent messages, sysfs
// `uevent` files and attribute text. None may crash or read out of bounds; a parsed message
// keeps the parser's promises (a devpath that stays below /sys, ACTION and DEVPATH agreeing
// with the header), and the event data built from it always serialises as strict JSON.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/collectors/peripheral/device_info.h"
#include "agent/collectors/peripheral/tracker.h"
#include "agent/collectors/peripheral/uevent.h"
#include "agent/platform/fake/fake_env.h"

namespace {

using namespace vigil;
using namespace vigil::peripheral;

void Check(bool ok) {
  if (!ok) std::abort();
}

void CheckJson(const nlohmann::json& j) {
  (void)j.dump();  // throws, and so aborts, on invalid UTF-8
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  static FakeEnv env;
  static DeviceDescriber describer(env, {"usb", "net", "block", "tty", "input", "sound"});
  static CollectorStats stats("peripheral");
  static PeripheralTracker tracker(env, stats, describer, TrackerOptions{.max_devices = 64, .max_pending = 8},
                                   [](Event&& e) { CheckJson(e.data); });

  if (auto ev = ParseUevent(in); ev.ok()) {
    Check(!ev->action.empty());
    Check(CheckDevpath(ev->devpath).ok());
    Check(!ev->subsystem.empty());
    Check(ev->Get("ACTION") == ev->action);
    Check(ev->Get("DEVPATH") == ev->devpath);
    Check(ev->fields.size() <= kMaxUeventFields);
    CheckJson(describer.Describe(*ev));
    (void)describer.Relevant(*ev, true);
    tracker.Handle(*ev);
    tracker.Tick();
  }

  std::vector<std::pair<std::string, std::string>> fields;
  (void)ParseUeventFile(in, &fields);
  for (const auto& [k, v] : fields) Check(!k.empty() && k.find('\n') == std::string::npos);

  const std::string clean = CleanText(in);
  Check(clean.size() <= kMaxTextBytes);
  CheckJson(nlohmann::json(clean));
  const std::string mac = NormalizeMac(in);
  Check(mac.empty() || (mac.size() + 1) % 3 == 0);
  (void)UsbDeviceDevpath(in);
  int c = 0, s = 0, p = 0;
  if (ParseClassTriplet(in, &c, &s, &p)) Check(c >= 0 && c <= 255 && s >= 0 && s <= 255 && p >= 0 && p <= 255);
  return 0;
}
