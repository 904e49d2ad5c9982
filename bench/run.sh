#!/usr/bin/env bash
# `make bench`: Basalt side by side with nginx on loopback (see bench/README.md).
#
#   bench/run.sh [--record] [--quick] [--duration S] [--rounds N] [--connections N]
#                [--streams N] [--no-basalt] [--no-portkey] [--no-stream] [--keep] [--profile]
#
# Starts, all on 127.0.0.1 and under one temp dir: a static nginx upstream, nginx as the
# reference reverse proxy, Basalt in front of the same upstream, and (for streaming) `basalt
# mock-upstream` with a paced reply. Drives them with wrk / h2load / benchlib.py, prints a
# Markdown table, and with --record also writes it to bench/RESULTS.md. Every process it starts
# is stopped on exit (trap); the whole run is bounded by BENCH_MAX_SECONDS (default 2400).
# The whole script is one { ... } block: bash parses it completely before running it, so editing
# this file while a run is going on cannot change what that run executes.
{
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
BASALT=${BASALT_BINARY:-$ROOT/build/basalt}
LIB="$BENCH_DIR/tools/benchlib.py"
REQ_BODY="$BENCH_DIR/payload/chat_request.json"
RESP_BODY="$BENCH_DIR/payload/chat_completion.json"

DURATION=10          # seconds per measured run
WARMUP=2             # seconds of untimed load before each measured run
CONNS=64             # wrk connections at saturation
LIGHT_CONNS=4        # wrk connections for the light closed-loop run
FIXED_CONNS=16       # h2load connections for the fixed-rate run
STREAMS=10000        # concurrent streams
STREAM_TOKENS_PER_S=1
STREAM_WORDS=30      # reply length in words: each stream lasts STREAM_WORDS / STREAM_TOKENS_PER_S s
STREAM_RAMP=1000     # new streams per second
H2_STREAMS_PER_CONN=100  # HTTP/2 streams per client connection (Basalt allows 128)
CHUNK_WORDS=2000     # per-chunk runs: reply length, one SSE event per word
CHUNK_TOKENS_PER_S=2000  # per-chunk runs, paced mode: chunks per second
declare -A CHUNK_STREAMS=([unpaced]=50 [paced]=10)  # per-chunk runs: streams per measurement
STARTUP_RUNS=5
ROUNDS=3             # each non-streaming measurement, round-robin over the targets; median shown
RECORD=0
RUN_BASALT=1
RUN_PORTKEY=1
RUN_STREAM=1
KEEP=0
PROFILE=0
MAX_SECONDS=${BENCH_MAX_SECONDS:-2400}

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --record) RECORD=1 ;;
    --quick) DURATION=3; WARMUP=1; ROUNDS=1; STREAMS=1000; STREAM_WORDS=6; STARTUP_RUNS=3
             CHUNK_STREAMS=([unpaced]=10 [paced]=2) ;;
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --connections) CONNS=$2; shift ;;
    --streams) STREAMS=$2; shift ;;
    --no-basalt) RUN_BASALT=0 ;;
    --no-portkey) RUN_PORTKEY=0 ;;
    --no-stream) RUN_STREAM=0 ;;
    --keep) KEEP=1 ;;
    --profile) PROFILE=1 ;;
    -h|--help) usage 0 ;;
    *) echo "bench: unknown option $1" >&2; usage 2 ;;
  esac
  shift
done

for tool in nginx wrk h2load python3 curl taskset; do
  command -v "$tool" >/dev/null || { echo "bench: $tool not found (scripts/install-deps.sh)" >&2; exit 1; }
done
NGINX=$(command -v nginx)

NPROC=$(nproc)
# The load generator gets the last CPU to itself as far as taskset can give it; the servers are
# not pinned (the kernel spreads them over every CPU, including that one). On a 1-CPU machine
# nothing is pinned. Override with BENCH_LOADGEN_CPUS="" (no pinning) or a taskset CPU list.
if [[ -n "${BENCH_LOADGEN_CPUS+x}" ]]; then LOADGEN_CPUS=$BENCH_LOADGEN_CPUS
elif (( NPROC >= 2 )); then LOADGEN_CPUS=$((NPROC - 1))
else LOADGEN_CPUS=""; fi
loadgen() { if [[ -n "$LOADGEN_CPUS" ]]; then taskset -c "$LOADGEN_CPUS" "$@"; else "$@"; fi; }
THREADS=${BENCH_BASALT_THREADS:-$NPROC}
PROXY_WORKERS=${BENCH_NGINX_WORKERS:-$NPROC}
UPSTREAM_WORKERS=${BENCH_UPSTREAM_WORKERS:-1}
KEEPALIVE=64

