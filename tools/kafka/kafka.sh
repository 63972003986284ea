#!/usr/bin/env bash
# Apache Kafka in KRaft mode (combined controller+broker nodes, no ZooKeeper) for development and
# tests, run from the jars Maven fetches for tools/kafka/pom.xml. Needs Java 17 and mvn.
#
#   kafka.sh fetch                   copy the broker jars into .kms-state/kafka/lib-<version>/
#                                    (skipped when already there); prints that folder
#   kafka.sh start [options]         format the storage (first start) and start the nodes in the
#                                    background; prints the bootstrap servers once every node is up
#       --dir DIR                    cluster folder: config, data, logs, pids
#                                    (default .kms-state/kafka/local)
#       --nodes N                    number of nodes, 1 to 5 (default 1); a new cluster only
#       --ports P1,...               client ports, one per node (default 9092)
#       --controller-ports C1,...    controller ports, one per node (default 9093)
#       --node ID                    start only this node of an existing cluster (a restart)
#       --heap SIZE                  JVM heap per node (default 384m)
#       --watch-pid PID              SIGKILL the nodes when PID exits (tests pass their own pid,
#                                    so a test runner that dies takes its brokers along)
#       --timeout S                  seconds to wait for a node to start (default 90)
#   kafka.sh stop [--dir DIR] [--node ID] [--kill] [--timeout S]
#                                    SIGTERM each node by its pid (controlled shutdown), SIGKILL after
#                                    S seconds (default 20) or at once with --kill; data is kept
#   kafka.sh status [--dir DIR]      one line per node: "<id> <pid|down> 127.0.0.1:<port>"
#
# Only processes started here are ever signalled: a pid is used only while /proc/<pid>/cmdline
# still names that node's config file, so a recycled pid or another person's broker is left alone.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
state="$root/.kms-state/kafka"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")"
lib="$state/lib-$version"
# The dependency plugin is named in full so no plugin-prefix metadata is looked up (offline re-runs).
dependency_plugin="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

die() { echo "kafka.sh: $*" >&2; exit 1; }

need_java() {
  command -v java >/dev/null || die "java is not installed (Kafka ${version} needs Java 17+)"
  local v
  v="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  [ "${v%%.*}" -ge 17 ] 2>/dev/null || die "Kafka ${version} needs Java 17+, found ${v:-unknown}"
}

fetch() {
  local stamp want
  want="$(sha256sum "$here/pom.xml" | cut -c1-64)"
  stamp="$lib/.fetched"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "$lib"
    return
  fi
  command -v mvn >/dev/null || die "mvn is not installed (apt-get install maven)"
  mkdir -p "$state"
  # One fetch at a time: two test workers on a fresh clone would otherwise race on the folder.
  exec 9>"$state/.fetch.lock"
  flock 9
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "kafka.sh: fetching Apache Kafka ${version} from Maven Central" >&2
    local tmp
    tmp="$(mktemp -d "$state/.lib.XXXXXX")"
    # Maven 3.8 prints stray ANSI resets even in batch mode; strip them (pipefail keeps its status).
    if ! mvn -B -q -f "$here/pom.xml" "$dependency_plugin:copy-dependencies" -DincludeScope=runtime -DoutputDirectory="$tmp" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2; then
      rm -rf "$tmp"
      die "mvn could not fetch the broker jars (see above)"
    fi
    [ -f "$tmp/kafka_2.13-${version}.jar" ] || { rm -rf "$tmp"; die "kafka_2.13-${version}.jar missing after the fetch"; }
    echo "$want" >"$tmp/.fetched"
    rm -rf "$lib"
    mv "$tmp" "$lib"
  fi
  flock -u 9
  echo "$lib"
}

# ---- cluster folder helpers ------------------------------------------------------------------

dir="$state/local"
node_dir() { echo "$dir/node-$1"; }

# The pid of node $1 if that process is alive and is this node's broker, else nothing.
node_pid() {
  local f pid
  f="$(node_dir "$1")/pid"
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 0
  if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$(node_dir "$1")/server.properties"; then echo "$pid"; fi
}

load_cluster() {
  [ -f "$dir/cluster.env" ] || die "no cluster in $dir (start one first)"
  # shellcheck disable=SC1091
  . "$dir/cluster.env"
}

