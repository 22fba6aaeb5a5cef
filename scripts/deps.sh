#!/bin/sh
# Installs the Debian packages a Vigil target needs, only those missing; silent when all are
# there. Usage: scripts/deps.sh build|test|bench|demo
set -eu

build="cmake make ninja-build g++ pkg-config nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev libmd-dev clang bpftool libbpf-dev libelf-dev zlib1g-dev libsystemd-dev libnftables-dev libmosquitto-dev libzstd-dev libsqlite3-dev libpq-dev libssl-dev libcpp-httplib-dev libpcre2-dev libzip-dev"
test="$build lld libclang-rt-14-dev libgtest-dev libgmock-dev busybox-static procps iproute2 openssh-server openssh-client sshpass systemd-journal-remote bsdutils passwd nftables iptables util-linux mosquitto openssl postgresql"
bench="$build libbenchmark-dev auditd procps binutils mosquitto time lynis openscap-scanner ssg-debian python3"
demo="$build mosquitto openssl curl"

case "${1:-build}" in
  build) want=$build ;;
  test) want=$test ;;
  bench) want="$test $bench" ;;
  demo) want=$demo ;;
  *) echo "usage: $0 build|test|bench|demo" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
  case " $missing " in *" $p "*) continue ;; esac
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "Vigil needs these Debian packages:$missing (run as root to install them)" >&2; exit 1
  fi
else
  SUDO=""
fi
echo "Installing build dependencies:$missing"
export DEBIAN_FRONTEND=noninteractive
# Refresh package lists when they are missing or older than a day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -1)" ]; then
  $SUDO apt-get update -q >/dev/null
fi
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