# 10,000 streams need a descriptor per client connection and per upstream connection in Basalt.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)

WORK=$(mktemp -d /tmp/basalt-bench.XXXXXX)
chmod 755 "$WORK"  # nginx workers run as nobody when started by root
RESULTS="$WORK/results.env"
: >"$RESULTS"
PIDS=()
WATCHDOG=""

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -n "$WATCHDOG" ]] && kill "$WATCHDOG" 2>/dev/null || true
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 50); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    (( alive )) || break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if (( KEEP )); then echo "bench: kept $WORK" >&2; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT TERM
(
  trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
  sleep "$MAX_SECONDS" & sleeper=$!
  wait "$sleeper" && { echo "bench: time limit of ${MAX_SECONDS}s reached" >&2; kill -TERM $$; }
) &
WATCHDOG=$!

log() { echo "bench: $*" >&2; }
put() { echo "$1=$2" >>"$RESULTS"; }
note() { NOTES+="- $*\\n"; }
NOTES=""

# stop PID: TERM, wait up to 5 s, then KILL; forget it.
stop() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  local keep=() p
  for p in "${PIDS[@]}"; do [[ "$p" != "$pid" ]] && keep+=("$p"); done
  PIDS=("${keep[@]}")
}

wait_port() {  # wait_port PORT: until something accepts on 127.0.0.1:PORT (5 s)
  for _ in $(seq 500); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.01
  done
  log "nothing listening on port $1"; return 1
}

# ---------------------------------------------------------------------------------------------
# A quiet machine: a compile running next to the benchmark would make the numbers meaningless.
if (( RECORD )); then
  waited=0
  while pgrep -f cc1plus >/dev/null; do
    (( waited == 0 )) && log "waiting for running compiles (cc1plus) to finish before recording"
    (( waited >= 600 )) && { log "compiles still running after 600 s; recording anyway"; note "compiles were running during this run"; break; }
    sleep 5; waited=$((waited + 5))
  done
elif pgrep -f cc1plus >/dev/null; then
  log "warning: compiles (cc1plus) are running; numbers will be noisy"
  note "compiles were running during this run (not recorded)"
fi

# ---------------------------------------------------------------------------------------------
# nginx: upstream and reference proxy

start_nginx() {  # start_nginx NAME TEMPLATE PORT WORKERS [UPSTREAM_PORT] -> NGINX_PID
  local name=$1 template=$2 port=$3 workers=$4 upstream=${5:-0}
  local dir="$WORK/$name" body
  mkdir -p "$dir/tmp"
  body=$(tr -d '\n' <"$RESP_BODY")
  sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" -e "s|@WORKERS@|$workers|g" \
      -e "s|@UPSTREAM_PORT@|$upstream|g" -e "s|@KEEPALIVE@|$KEEPALIVE|g" \
      -e "s|@BODY@|$body|g" "$template" >"$dir/nginx.conf"
  "$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" -g 'daemon off;' \
    >"$dir/stdout.log" 2>&1 &
  NGINX_PID=$!
  PIDS+=("$NGINX_PID")
  wait_port "$port" || { cat "$dir/error.log" >&2; exit 1; }
}

UP_PORT=$(python3 "$LIB" free-port)
start_nginx upstream "$BENCH_DIR/nginx/upstream.conf.in" "$UP_PORT" "$UPSTREAM_WORKERS"
UP_PID=$NGINX_PID
PROXY_PORT=$(python3 "$LIB" free-port)
start_nginx proxy "$BENCH_DIR/nginx/proxy.conf.in" "$PROXY_PORT" "$PROXY_WORKERS" "$UP_PORT"
PROXY_PID=$NGINX_PID
log "upstream nginx on :$UP_PORT ($UPSTREAM_WORKERS worker), proxy nginx on :$PROXY_PORT" \
    "($PROXY_WORKERS workers)"

# ---------------------------------------------------------------------------------------------
# Basalt

API_KEY="sk-bench-unused"
BASALT_PORT=""
BASALT_PID=""
GOVERNANCE="off"

write_basalt_config() {  # write_basalt_config FILE BASE_URL MODEL_NAME [EXTRA_SERVER_LINE]
  cat >"$1" <<EOF
# Generated by bench/run.sh.
[server]
listen = "127.0.0.1:0"
threads = $THREADS
log_level = "warn"
${4:-}

[[providers]]
name = "upstream"
type = "openai"
base_url = "$2"
api_key_env = "BENCH_UPSTREAM_KEY"
max_idle_connections = $KEEPALIVE

[[models]]
name = "$3"
[[models.routes]]
provider = "upstream"
model = "$3"
EOF
}