write_config() { # id, client port, controller port
  local id=$1 port=$2 cport=$3 nd replicas
  nd="$(node_dir "$id")"
  replicas=$((NODES < 3 ? NODES : 3))
  mkdir -p "$nd/data"
  cat >"$nd/server.properties" <<EOF
# Written by tools/kafka/kafka.sh: node $id of a $NODES-node KRaft cluster on loopback.
process.roles=broker,controller
node.id=$id
controller.quorum.voters=$VOTERS
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$nd/data
# Topics a client creates without settings, and Kafka's internal topics, on up to 3 replicas.
num.partitions=1
default.replication.factor=$replicas
offsets.topic.replication.factor=$replicas
transaction.state.log.replication.factor=$replicas
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=$replicas
share.coordinator.state.topic.min.isr=1
# Few partitions and threads: small, quick to start, light on the two shared cores.
offsets.topic.num.partitions=5
transaction.state.log.num.partitions=5
share.coordinator.state.topic.num.partitions=3
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
log.cleaner.dedupe.buffer.size=8388608
group.initial.rebalance.delay.ms=0
# A dead node is fenced (and its partitions get new leaders) within ~3 s instead of 9 s.
broker.session.timeout.ms=3000
broker.heartbeat.interval.ms=500
replica.lag.time.max.ms=10000
EOF
}

launch() { # id
  local id=$1 nd size pid
  nd="$(node_dir "$id")"
  [ -z "$(node_pid "$id")" ] || return 0
  size=0
  [ -f "$nd/server.log" ] && size="$(stat -c %s "$nd/server.log")"
  # nohup: the JVM does not stop when the terminal that ran `kafka.sh start` closes.
  nohup java "-Xmx$HEAP" -Xms64m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError -XX:-UsePerfData \
    -Djava.awt.headless=true "-Dlog4j2.configurationFile=$here/log4j2.properties" "-Dkafka.node.log=$nd/server.log" \
    -cp "$lib/*" kafka.Kafka "$nd/server.properties" >>"$nd/stdout.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$nd/pid"
  echo "$size" >"$nd/.log-offset"
}

wait_started() { # id
  local id=$1 nd offset deadline
  nd="$(node_dir "$id")"
  offset="$(cat "$nd/.log-offset")"
  deadline=$((SECONDS + TIMEOUT))
  until [ -f "$nd/server.log" ] && tail -c +"$((offset + 1))" "$nd/server.log" | grep -q 'Kafka Server started'; do
    if [ -z "$(node_pid "$id")" ]; then
      tail -n 30 "$nd/stdout.log" "$nd/server.log" >&2 2>/dev/null || true
      die "node $id exited during start (logs in $nd)"
    fi
    [ "$SECONDS" -lt "$deadline" ] || die "node $id did not start within ${TIMEOUT}s (logs in $nd)"
    sleep 0.2
  done
}

start_watchdog() { # pid to watch
  local watched=$1 f="$dir/watchdog.pid" old
  if [ -f "$f" ]; then
    old="$(cat "$f")"
    if [ -r "/proc/$old/cmdline" ] && tr '\0' ' ' <"/proc/$old/cmdline" | grep -qF -- "kafka.sh"; then return 0; fi
  fi
  (
    # Polls once a second; ends by itself when the cluster folder is removed.
    while kill -0 "$watched" 2>/dev/null && [ -f "$dir/cluster.env" ]; do sleep 1; done
    if [ -f "$dir/cluster.env" ]; then
      for id in $IDS; do
        p="$(node_pid "$id")"
        [ -z "$p" ] || kill -9 "$p" 2>/dev/null || true
      done
    fi
  ) </dev/null >/dev/null 2>&1 &
  echo $! >"$f"
}

# ---- commands --------------------------------------------------------------------------------

