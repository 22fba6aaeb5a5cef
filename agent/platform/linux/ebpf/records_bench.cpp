// ebpf_records_bench: how many connection records per second the eBPF connection source
// delivers while this program makes connections as fast as it can (root).
//
//   ebpf_records_bench [seconds-per-load] [ring-buffer-bytes] [load-threads]
//
// Loads, each for the given time (default 3 s) from the given number of threads (default 1),
// with one reader thread draining the source:
//   tcp   loopback TCP connections, connect + accept + two closes = 4 records each
//   udp   datagrams from one socket, each to a new loopback port = 1 record each
// Prints per load: records read per second, records lost (ring buffer full), the load's own
// rate, and the CPU time the reader used.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <thread>
#include <vector>

#include "agent/platform/ebpf.h"

namespace {

using Clock = std::chrono::steady_clock;

double ThreadCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = htons(port);
  return sin;
}

// One loopback TCP connection, opened and closed.
uint64_t TcpOnce(int listener, const sockaddr_in& to) {
  int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (connect(c, reinterpret_cast<const sockaddr*>(&to), sizeof(to)) != 0) {
    close(c);
    return 0;
  }
  int s = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  close(c);
  if (s >= 0) close(s);
  return 1;
}

struct Result {
  uint64_t records = 0;
  uint64_t lost = 0;
  uint64_t ops = 0;
  double seconds = 0;
  double reader_cpu = 0;
};

// Runs op(thread index) in `threads` threads for `seconds` while one thread reads the source.
Result Run(vigil::ConnectionSource* source, double seconds, int threads, const std::function<uint64_t(int)>& op) {
  std::atomic<bool> stop{false};
  Result r;
  std::thread reader([&] {
    const double cpu0 = ThreadCpuSeconds();
    std::vector<vigil::ConnectionRecord> out;
    while (!stop.load()) {
      out.clear();
      if (!source->Read(100, &out, &r.lost).ok()) break;
      r.records += out.size();
    }
    // What is still buffered counts too.
    out.clear();
    source->Read(0, &out, &r.lost);
    r.records += out.size();
    r.reader_cpu = ThreadCpuSeconds() - cpu0;
  });
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  std::atomic<uint64_t> ops{0};
  std::vector<std::thread> load;
  for (int t = 0; t < threads; ++t) {
    load.emplace_back([&, t] {
      uint64_t n = 0;
      while (Clock::now() < end) {
        for (int i = 0; i < 64; ++i) n += op(t);
      }
      ops += n;
    });
  }
  for (std::thread& t : load) t.join();
  r.ops = ops.load();
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  stop.store(true);
  reader.join();
  return r;
}

void Print(const char* name, const Result& r) {
  std::printf("%-4s %9.0f records/s read, %8llu lost (%.1f%%), load %8.0f ops/s, reader CPU %.0f%%\n", name,
              static_cast<double>(r.records) / r.seconds, static_cast<unsigned long long>(r.lost),
              r.records + r.lost ? 100.0 * static_cast<double>(r.lost) / static_cast<double>(r.records + r.lost) : 0.0,
              static_cast<double>(r.ops) / r.seconds, 100.0 * r.reader_cpu / r.seconds);
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  vigil::EbpfOptions options;
  if (argc > 2) options.ring_buffer_bytes = std::strtoull(argv[2], nullptr, 0);
  const int threads = argc > 3 ? std::max(1, std::atoi(argv[3])) : 1;
  auto source = vigil::OpenEbpfConnectionSource(options);
  if (!source.ok()) {
    std::fprintf(stderr, "ebpf_records_bench: %s\n", source.status().ToString().c_str());
    return 1;
  }
  std::printf("ring buffer %zu bytes, %g s per load, %d load thread(s)\n", options.ring_buffer_bytes, seconds, threads);

  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in any = Loopback(0);
  bind(listener, reinterpret_cast<sockaddr*>(&any), sizeof(any));
  listen(listener, 128);
  sockaddr_in bound{};
  socklen_t len = sizeof(bound);
  getsockname(listener, reinterpret_cast<sockaddr*>(&bound), &len);
  Print("tcp", Run(source->get(), seconds, threads, [&](int) { return TcpOnce(listener, bound); }));
  close(listener);

  std::vector<int> udp(static_cast<size_t>(threads));
  std::vector<uint16_t> port(static_cast<size_t>(threads), 1024);
  for (int& fd : udp) fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  Print("udp", Run(source->get(), seconds, threads, [&](int t) {
          uint16_t& p = port[static_cast<size_t>(t)];
          p = p == 65535 ? 1024 : p + 1;  // a new peer each time (nobody listens there)
          sockaddr_in to = Loopback(p);
          return sendto(udp[static_cast<size_t>(t)], "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 1
                     ? uint64_t{1}
                     : uint64_t{0};
        }));
  for (int fd : udp) close(fd);
  return 0;
}
