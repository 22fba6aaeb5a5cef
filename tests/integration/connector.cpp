// vigil-test-connector: stands in for a program that connects out (a miner, a bot) in the
// detection tests; it takes any arguments, so a test can give it a miner's command line.
//
//   vigil-test-connector [ARG...] -o SCHEME://HOST:PORT [ARG...]   (a miner's pool URL)
//   vigil-test-connector [ARG...] --connect HOST:PORT [ARG...]
//
// Connects to HOST:PORT (IPv4 address) and reads until the peer closes the connection (or
// the test kills it); exits 0, or 1 when the arguments hold no address or the connection
// fails.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  std::string target;
  for (int i = 1; i + 1 < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-o" || arg == "--connect") target = argv[i + 1];
  }
  if (size_t scheme = target.find("://"); scheme != std::string::npos) target = target.substr(scheme + 3);
  size_t colon = target.rfind(':');
  if (target.empty() || colon == std::string::npos) {
    std::fprintf(stderr, "usage: %s [ARG...] -o SCHEME://HOST:PORT | --connect HOST:PORT [ARG...]\n", argv[0]);
    return 1;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(target.c_str() + colon + 1)));
  if (inet_pton(AF_INET, target.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "%s: not an IPv4 address and port\n", target.c_str());
    return 1;
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("connect");
    return 1;
  }
  char buf[256];
  while (read(fd, buf, sizeof buf) > 0) {
  }
  close(fd);
  return 0;
}
