#!/bin/bash
# make demo: the whole system on this machine. A Mosquitto broker with TLS and client
# certificates, the hub with its SQLite store and HTTP API, and an agent for this machine
# enrolled with the hub, all on 127.0.0.1. Prints the API address, tokens and sample commands,
# then the events as the hub stores them. Ctrl-C (or SIGTERM) stops the agent, the hub and the
# broker, in that order.
#
# Everything lives in build/demo/, made afresh on each run (CA, certificates, broker, store,
# tokens, the agent's state, and the logs: broker.log, hub.log, agent.log). The ports are 8883
# (broker) and 8080 (API) when free, else the first free ones from 18883 and 18080.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=build/bin
hub_bin=$bin/vigil-hub
agent_bin=$bin/vigil-agent
demo=build/demo
D=$root/$demo

for f in "$hub_bin" "$agent_bin"; do
  [ -x "$f" ] || { echo "demo: $f is missing: run make release (make demo does)" >&2; exit 1; }
done
for c in /usr/sbin/mosquitto curl; do
  command -v "$c" >/dev/null || { echo "demo: $c is missing: run scripts/deps.sh demo" >&2; exit 1; }
done

# A demo left running (or its services, after the script was killed) owns build/demo/.
if [ -f "$D/pids" ]; then
  left=""
  read -r -a pids <"$D/pids" || true
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$demo/"; then
      left="$left $pid"
    fi
  done
  if [ -n "$left" ]; then
    echo "demo: processes of an earlier demo still run:$left" >&2
    echo "stop that demo (Ctrl-C in its terminal), or: kill$left" >&2
    exit 1
  fi
fi
rm -rf "$D"
mkdir -p "$D"

# port_free PORT: nothing accepts connections on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# pick_port PREFERRED FALLBACK_START [EXCEPT]: PREFERRED if free, else the first free one from
# FALLBACK_START on.
pick_port() {
  local p=$1
  if [ "$p" != "${3:-}" ] && port_free "$p"; then echo "$p"; return 0; fi
  for ((p = $2; p < $2 + 200; p++)); do
    if [ "$p" != "${3:-}" ] && port_free "$p"; then echo "$p"; return 0; fi
  done
  echo "demo: no free port from $2 to $(($2 + 199))" >&2
  return 1
}
broker_port=$(pick_port 8883 18883)
http_port=$(pick_port 8080 18080 "$broker_port")
api=http://127.0.0.1:$http_port

# The device id: this machine's name, or demo-device when it does not make a valid id.
device=$(uname -n | cut -d. -f1 | tr -c 'A-Za-z0-9._\n-' '-' | cut -c1-64)
shopt -s nocasematch
case "$device" in "" | "vigil-hub" | "vigil-broker") device="demo-device" ;; esac
shopt -u nocasematch

# --- the services, and stopping them ----------------------------------------------------------
agent_pid="" hub_pid="" broker_pid=""