# start_basalt NAME CONFIG [DATA_DIR] -> BASALT_PID, BASALT_PORT, BASALT_STARTUP_MS (a fresh data
# dir unless DATA_DIR is given).
# The readiness poller starts first so that the interpreter's own start-up is not timed.
start_basalt() {
  local name=$1 config=$2 dir="$WORK/$1" t0 ready poller
  local data=${3:-$WORK/$1/data}
  rm -rf "$dir"; mkdir -p "$dir"
  python3 "$LIB" wait-ready "$dir/stdout.log" "$dir/launch" 10 "$dir/poller-up" >"$dir/ready" &
  poller=$!
  for _ in $(seq 1000); do [[ -e "$dir/poller-up" ]] && break; sleep 0.01; done
  t0=$EPOCHREALTIME
  BASALT_ADMIN_KEY="$ADMIN_KEY" BENCH_UPSTREAM_KEY=sk-upstream \
    "$BASALT" serve --config "$config" --data "$data" >"$dir/stdout.log" 2>&1 &
  BASALT_PID=$!
  PIDS+=("$BASALT_PID")
  echo "$t0 $BASALT_PID" >"$dir/launch"
  if ! wait "$poller"; then
    log "basalt did not become ready:"; tail -20 "$dir/stdout.log" >&2; return 1
  fi
  read -r BASALT_PORT BASALT_STARTUP_MS BASALT_LISTEN_MS <"$dir/ready"
}

# Governance on: a principal with a key, an IAM policy allowing model calls, a generous quota
# (so that the quota check runs on every request without ever refusing one), audit as
# configured by default. Only when this build has the admin CLI; otherwise say so.
setup_governance() {  # setup_governance PORT
  local url="http://127.0.0.1:$1" out policy="$WORK/policy.json"
  local help
  help=$("$BASALT" --help 2>&1 || true)
  if [[ "$help" != *principal* ]]; then
    GOVERNANCE="off (this build has no principal/key admin CLI yet)"
    return 0
  fi
  cat >"$policy" <<'EOF'
{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
  "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"], "Resource": "*"}]}
EOF
  export BASALT_URL=$url BASALT_ADMIN_KEY=$ADMIN_KEY
  if "$BASALT" principal create bench >/dev/null 2>"$WORK/gov.err" &&
     out=$("$BASALT" key create bench 2>>"$WORK/gov.err") &&
     "$BASALT" policy put bench-invoke "$policy" >/dev/null 2>>"$WORK/gov.err" &&
     "$BASALT" policy attach bench-invoke bench >/dev/null 2>>"$WORK/gov.err"; then
    API_KEY=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["api_key"])' <<<"$out")
    GOVERNANCE="on (API key auth, IAM policy"
    if "$BASALT" quota set bench --rpm 1000000000 --tpm 100000000000 --concurrency 1000000 \
         >/dev/null 2>>"$WORK/gov.err"; then GOVERNANCE+=", quota"; fi
    GOVERNANCE+=", audit as configured by default)"
  else
    # Fall back to the root admin key: still authenticated, authorized and audited per request,
    # but without a policy document or a quota to evaluate.
    API_KEY=$ADMIN_KEY
    GOVERNANCE="partly on: requests use the root admin key (authentication, authorization, audit); the admin CLI failed, so no IAM policy or quota was set up ($(head -c 160 "$WORK/gov.err" | tr '\n' ' '))"
  fi
  unset BASALT_URL BASALT_ADMIN_KEY
}

ADMIN_KEY="bench-admin-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
if (( RUN_BASALT )) && [[ ! -x "$BASALT" ]]; then
  log "no Basalt binary at $BASALT: running the nginx part only"
  RUN_BASALT=0
  put sat.basalt.skip "no binary at $BASALT"
elif (( ! RUN_BASALT )); then
  put sat.basalt.skip "--no-basalt"
fi

