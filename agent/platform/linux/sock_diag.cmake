# vigil_sock_diag: the kernel's socket table over NETLINK_SOCK_DIAG (platform/socket_table.h),
# its raw IP and packet sockets (raw_diag.h), the /proc/PID/fd owner lookup (socket_owners.h)
# and address formatting (socket_address.h).
# Included by every collector that uses it (network, listening_ports), so it is built when one
# of them is, and only then.
include_guard(GLOBAL)

add_library(vigil_sock_diag STATIC
  ${PROJECT_SOURCE_DIR}/agent/platform/linux/sock_diag.cpp
  ${PROJECT_SOURCE_DIR}/agent/platform/linux/socket_owners.cpp
  ${PROJECT_SOURCE_DIR}/agent/platform/linux/socket_address.cpp
  ${PROJECT_SOURCE_DIR}/agent/platform/linux/raw_diag.cpp
)
target_link_libraries(vigil_sock_diag PUBLIC vigil_core)

vigil_test(NAME sock_diag_test
           SOURCES ${PROJECT_SOURCE_DIR}/agent/platform/linux/sock_diag_test.cpp
                   ${PROJECT_SOURCE_DIR}/agent/platform/linux/socket_owners_test.cpp
                   ${PROJECT_SOURCE_DIR}/agent/platform/linux/raw_diag_test.cpp
           LIBS vigil_sock_diag vigil_fake_env)