# stop PID NAME: SIGTERM, then up to 10 s for it to exit, then SIGKILL.
stop() {
  local pid=$1 name=$2 i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  echo "demo: $name did not stop within 10 s: killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

stopping=0
stop_all() {
  [ "$stopping" = 0 ] || return 0
  stopping=1
  trap '' INT TERM HUP
  stop "$agent_pid" agent
  stop "$hub_pid" hub
  stop "$broker_pid" broker
  rm -f "$D/pids"
}

on_signal() {
  echo
  echo "stopping: agent, hub, broker"
  stop_all
  echo "stopped (logs and state in $demo/)"
  exit 0
}
trap on_signal INT TERM HUP
trap 'stop_all' EXIT

# fail COMPONENT MESSAGE: prints the component's log, stops what was started, exits 1.
fail() {
  local log=$D/$1.log
  echo "demo: $2" >&2
  if [ -s "$log" ]; then
    echo "---- $demo/$1.log (last 40 lines) ----" >&2
    tail -n 40 "$log" >&2
    echo "----" >&2
  fi
  stop_all
  exit 1
}

# start VAR COMPONENT CMD...: runs CMD in the background, its output in COMPONENT.log, its pid in
# VAR. Each service runs in its own session, so that Ctrl-C reaches only this script, which
# stops them in order.
start() {
  local var=$1 name=$2
  shift 2
  setsid "$@" >"$D/$name.log" 2>&1 </dev/null &
  printf -v "$var" '%s' "$!"
  echo "$broker_pid $hub_pid $agent_pid" >"$D/pids"
}

# port_open PORT: something accepts connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# device_online: the hub has heard from the device. (The token is read from a file, so that it is
# not in curl's command line, which the agent reports.)
device_online() {
  curl -fsS -o "$D/device.json" -H "@$D/api-header" "$api/api/v1/devices/$device" || return 1
  [[ $(<"$D/device.json") == *'"state":"online"'* ]]
}

# wait_until COMPONENT PID TRIES WHAT CMD...: runs CMD every 0.2 s until it succeeds; fails when
# the process exits or after TRIES attempts.
wait_until() {
  local name=$1 pid=$2 tries=$3 what=$4 i
  shift 4
  for ((i = 0; i < tries; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || fail "$name" "the $name exited while starting"
    sleep 0.2
  done
  fail "$name" "the $name did not $what within $((tries / 5)) s"
}

# run COMPONENT CMD...: a setup command; on failure its output is shown.
run() {
  local name=$1
  shift
  "$@" >>"$D/$name.log" 2>&1 || fail "$name" "failed: $*"
}

echo "Vigil demo: starting a broker, the hub and an agent for this machine ($device) in $demo/"

# The broker: TLS with client certificates from the hub's CA, on 127.0.0.1 only. When started as
# root mosquitto drops to the user named in its configuration, which must be able to read the
# files written here: this user.
run setup "$hub_bin" broker-config --data-dir "$D" --out "$D/broker" --port "$broker_port" --listen 127.0.0.1 \
  --hostname localhost --hostname 127.0.0.1 --user "$(id -un)"
start broker_pid broker /usr/sbin/mosquitto -c "$D/broker/mosquitto.conf"
wait_until broker "$broker_pid" 50 "listen on port $broker_port" port_open "$broker_port"

# The device: a certificate and an agent bundle, used where it lies.
run setup "$hub_bin" enroll "$device" --data-dir "$D" --broker "mqtts://localhost:$broker_port" \
  --out "$D/agent" --install-dir "$D/agent"

# The hub.
cat >"$D/hub.yml" <<YAML
# The demo hub's configuration (vigil-hub config --print-defaults lists every key).
hub:
  data_dir: "$D"
mqtt:
  url: "mqtts://localhost:$broker_port"
  ca_file: "$D/ca/ca.crt"
  cert_file: "$D/hub.crt"
  key_file: "$D/hub.key"
http:
  listen: "127.0.0.1:$http_port"
devices:
  silent_after: 2m
  check_interval: 15s
YAML
run setup "$hub_bin" config --check "$D/hub.yml"
viewer=$("$hub_bin" token create demo --role viewer --config "$D/hub.yml" 2>>"$D/setup.log") ||
  fail setup "cannot create the API tokens"
admin=$("$hub_bin" token create demo-admin --role admin --config "$D/hub.yml" 2>>"$D/setup.log") ||
  fail setup "cannot create the API tokens"
(umask 077 && echo "Authorization: Bearer $viewer" >"$D/api-header")
start hub_pid hub "$hub_bin" serve --config "$D/hub.yml"
wait_until hub "$hub_pid" 100 "answer on $api" curl -fsS "$api/api/v1/health"

# The agent: short aggregation intervals so that aggregated events show up within seconds.
start agent_pid agent "$agent_bin" run --config "$D/agent/agent.yml" --set "agent.state_dir=$D/agent-state" \
  --set priorities.medium_interval=10s --set priorities.low_interval=1m --set stats.interval=1m \
  --set heartbeat.interval=30s
wait_until agent "$agent_pid" 150 "connect to the hub" device_online

cat <<EOF

Running on this machine:
  broker   mosquitto on mqtts://localhost:$broker_port (TLS, client certificates from the hub's CA)
  hub      HTTP API on $api/api/v1/, SQLite store $demo/hub.db
  agent    device $device, online
  logs     $demo/broker.log, $demo/hub.log, $demo/agent.log

API tokens (header Authorization: Bearer TOKEN):
  viewer   $viewer
  admin    $admin

Try, in another terminal in $root:
  curl -s -H "Authorization: Bearer $viewer" $api/api/v1/devices
  curl -s -G -H "Authorization: Bearer $viewer" $api/api/v1/events \\
       --data-urlencode 'filter=type = process and action = exec' --data-urlencode since=10m
  $hub_bin query -c $demo/hub.yml 'type = process and action = exec' --since 10m
  $hub_bin devices -c $demo/hub.yml
Every endpoint: hub/api/README.md; the filter language: hub/query/README.md.

Events as the hub stores them. Process starts and ends are counted over 10 s before they are
sent (xN); start some programs in another terminal to see them. Ctrl-C stops everything.

EOF

# jfield KEY JSON: the first "KEY": string or number in JSON, in REPLY ("" when absent).
jfield() {
  local re="\"$1\":(\"(([^\"\\\\]|\\\\.)*)\"|([-0-9.eE+]+|true|false))"
  if [[ $2 =~ $re ]]; then REPLY=${BASH_REMATCH[2]}${BASH_REMATCH[4]}; else REPLY=""; fi
}

# summary TYPE ACTION DATA: the telling fields of an event's data, on one line, in REPLY.
summary() {
  local type=$1 action=$2 data=$3 a b c d e
  case "$type" in
    process)
      jfield user "$data"; a=$REPLY
      jfield cmdline "$data"; b=$REPLY
      [ -n "$b" ] || { jfield exe "$data"; b=$REPLY; }
      if [ "$action" = exit ]; then
        jfield exit_code "$data"; [ -z "$REPLY" ] || b="$b  (exit code $REPLY)"
        jfield signal "$data"; [ -z "$REPLY" ] || b="$b  (signal $REPLY)"
      fi
      REPLY="$a  $b" ;;
    network)
      jfield exe "$data"; a=$REPLY
      [ -n "$a" ] || { jfield comm "$data"; a=${REPLY:-?}; }
      jfield protocol "$data"; b=$REPLY
      jfield local_ip "$data"; c=$REPLY; jfield local_port "$data"; c="$c:$REPLY"
      jfield remote_ip "$data"; d=$REPLY; jfield remote_port "$data"; d="$d:$REPLY"
      case "$action" in
        listen) REPLY="$a  $b $c" ;;
        accept) REPLY="$a  $b $c <- $d" ;;
        *) REPLY="$a  $b $c -> $d" ;;
      esac
      e=$REPLY
      jfield bytes_out "$data"; a=$REPLY; jfield bytes_in "$data"; b=$REPLY
      REPLY=$e
      [ -z "$a$b" ] || REPLY="$e  (${a:-0} B out, ${b:-0} B in)"
      ;;
    listening_ports)
      if [ "$action" = snapshot ]; then
        a=${data//\"local_port\":/$'\x01'}; a=${a//[!$'\x01']/}
        REPLY="${#a} listening sockets"
      else
        jfield exe "$data"; a=${REPLY:-?}; jfield protocol "$data"; b=$REPLY
        jfield local_ip "$data"; c=$REPLY; jfield local_port "$data"
        REPLY="$a  $b $c:$REPLY"
      fi ;;
    login)
      jfield user "$data"; a=$REPLY; jfield source_ip "$data"; b=$REPLY
      jfield service "$data"; c=$REPLY; jfield method "$data"; d=$REPLY
      REPLY="$a${b:+ from $b}  ($c${d:+, $d})" ;;
    peripheral)
      jfield subsystem "$data"; a=$REPLY
      for b in interface product devname devpath; do jfield "$b" "$data"; [ -z "$REPLY" ] || break; done
      REPLY="$a  $REPLY" ;;
    file)
      jfield path "$data"; a=$REPLY; jfield moved_to "$data"
      REPLY="$a${REPLY:+ -> $REPLY}" ;;
    local_users)
      if [ "$action" = snapshot ]; then
        jfield user_count "$data"; a=$REPLY; jfield group_count "$data"
        REPLY="$a users, $REPLY groups"
      else
        jfield user "$data"; a=$REPLY; jfield group "$data"; REPLY="${a:-$REPLY}"
      fi ;;
    firewall)
      jfield rule_count "$data"; a=$REPLY; jfield chain_count "$data"
      REPLY="$a rules in $REPLY chains" ;;
    system_info)
      jfield hostname "$data"; a=$REPLY; jfield pretty_name "$data"; b=$REPLY
      jfield release "$data"; c=$REPLY; jfield architecture "$data"; d=$REPLY
      jfield count "$data"; e=$REPLY
      REPLY="$a: $b, kernel $c, $d, $e CPUs" ;;
    heartbeat)
      jfield uptime_s "$data"; REPLY="agent up ${REPLY}s" ;;
    agent_stats)
      jfield rss_bytes "$data"; a=$REPLY; jfield cpu_ms "$data"; b=$REPLY; jfield events_emitted "$data"
      REPLY="agent: ${REPLY:-?} events sent, $((${a:-0} / 1024)) KB resident, ${b:-?} ms CPU" ;;
    *) REPLY=$data ;;
  esac
}

