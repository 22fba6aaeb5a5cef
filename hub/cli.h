// The vigil-hub command line: serve, query, devices, desired, enroll, revoke, broker-config,
// crl, token, config, vuln (import, scan), version. Exit codes: 0 success, 1 runtime failure,
// 2 usage error or invalid configuration.
#pragma once

namespace vigil::hub {

int RunCli(int argc, char** argv);

}  // namespace vigil::hub