if (( RUN_BASALT )); then
  # Start-up time: launch -> GET /healthz 200, several fresh starts, median.
  write_basalt_config "$WORK/basalt.toml" "http://127.0.0.1:$UP_PORT/v1" gpt-4o-mini
  startups=(); listens=()
  for i in $(seq "$STARTUP_RUNS"); do
    start_basalt "startup$i" "$WORK/basalt.toml" || exit 1
    startups+=("$BASALT_STARTUP_MS"); listens+=("$BASALT_LISTEN_MS")
    stop "$BASALT_PID"
  done
  read -r s_med s_min < <(printf '%s\n' "${startups[@]}" | sort -g |
    awk '{a[NR]=$1} END {print a[int((NR+1)/2)], a[1]}')
  put startup.runs "$STARTUP_RUNS"; put startup.median_ms "$s_med"; put startup.min_ms "$s_min"
  put startup.listen_median_ms "$(printf '%s\n' "${listens[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
  log "basalt start-up (to /healthz 200): ${startups[*]} ms; to 'listening on': ${listens[*]} ms"
  # A restart on an existing data dir (the common case) skips the first-start initialisation.
  restarts=()
  for i in $(seq "$STARTUP_RUNS"); do
    start_basalt "restart$i" "$WORK/basalt.toml" "$WORK/startup1/data" || exit 1
    restarts+=("$BASALT_STARTUP_MS")
    stop "$BASALT_PID"
  done
  put startup.restart_median_ms "$(printf '%s\n' "${restarts[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
  log "basalt restart on an existing data dir (to /healthz 200): ${restarts[*]} ms"

  # The same gateway with the perimeter off (no auth, policy, quota or audit): the cost of
  # governance is the difference between the two Basalt rows.
  write_basalt_config "$WORK/basalt-open.toml" "http://127.0.0.1:$UP_PORT/v1" gpt-4o-mini \
    "perimeter = false"
  start_basalt basalt-open "$WORK/basalt-open.toml" || exit 1
  BASALT_OPEN_PORT=$BASALT_PORT
  BASALT_OPEN_PID=$BASALT_PID

  start_basalt basalt "$WORK/basalt.toml" || exit 1
  sleep 1  # "idle": after start-up work settles, before any request
  put basalt.idle_rss_kib "$(python3 "$LIB" rss "$BASALT_PID")"
  setup_governance "$BASALT_PORT"
  log "basalt on :$BASALT_PORT (pid $BASALT_PID), governance $GOVERNANCE"
  put basalt.governance "$GOVERNANCE"
  put basalt.threads "$THREADS"
  put basalt.commit "$(git -C "$ROOT" log -1 --format='%h %cd' --date=format:'%Y-%m-%d %H:%M' 2>/dev/null || echo '?')"
  put basalt.binary "$BASALT"
fi

# ---------------------------------------------------------------------------------------------
# Correctness before speed: every target must answer the request with a chat.completion.

declare -A URL=([direct]="http://127.0.0.1:$UP_PORT/v1/chat/completions"
                [nginx]="http://127.0.0.1:$PROXY_PORT/v1/chat/completions")
declare -A PID_OF=([direct]=$UP_PID [nginx]=$PROXY_PID)
CLK_TCK=$(getconf CLK_TCK)
TARGETS=(direct nginx)
if (( RUN_BASALT )); then
  URL[basalt]="http://127.0.0.1:$BASALT_PORT/v1/chat/completions"
  PID_OF[basalt]=$BASALT_PID
  URL[basalt_open]="http://127.0.0.1:$BASALT_OPEN_PORT/v1/chat/completions"
  PID_OF[basalt_open]=$BASALT_OPEN_PID
  TARGETS+=(basalt basalt_open)
fi
# Extra request headers per target (wrk -H / curl -H), one per line.
declare -A EXTRA_HEADERS=()
headerArgs() {  # headerArgs TARGET: -H arguments for the target's extra headers
  local h
  while IFS= read -r h; do [[ -n "$h" ]] && printf '%s\0%s\0' -H "$h"; done <<<"${EXTRA_HEADERS[$1]:-}"
}

# The Portkey AI gateway (npm @portkey-ai/gateway, pinned in bench/portkey/package-lock.json),
# the peer DESIGN.md measures against: saturation runs only, the same upstream through its
# OpenAI provider with a custom host. Installed into bench/portkey on first use.
SAT_TARGETS=("${TARGETS[@]}")
if (( RUN_PORTKEY )); then
  pk_dir="$BENCH_DIR/portkey"
  pk_stamp="$pk_dir/node_modules/.bench-lock-stamp"
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    put sat.portkey.skip "node/npm not installed"
  elif ! cmp -s "$pk_dir/package-lock.json" "$pk_stamp" 2>/dev/null &&
       ! { npm ci --prefix "$pk_dir" --no-audit --no-fund --ignore-scripts --loglevel=error >&2 &&
           cp "$pk_dir/package-lock.json" "$pk_stamp"; }; then
    put sat.portkey.skip "npm ci in bench/portkey failed"
  else
    PK_PORT=$(python3 "$LIB" free-port)
    node "$pk_dir/node_modules/@portkey-ai/gateway/build/start-server.js" --port="$PK_PORT" \
      >"$WORK/portkey.log" 2>&1 &
    PID_OF[portkey]=$!; PIDS+=("${PID_OF[portkey]}")
    if wait_port "$PK_PORT"; then
      URL[portkey]="http://127.0.0.1:$PK_PORT/v1/chat/completions"
      EXTRA_HEADERS[portkey]=$'x-portkey-provider: openai\nx-portkey-custom-host: '"http://127.0.0.1:$UP_PORT/v1"
      SAT_TARGETS+=(portkey)
      put portkey.version "$(node -p "require('$pk_dir/node_modules/@portkey-ai/gateway/package.json').version")"
      put portkey.node "$(node --version)"
    else
      put sat.portkey.skip "did not start (see its log with --keep)"
    fi
  fi
else
  put sat.portkey.skip "--no-portkey"
fi

for t in "${SAT_TARGETS[@]}"; do
  mapfile -d '' extra < <(headerArgs "$t")
  reply=$(curl -sS -m 10 -w '\n%{http_code}' -H 'content-type: application/json' "${extra[@]}" \
    -H "authorization: Bearer $API_KEY" --data-binary "@$REQ_BODY" "${URL[$t]}" || true)
  code=${reply##*$'\n'}
  if [[ "$code" != 200 || "$reply" != *'"chat.completion"'* ]]; then
    log "$t did not answer the chat request correctly (HTTP $code):"; echo "$reply" | head -c 600 >&2; echo >&2
    exit 1
  fi
done
put req.bytes "$(stat -c %s "$REQ_BODY")"
put resp.bytes "$(tr -d '\n' <"$RESP_BODY" | wc -c)"

# ---------------------------------------------------------------------------------------------
# Non-streaming runs

export BENCH_BODY_FILE="$REQ_BODY" BENCH_API_KEY="$API_KEY"
WRK_SCRIPT="$BENCH_DIR/wrk/post_chat.lua"

# Each measurement runs ROUNDS times, round-robin over the targets so that a burst of noise
# from elsewhere on the machine hits all of them alike; the table shows the median run.
# A compile that starts after the initial check still spoils the numbers: look before every run.
SEEN_COMPILES=0
check_quiet() { if pgrep -f cc1plus >/dev/null; then SEEN_COMPILES=$((SEEN_COMPILES + 1)); fi; }

wrk_once() {  # wrk_once PREFIX TARGET CONNS: appends one BENCH_RESULT line to PREFIX.TARGET.runs
  local prefix=$1 t=$2 c=$3 line
  check_quiet
  local extra
  mapfile -d '' extra < <(headerArgs "$t")
  loadgen wrk -t1 -c"$c" -d"${WARMUP}s" "${extra[@]}" -s "$WRK_SCRIPT" "${URL[$t]}" >/dev/null
  local c0 c1 reqs
  c0=$(python3 "$LIB" cpu "${PID_OF[$t]}")
  line=$(loadgen wrk -t1 -c"$c" -d"${DURATION}s" --latency "${extra[@]}" -s "$WRK_SCRIPT" \
           "${URL[$t]}" |
         grep '^BENCH_RESULT') || { log "wrk against $t failed"; return 1; }
  c1=$(python3 "$LIB" cpu "${PID_OF[$t]}")
  reqs=$(grep -o 'requests=[0-9]*' <<<"$line" | cut -d= -f2)
  line+=" cpu_us_per_req=$(python3 -c "print(f'{($c1 - $c0) * 1e6 / $CLK_TCK / max(1, $reqs):.1f}')")"
  log "$prefix $t: ${line#BENCH_RESULT }"
  echo "${line#BENCH_RESULT }" >>"$WORK/$prefix.$t.runs"
}

h2load_once() {  # h2load_once TARGET PER_CONN_RPS: appends one pct line to fixed.TARGET.runs
  local t=$1 rate=$2 line
  check_quiet
  rm -f "$WORK/h2load-$t.log"  # h2load appends to an existing log file
  loadgen h2load --h1 -c"$FIXED_CONNS" --rps "$rate" -D "$DURATION" --warm-up-time "$WARMUP" \
    -d "$REQ_BODY" -H 'content-type: application/json' -H "authorization: Bearer $API_KEY" \
    --log-file "$WORK/h2load-$t.log" "${URL[$t]}" >"$WORK/h2load-$t.out" 2>&1 ||
    { log "h2load against $t failed"; tail -5 "$WORK/h2load-$t.out" >&2; return 1; }
  line=$(python3 "$LIB" pct "$WORK/h2load-$t.log")
  log "fixed $t: $line"
  echo "$line" >>"$WORK/fixed.$t.runs"
}

# put_median PREFIX TARGET KEY: the run with the median KEY becomes PREFIX.TARGET.*
put_median() {
  local prefix=$1 t=$2 key=$3 kv line
  line=$(python3 "$LIB" median "$WORK/$prefix.$t.runs" "$key")
  for kv in $line; do put "$prefix.$t.${kv%%=*}" "${kv#*=}"; done
  put "$prefix.$t.runs" "$(wc -l <"$WORK/$prefix.$t.runs")"
}

put pinning "$( [[ -n "$LOADGEN_CPUS" ]] && echo "load generator pinned to CPU $LOADGEN_CPUS with taskset, servers unpinned" || echo "nothing pinned")"
put rounds "$ROUNDS"
put wrk.args "-t1 -c$CONNS -d${DURATION}s --latency (after a ${WARMUP}s warm-up)"
for round in $(seq "$ROUNDS"); do
  for t in "${SAT_TARGETS[@]}"; do wrk_once sat "$t" "$CONNS"; done
done
# --profile: one more saturation run against Basalt under `perf record` (flat profile: the
# Release build has no frame pointers), top symbols to bench/profile.txt.
if (( PROFILE && RUN_BASALT )); then
  if command -v perf >/dev/null; then
    perf record -e cpu-clock -F 999 -o "$WORK/perf.data" -p "$BASALT_PID" -- sleep "$DURATION" \
      >"$WORK/perf.log" 2>&1 &
    perf_pid=$!
    loadgen wrk -t1 -c"$CONNS" -d"${DURATION}s" -s "$WRK_SCRIPT" "${URL[basalt]}" >/dev/null
    wait "$perf_pid" || true
    {
      echo "# perf record -e cpu-clock -F 999 -p <basalt> during wrk -t1 -c$CONNS -d${DURATION}s"
      echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), tree at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)"
      perf report -i "$WORK/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null |
        grep -v '^$' | grep -v "^#" | sed -n 1,60p
      echo
      echo "# by shared object"
      perf report -i "$WORK/perf.data" --no-children --sort dso --stdio 2>/dev/null |
        grep -v '^$' | grep -v "^#" | sed -n 1,15p
    } >"$BENCH_DIR/profile.txt"
    log "profile written to bench/profile.txt"
  else
    log "--profile: perf not found (Debian package linux-perf)"
  fi
fi

for t in "${SAT_TARGETS[@]}"; do
  put_median sat "$t" rps
  [[ $t != direct ]] && put "sat.$t.rss_kib" "$(python3 "$LIB" rss "${PID_OF[$t]}")"
done

put light.conns "$LIGHT_CONNS"
put light.args "-t1 -c$LIGHT_CONNS -d${DURATION}s"
for round in $(seq "$ROUNDS"); do
  for t in "${TARGETS[@]}"; do wrk_once light "$t" "$LIGHT_CONNS"; done
done
for t in "${TARGETS[@]}"; do put_median light "$t" p99_us; done

# Fixed rate at half of saturation (Basalt's, or nginx's when Basalt is not run).
if (( RUN_BASALT )); then basis=basalt; else basis=nginx; fi
sat_rps=$(grep "^sat.$basis.rps=" "$RESULTS" | cut -d= -f2)
per_conn=$(python3 -c "print(max(1, int($sat_rps / 2 / $FIXED_CONNS)))")
put fixed.basis "$( [[ $basis == basalt ]] && echo Basalt || echo 'the nginx proxy')"
put fixed.args "--h1 -c$FIXED_CONNS --rps $per_conn (= $((per_conn * FIXED_CONNS)) req/s) -D $DURATION --warm-up-time $WARMUP"
for round in $(seq "$ROUNDS"); do
  for t in "${TARGETS[@]}"; do h2load_once "$t" "$per_conn"; done
done
for t in "${TARGETS[@]}"; do put_median fixed "$t" p99_us; done

if (( RUN_BASALT )); then stop "$BASALT_PID"; fi

# ---------------------------------------------------------------------------------------------
# Streaming: mock-upstream with a paced reply, a fresh Basalt in front of it per protocol; then
# long streams for the per-chunk cost. Each 10,000-stream run gets a fresh Basalt so that its
# peak RSS does not include what the previous run left in the allocator.

# stream_load PREFIX PROTO N RAMP TIMEOUT: one `benchlib.py stream` run against Basalt; its
# STREAM_RESULT becomes PREFIX.*. Over HTTP/2 the streams share ceil(N / H2_STREAMS_PER_CONN)
# connections opened before the ramp.
stream_load() {
  local prefix=$1 proto=$2 n=$3 ramp=$4 timeout=$5 conns=1 line
  [[ $proto == h2 ]] && conns=$(( (n + H2_STREAMS_PER_CONN - 1) / H2_STREAMS_PER_CONN ))
  line=$(loadgen python3 "$LIB" stream --port "$BASALT_PORT" --proto "$proto" --conns "$conns" \
    --body "$REQ_BODY" --key "$API_KEY" -n "$n" --ramp "$ramp" --timeout "$timeout" |
    grep '^STREAM_RESULT') || line="STREAM_RESULT failed=1"
  log "stream $prefix ($proto): ${line#STREAM_RESULT }"
  put "$prefix.n" "$n"
  for kv in ${line#STREAM_RESULT }; do put "$prefix.${kv%%=*}" "${kv#*=}"; done
}

# stream_protocol PROTO PREFIX LIGHT_PREFIX N: a fresh Basalt in front of the paced mock; 100
# streams at light load (TTFB without queueing), then N streams all open at once while a sampler
# reads Basalt's RSS every 50 ms. RSS per stream = (peak - RSS before the N streams) / N open.
stream_protocol() {
  local proto=$1 prefix=$2 light=$3 n=$4
  start_basalt "basalt-stream-$proto" "$WORK/basalt-stream.toml" || exit 1
  setup_governance "$BASALT_PORT"
  stream_load "$light" "$proto" 100 100 $((stream_secs + 30))
  put "$prefix.base_rss_kib" "$(python3 "$LIB" rss "$BASALT_PID")"
  python3 "$LIB" rss-peak "$BASALT_PID" "$WORK/peak_rss_$proto" &
  SAMPLER=$!; PIDS+=("$SAMPLER")
  stream_load "$prefix" "$proto" "$n" "$STREAM_RAMP" $((stream_secs + 60))
  stop "$SAMPLER"
  put "$prefix.peak_rss_kib" "$(cat "$WORK/peak_rss_$proto" 2>/dev/null || echo)"
  stop "$BASALT_PID"
}

# chunk_once MODE PROTO TARGET PORT MOCK_DIRECTIVE [CPU_PID]: CHUNK_STREAMS[MODE] long streams one
# after another (after one unmeasured warm-up stream); CHUNK_RESULT becomes
# chunk.MODE.PROTO.TARGET.*. With CPU_PID, also that process tree's CPU per SSE event.
chunk_once() {
  local mode=$1 proto=$2 t=$3 port=$4 directive=$5 cpu_pid=${6:-} line
  local args=(--port "$port" --proto "$proto" --body "$REQ_BODY" --key "$API_KEY"
              -n "${CHUNK_STREAMS[$mode]}" --timeout 120)
  [[ -n "$directive" ]] && args+=(--mock "$directive")
  [[ -n "$cpu_pid" ]] && args+=(--cpu-pid "$cpu_pid")
  line=$(loadgen python3 "$LIB" chunks "${args[@]}" | grep '^CHUNK_RESULT') ||
    line="CHUNK_RESULT failed=1"
  log "chunks $mode $proto $t: ${line#CHUNK_RESULT }"
  for kv in ${line#CHUNK_RESULT }; do put "chunk.$mode.$proto.$t.${kv%%=*}" "${kv#*=}"; done
}

# chunk_runs: per-chunk overhead. A second mock replies with CHUNK_WORDS words (one SSE event
# each); each mode and protocol runs straight against the mock, then through a fresh Basalt.
# Unpaced, the mock writes the whole reply at once, so the mean gap through Basalt is the time
# Basalt needs per chunk when it is the bottleneck; paced (a `#mock tokens_per_s` directive),
# every chunk is its own write, as with a real model, and Basalt's CPU per chunk includes a read
# and a write per chunk.
chunk_runs() {
  local reply mode proto directive
  reply=$(python3 -c "print(' '.join(['w%d' % i for i in range($CHUNK_WORDS)]))")
  mkdir -p "$WORK/mock-chunks"
  CHUNK_MOCK_PORT=$(python3 "$LIB" free-port)
  "$BASALT" mock-upstream --listen "127.0.0.1:$CHUNK_MOCK_PORT" --reply "$reply" \
    >"$WORK/mock-chunks/stdout.log" 2>&1 &
  CHUNK_MOCK_PID=$!; PIDS+=("$CHUNK_MOCK_PID")
  wait_port "$CHUNK_MOCK_PORT" || { cat "$WORK/mock-chunks/stdout.log" >&2; exit 1; }
  write_basalt_config "$WORK/basalt-chunks.toml" "http://127.0.0.1:$CHUNK_MOCK_PORT/v1" gpt-4o-mini
  start_basalt basalt-chunks "$WORK/basalt-chunks.toml" || exit 1
  setup_governance "$BASALT_PORT"
  put chunk.words "$CHUNK_WORDS"
  put chunk.paced_rate "$CHUNK_TOKENS_PER_S"
  for mode in unpaced paced; do
    directive=""
    [[ $mode == paced ]] && directive="tokens_per_s=$CHUNK_TOKENS_PER_S"
    put "chunk.$mode.streams" "${CHUNK_STREAMS[$mode]}"
    for proto in h1 h2; do
      chunk_once "$mode" "$proto" direct "$CHUNK_MOCK_PORT" "$directive"
      chunk_once "$mode" "$proto" basalt "$BASALT_PORT" "$directive" "$BASALT_PID"
    done
  done
  stop "$BASALT_PID"; stop "$CHUNK_MOCK_PID"
}

if (( RUN_STREAM && RUN_BASALT )); then
  # Over HTTP/1.1 Basalt holds a client and an upstream descriptor per stream; over HTTP/2 only
  # the upstream one (the client side is STREAMS / H2_STREAMS_PER_CONN connections).
  h1_streams=$STREAMS h2_streams=$STREAMS
  max_h1=$(( (NOFILE - 256) / 2 ))
  max_h2=$(( NOFILE - 256 - STREAMS / H2_STREAMS_PER_CONN - 1 ))
  if (( h1_streams > max_h1 )); then
    note "HTTP/1.1: $STREAMS streams need about $((2 * STREAMS + 256)) file descriptors in Basalt but the hard limit (ulimit -Hn) here is $NOFILE and cannot be raised in this container: ran $max_h1 streams"
    h1_streams=$max_h1
  fi
  if (( h2_streams > max_h2 )); then
    note "HTTP/2: the hard descriptor limit ($NOFILE) allows only $max_h2 streams"
    h2_streams=$max_h2
  fi
  reply=$(python3 -c "print(' '.join(['word%d' % i for i in range($STREAM_WORDS)]))")
  mock_dir="$WORK/mock"; mkdir -p "$mock_dir"
  MOCK_PORT=$(python3 "$LIB" free-port)
  "$BASALT" mock-upstream --listen "127.0.0.1:$MOCK_PORT" --tokens-per-s "$STREAM_TOKENS_PER_S" \
    --reply "$reply" >"$mock_dir/stdout.log" 2>&1 &
  MOCK_PID=$!; PIDS+=("$MOCK_PID")
  wait_port "$MOCK_PORT" || { cat "$mock_dir/stdout.log" >&2; exit 1; }
  write_basalt_config "$WORK/basalt-stream.toml" "http://127.0.0.1:$MOCK_PORT/v1" gpt-4o-mini
  stream_secs=$(( STREAM_WORDS / STREAM_TOKENS_PER_S ))

  stream_protocol h1 stream stream1 "$h1_streams"
  stream_protocol h2 stream_h2 stream1_h2 "$h2_streams"
  stop "$MOCK_PID"
  put stream.h2_per_conn "$H2_STREAMS_PER_CONN"
  note "streams: mock-upstream replies with $STREAM_WORDS words at $STREAM_TOKENS_PER_S chunk/s (each stream lasts ~${stream_secs}s) and the client (\`benchlib.py stream\`, Python asyncio) opens $STREAM_RAMP streams/s, so all are open at once, with a fresh Basalt per protocol"
  note "HTTP/1.1 TTFB: from sending the request on a new connection (connect included) to the first response byte, and to the first \`data:\` line for first SSE data"
  note "HTTP/2 TTFB: h2c with $H2_STREAMS_PER_CONN streams per connection (connections opened before the ramp), from sending a stream's HEADERS to its response HEADERS frame, and to its first DATA frame with a \`data:\` line for first SSE data (h2load is not used: it reports time to first byte per connection, not per stream)"
  note "RSS per open stream: (peak RSS sampled every 50 ms while the streams are open - RSS just before they opened) / streams open"
  chunk_runs
  note "per chunk, time added: $CHUNK_WORDS-chunk streams (one SSE event per word) one after another, ${CHUNK_STREAMS[unpaced]} unpaced and ${CHUNK_STREAMS[paced]} paced at $CHUNK_TOKENS_PER_S chunks/s, first straight from mock-upstream and then through Basalt over the same client protocol; added = mean gap through Basalt - mean gap direct, a stream's mean gap being (last event - first event) / (events - 1)"
  note "per chunk, Basalt CPU: CPU ticks (user + system, all threads) of the Basalt process during the measured streams / SSE events relayed; unpaced, Basalt reads many events at once, paced, each chunk costs a read and a write, as with a real model"
elif (( ! RUN_STREAM )); then
  put stream.skip "--no-stream"
else
  put stream.skip "Basalt not run"
fi

if (( SEEN_COMPILES > 0 )); then
  note "a compiler (cc1plus) was running at the start of $SEEN_COMPILES of the measured non-streaming runs: those numbers are noisy"
fi
put notes "$NOTES"
if (( RECORD )); then
  python3 "$LIB" report "$RESULTS" "$BENCH_DIR/RESULTS.md"
  log "recorded bench/RESULTS.md"
else
  python3 "$LIB" report "$RESULTS" -
fi
exit 0
}
