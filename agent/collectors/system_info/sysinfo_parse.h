// Pure parsers for the files the system_info collector reads. They take the file's text and
// never fail: what cannot be parsed is left out (an empty string, zero, nullopt, or a
// missing key). Every string they return is valid UTF-8 without control characters, so it
// can be put into an Event's JSON as is. Fuzzed by tests/fuzz/fuzz_sysinfo.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::system_info {

// Longest string kept from any field; longer values are cut at a character boundary.
inline constexpr size_t kMaxValueBytes = 256;

// Makes `in` safe to emit: invalid UTF-8 bytes become U+FFFD, control characters (including
// NUL) become spaces, leading and trailing spaces are removed, and the result is cut to at
// most `max_bytes` without splitting a character.
std::string SanitizeText(std::string_view in, size_t max_bytes = kMaxValueBytes);

// os-release(5): lines of KEY=VALUE, VALUE optionally in double or single quotes, with shell
// backslash escapes (\" \\ \$ \` inside double quotes; any character outside quotes).
// Blank lines and lines starting with '#' are skipped, as are lines whose key is not
// [A-Za-z_][A-Za-z0-9_]*. A later assignment of a key replaces an earlier one. An unterminated
// quote runs to the end of its line. Values are sanitised.
std::map<std::string, std::string> ParseOsRelease(std::string_view text);

// What /proc/cpuinfo says about the CPU. Its keys differ by architecture:
//   x86:        "processor : N" per CPU, "model name", "vendor_id"
//   ARM 32-bit: "processor : N" per CPU, "model name" (newer kernels) or "Processor" (older,
//               once per file), "Hardware" (SoC), sometimes "Model" (board, e.g. Raspberry Pi)
//   ARM 64-bit: "processor : N", "CPU implementer : 0x41", "CPU part : 0xd08", no model name
//   MIPS:       "system type" (SoC), "cpu model"
//   PowerPC:    "cpu"; RISC-V: "uarch"
struct CpuInfo {
  std::string model;        // the first of: model name, Processor, cpu model, cpu, uarch,
                            // or the ARM part name from implementer and part
  std::string vendor;       // vendor_id, or the ARM implementer's name
  std::string hardware;     // ARM "Hardware" or MIPS "system type": the SoC
  std::string board_model;  // "Model" (Raspberry Pi kernels)
  int count = 0;            // "processor : <number>" lines; 0 when there are none
};
CpuInfo ParseCpuInfo(std::string_view text);

// The number of CPUs in a kernel CPU list such as /sys/devices/system/cpu/online
// ("0-3,5,7-8\n" is 7). nullopt when malformed or empty.
std::optional<int> ParseCpuListCount(std::string_view text);

// MemTotal from /proc/meminfo, in bytes ("MemTotal:  16318020 kB"). nullopt when absent,
// malformed or overflowing.
std::optional<uint64_t> ParseMemTotalBytes(std::string_view text);

// btime (boot time, seconds since the Unix epoch) from /proc/stat. nullopt when absent or
// malformed.
std::optional<int64_t> ParseBootTime(std::string_view text);

// A device-tree string list property (/proc/device-tree/compatible): strings separated and
// terminated by NUL. Empty items are dropped; at most `max_items` are kept, each sanitised.
std::vector<std::string> ParseNulList(std::string_view data, size_t max_items = 16);

// A link-layer address from /sys/class/net/<if>/address, as lowercase colon-separated hex
// pairs. Empty when malformed or all zeros (loopback, tunnels: no meaningful address).
std::string NormalizeMac(std::string_view text);

// A decimal integer file such as /sys/class/net/<if>/mtu (surrounding whitespace allowed).
std::optional<int64_t> ParseDecimal(std::string_view text);

// The vendor of a device-tree "compatible" string: the part before the first ','
// ("raspberrypi,4-model-b" -> "raspberrypi"). Empty when there is no ','.
std::string CompatibleVendor(std::string_view compatible);

}  // namespace vigil::system_info