# Follow: every 2 s, the events of the last 3 minutes by time, each printed once (by device and
# seq). The window is longer than the agent's aggregation intervals, so a held event is seen
# when it arrives. The query's command line is the same each time, so the agent counts these
# runs instead of reporting each one; they and the demo's other processes are not shown.
follow_filter="not (type = process and ppid = $$)"
exec 7<> <(:)  # read -t on it: a pause without starting a process
declare -A seen=()
printf '%-8s  %-12s  %-24s  %s\n' TIME DEVICE EVENT WHAT
while :; do
  if kill -0 "$agent_pid" 2>/dev/null && kill -0 "$hub_pid" 2>/dev/null && kill -0 "$broker_pid" 2>/dev/null; then :; else
    kill -0 "$broker_pid" 2>/dev/null || fail broker "the broker exited"
    kill -0 "$hub_pid" 2>/dev/null || fail hub "the hub exited"
    fail agent "the agent exited"
  fi
  if "$hub_bin" query -c "$D/hub.yml" --since 3m --oldest-first -n 0 --format json "$follow_filter" \
    >"$D/follow.json" 2>/dev/null; then
    declare -A now_seen=()
    while IFS= read -r line; do
      # {"action":..,"count":..,"data":{...},"device":"ID",...,"seq":N,"ts":N,"type":"T","v":1}
      # (keys in order): the envelope after the data, the data between.
      tail=${line##*\},\"device\":\"}
      dev=${tail%%\"*}
      [[ $tail =~ \"seq\":([0-9]+) ]] || continue
      key="$dev/${BASH_REMATCH[1]}"
      now_seen[$key]=1
      [ -z "${seen[$key]:-}" ] || continue
      [[ $tail =~ \"ts\":([0-9]+).*\"type\":\"([a-z_]+)\" ]] || continue
      ts=${BASH_REMATCH[1]} type=${BASH_REMATCH[2]}
      head=${line%%\"data\":*}
      action="" count=""
      [[ $head =~ \"action\":\"([a-z_]+)\" ]] && action=${BASH_REMATCH[1]}
      [[ $head =~ \"count\":([0-9]+) ]] && [ "${BASH_REMATCH[1]}" != 1 ] && count=" x${BASH_REMATCH[1]}"
      data=${line#*\"data\":}
      data=${data%\},\"device\":*}
      summary "$type" "$action" "$data}"
      what=${REPLY//$'\t'/ }
      [ "${#what}" -le 110 ] || what="${what:0:107}..."
      printf '%(%H:%M:%S)T  %-12s  %-24s  %s\n' "$((ts / 1000))" "$dev" "$type${action:+/$action}$count" "$what"
    done <"$D/follow.json"
    seen=()
    for key in "${!now_seen[@]}"; do seen[$key]=1; done
    unset now_seen
  fi
  read -r -t 2 -u 7 _ || true
done