cmd_start() {
  local nodes=1 ports=9092 cports=9093 only="" watch="" i id
  HEAP=384m
  TIMEOUT=90
  while [ $# -gt 0 ]; do
    case "$1" in
      --dir) dir="$2"; shift 2 ;;
      --nodes) nodes="$2"; shift 2 ;;
      --ports) ports="$2"; shift 2 ;;
      --controller-ports) cports="$2"; shift 2 ;;
      --node) only="$2"; shift 2 ;;
      --heap) HEAP="$2"; shift 2 ;;
      --watch-pid) watch="$2"; shift 2 ;;
      --timeout) TIMEOUT="$2"; shift 2 ;;
      *) die "start: unknown option $1" ;;
    esac
  done
  need_java
  fetch >/dev/null
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if [ ! -f "$dir/cluster.env" ]; then
    [ -z "$only" ] || die "start --node: no cluster in $dir"
    [[ "$nodes" =~ ^[1-5]$ ]] || die "--nodes must be 1 to 5"
    IFS=, read -r -a P <<<"$ports"
    IFS=, read -r -a C <<<"$cports"
    [ "${#P[@]}" = "$nodes" ] && [ "${#C[@]}" = "$nodes" ] || die "--ports and --controller-ports need one port per node ($nodes)"
    NODES=$nodes
    VOTERS=""
    IDS=""
    for ((i = 0; i < nodes; i++)); do
      VOTERS+="${VOTERS:+,}$((i + 1))@127.0.0.1:${C[$i]}"
      IDS+="${IDS:+ }$((i + 1))"
    done
    # A cluster id as `kafka-storage random-uuid` prints it: 16 random bytes, base64url, no padding,
    # not starting with "-" (it is passed as a command-line argument).
    local cluster_id="-"
    while [[ "$cluster_id" == -* ]]; do cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22)"; done
    for ((i = 0; i < nodes; i++)); do
      write_config "$((i + 1))" "${P[$i]}" "${C[$i]}"
    done
    # Storage is formatted once per node (meta.properties + the bootstrap metadata), in parallel.
    local pids=()
    for id in $IDS; do
      java -Xmx128m -XX:TieredStopAtLevel=1 "-Dlog4j2.configurationFile=$here/log4j2.properties" "-Dkafka.node.log=$(node_dir "$id")/format.log" \
        -cp "$lib/*" kafka.tools.StorageTool format -t "$cluster_id" -c "$(node_dir "$id")/server.properties" >"$(node_dir "$id")/format.out" 2>&1 &
      pids+=($!)
    done
    for i in "${!pids[@]}"; do
      wait "${pids[$i]}" || { cat "$(node_dir "$((i + 1))")/format.out" >&2; die "formatting node $((i + 1)) failed"; }
    done
    {
      echo "NODES=$NODES"
      echo "IDS=\"$IDS\""
      echo "VOTERS=$VOTERS"
      echo "PORTS=$ports"
      echo "CLUSTER_ID=$cluster_id"
    } >"$dir/cluster.env"
  fi
  load_cluster
  [ -z "$watch" ] || start_watchdog "$watch"
  local targets="$IDS"
  if [ -n "$only" ]; then
    [ -f "$(node_dir "$only")/server.properties" ] || die "no node $only in $dir"
    targets="$only"
  fi
  for id in $targets; do launch "$id"; done
  for id in $targets; do wait_started "$id"; done
  echo "${PORTS//,/$'\n'}" | sed 's/^/127.0.0.1:/' | paste -sd, -
}

cmd_stop() {
  local only="" signal=TERM timeout=20 id pid targets alive deadline
  while [ $# -gt 0 ]; do
    case "$1" in
      --dir) dir="$2"; shift 2 ;;
      --node) only="$2"; shift 2 ;;
      --kill) signal=KILL; shift ;;
      --timeout) timeout="$2"; shift 2 ;;
      *) die "stop: unknown option $1" ;;
    esac
  done
  [ -d "$dir" ] || return 0
  load_cluster
  targets="${only:-$IDS}"
  for id in $targets; do
    pid="$(node_pid "$id")"
    [ -z "$pid" ] || kill "-$signal" "$pid" 2>/dev/null || true
  done
  deadline=$((SECONDS + timeout))
  while :; do
    alive=""
    for id in $targets; do alive+="$(node_pid "$id")"; done
    [ -n "$alive" ] || break
    if [ "$SECONDS" -ge "$deadline" ]; then
      for id in $targets; do
        pid="$(node_pid "$id")"
        if [ -n "$pid" ]; then
          echo "kafka.sh: node $id did not stop within ${timeout}s, killing it" >&2
          kill -9 "$pid" 2>/dev/null || true
        fi
      done
      deadline=$((SECONDS + 10))
    fi
    sleep 0.1
  done
  for id in $targets; do rm -f "$(node_dir "$id")/pid"; done
}

cmd_status() {
  local id pid i=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --dir) dir="$2"; shift 2 ;;
      *) die "status: unknown option $1" ;;
    esac
  done
  load_cluster
  IFS=, read -r -a P <<<"$PORTS"
  for id in $IDS; do
    pid="$(node_pid "$id")"
    echo "$id ${pid:-down} 127.0.0.1:${P[$i]}"
    i=$((i + 1))
  done
}

case "${1:-}" in
  fetch) shift; fetch ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  status) shift; cmd_status "$@" ;;
  *) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
