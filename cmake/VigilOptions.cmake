# Build options: one per collector and feature, plus VIGIL_MINIMAL, which starts from nothing.
# A feature that is OFF is not compiled at all. The list of compiled-in collectors is generated
# into a registry source file (no static initializers).

option(VIGIL_MINIMAL "Start from nothing: every optional collector and feature defaults to OFF" OFF)
if(VIGIL_MINIMAL)
  set(_vigil_default OFF)
else()
  set(_vigil_default ON)
endif()

# name | option | help
set(VIGIL_COLLECTORS
  "process|VIGIL_WITH_PROCESS|process exec/exit from the netlink proc connector or /proc polling"
  "system_info|VIGIL_WITH_SYSTEM_INFO|OS, kernel, hardware, CPU, memory, NICs"
  "heartbeat|VIGIL_WITH_HEARTBEAT|periodic liveness event"
  "network|VIGIL_WITH_NETWORK|connections per process from eBPF or NETLINK_SOCK_DIAG polling"
  "listening_ports|VIGIL_WITH_LISTENING_PORTS|listening TCP and bound UDP sockets with their owning process"
  "login|VIGIL_WITH_LOGIN|logins from utmp/wtmp/btmp, auth logs, the journal or a syslog socket"
  "peripheral|VIGIL_WITH_PERIPHERAL|devices added and removed (USB, network interfaces) from kernel uevents"
  "local_users|VIGIL_WITH_LOCAL_USERS|local users and groups, and changes to them"
  "firewall|VIGIL_WITH_FIREWALL|nftables and iptables rulesets summarised, and changes to them"
  "files|VIGIL_WITH_FILES|changes to watched files and directories (inotify) with their new sha256"
  "sbom|VIGIL_WITH_SBOM|installed packages (dpkg, opkg, apk, rpm) and their changes, and vigil-agent sbom (CycloneDX, SPDX)"
  "posture|VIGIL_WITH_POSTURE|posture checks: CIS-style policies (YAML) over files, sysctls, modules, mounts, packages, services, scanned periodically, and vigil-agent scan posture (needs VIGIL_WITH_SBOM and PCRE2)")
foreach(entry IN LISTS VIGIL_COLLECTORS)
  string(REPLACE "|" ";" parts "${entry}")
  list(GET parts 1 opt)
  list(GET parts 2 help)
  option(${opt} "Collector: ${help}" ${_vigil_default})
endforeach()

option(VIGIL_WITH_CONFIG_REFERENCE "vigil-agent config --print-reference: the configuration reference in Markdown (docs/configuration.md; a device has config --print-defaults)" ${_vigil_default})
option(VIGIL_WITH_PRETTY_OUTPUT "Readable, coloured event output on a terminal (--output pretty)" ${_vigil_default})
option(VIGIL_WITH_JOURNAL "Login collector: read the systemd journal (libsystemd, loaded at run time)" ${_vigil_default})
option(VIGIL_WITH_UPLINK "Uplink to a hub: persistent spool, MQTT (libmosquitto, TLS) and zstd batches (--output mqtt://, mqtts://)" ${_vigil_default})
option(VIGIL_WITH_EBPF "eBPF process and connection sources (CO-RE; needs clang, bpftool, libbpf and kernel BTF to build)" ${_vigil_default})

option(VIGIL_WITH_DETECT "Detection engine: Sigma rules and correlations over events, named lists (PCRE2); vigil-agent rules check|test" ${_vigil_default})

if(VIGIL_WITH_POSTURE AND NOT VIGIL_WITH_SBOM)
  message(FATAL_ERROR "VIGIL_WITH_POSTURE reads the package databases with the sbom readers: configure with "
                      "-DVIGIL_WITH_SBOM=ON, or -DVIGIL_WITH_POSTURE=OFF")
endif()

option(VIGIL_BUILD_HUB "The hub (vigil-hub): ingest, store (SQLite, PostgreSQL), enrollment, HTTP API; never part of a device build" ${_vigil_default})

option(VIGIL_BUILD_TESTS "Build unit and integration tests (GoogleTest)" OFF)
option(VIGIL_BUILD_BENCH "Build benchmarks (Google Benchmark)" OFF)
option(VIGIL_BUILD_FUZZ "Build libFuzzer targets (needs clang)" OFF)
option(VIGIL_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(VIGIL_SIZE_OFF_EVENT_PATH "Release: compile the parts off the event path for size (-Os; the release preset)" OFF)
option(VIGIL_STATIC_LIBSTDCXX "Link libstdc++ and libgcc into vigil-agent: for devices without them, and fewer pages in memory" OFF)
