#!/usr/bin/env bash
# Accuracy of rate limits shared by several gateway instances: one redis-server,
# 3 Portcullis instances with the same `store.redis`, a static nginx upstream, and
# one wrk per instance driving load on ONE shared key at the same time. Counts what
# was admitted (2xx) and refused (429) against what the limit allows, and the Redis
# round trips (EVALSHA calls) against the requests. See bench/README.md.
#
#   bench/accuracy.sh                   # writes bench/LIMITS.md
#
# Environment:
#   DURATION     wrk duration of each configuration   (default 5s; at most 10s)
#   CONNECTIONS  wrk connections per instance         (default 20)
#   INSTANCES    Portcullis instances                 (default 3)
#   SKIP_BUILD   1: do not run cargo build (use the existing release binary)
#
# Raw outputs and configs: bench/out/accuracy-<timestamp>/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DURATION="${DURATION:-5s}"
CONNECTIONS="${CONNECTIONS:-20}"
INSTANCES="${INSTANCES:-3}"
SKIP_BUILD="${SKIP_BUILD:-0}"
# Every request carries the same key value: one bucket shared by all instances.
CLIENT_HEADER="x-client: accuracy-bench"
REQ_PATH="/items/42"
EXPECTED_BODY='{"id":42,"name":"widget"}'

log() { printf '[accuracy %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

case "$DURATION" in
    [1-9]s | 10s) ;;
    *) die "DURATION must be 1s..10s (got $DURATION)" ;;
esac

# ---------------------------------------------------------------------------
# Tools and the release build
# ---------------------------------------------------------------------------
"$ROOT/scripts/setup-bench.sh"
if [ -x "$ROOT/scripts/ensure-redis" ]; then
    "$ROOT/scripts/ensure-redis" >&2 || die "scripts/ensure-redis failed"
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
REDIS_SERVER="$(command -v redis-server || echo /usr/bin/redis-server)"
REDIS_CLI="$(command -v redis-cli || echo /usr/bin/redis-cli)"
[ -x "$NGINX" ] || die "nginx not found"
[ -x "$REDIS_SERVER" ] || die "redis-server not found (scripts/ensure-redis installs it)"
[ -x "$REDIS_CLI" ] || die "redis-cli not found (Debian: redis-tools)"
command -v wrk >/dev/null || die "wrk not found"
if [ "$SKIP_BUILD" != 1 ]; then
    log "cargo build --release --locked -p portcullis"
    cargo build --release --locked -p portcullis
fi
PORTCULLIS="$ROOT/target/release/portcullis"
[ -x "$PORTCULLIS" ] || die "$PORTCULLIS not built"

STAMP="$(date +%Y%m%d-%H%M%S)"
OUT="$ROOT/bench/out/accuracy-$STAMP"
mkdir -p "$OUT"
log "working directory: $OUT"

# ---------------------------------------------------------------------------
# Processes: every one started is stopped on exit, including on error or Ctrl-C.
# ---------------------------------------------------------------------------
PIDS=()      # upstream, redis: the whole run
INST_PIDS=() # the Portcullis instances of the current configuration
stop_pids() {
    local pid
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "$@"; do
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
cleanup() {
    local rc=$?
    set +e
    stop_pids "${INST_PIDS[@]}" "${PIDS[@]}"
    [ "$rc" -ne 0 ] && log "failed (exit $rc); logs in $OUT"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A free TCP port on 127.0.0.1 below the ephemeral range, not handed out before.
USED_PORTS=" "
EPHEMERAL_LOW="$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
PORT_LOW=10000
[ "$EPHEMERAL_LOW" -gt $((PORT_LOW + 1000)) ] || PORT_LOW=1024
free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((PORT_LOW + RANDOM % (EPHEMERAL_LOW - PORT_LOW)))
        case "$USED_PORTS" in *" $p "*) continue ;; esac
        if ! ss -Htan "sport = :$p" 2>/dev/null | grep -q .; then
            USED_PORTS="$USED_PORTS$p "
            echo "$p"
            return 0
        fi
    done
    die "no free port found"
}
wait_ready() { # NAME URL PID
    for _ in $(seq 1 200); do
        kill -0 "$3" 2>/dev/null || die "$1 exited during start-up (see $OUT/$1.stderr)"
        curl -s -o /dev/null --max-time 1 "$2" && return 0
        sleep 0.1
    done
    die "$1 not ready after 20 s ($2)"
}

UP_PORT=$(free_port)
REDIS_PORT=$(free_port)
declare -a PC_PORT PC_ADMIN
for i in $(seq 1 "$INSTANCES"); do
    PC_PORT[i]=$(free_port)
    PC_ADMIN[i]=$(free_port)
done

# ---------------------------------------------------------------------------
# The upstream (nginx, a fixed JSON body) and Redis
# ---------------------------------------------------------------------------
mkdir -p "$OUT/upstream/tmp" "$OUT/redis"
cat >"$OUT/upstream/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process on;
pid $OUT/upstream/nginx.pid;
error_log $OUT/upstream/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $OUT/upstream/tmp;
    proxy_temp_path $OUT/upstream/tmp;
    fastcgi_temp_path $OUT/upstream/tmp;
    uwsgi_temp_path $OUT/upstream/tmp;
    scgi_temp_path $OUT/upstream/tmp;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$UP_PORT;
        location / {
            default_type application/json;
            return 200 '$EXPECTED_BODY';
        }
    }
}
EOF
"$NGINX" -p "$OUT/upstream" -c "$OUT/upstream/nginx.conf" >"$OUT/upstream.stdout" 2>"$OUT/upstream.stderr" &
PIDS+=($!)
wait_ready upstream "http://127.0.0.1:$UP_PORT/" "${PIDS[-1]}"

(cd "$OUT/redis" && exec "$REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$OUT/redis") >"$OUT/redis.stdout" 2>"$OUT/redis.stderr" &
PIDS+=($!)
REDIS_PID=${PIDS[-1]}
redis_cli() { "$REDIS_CLI" -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
for _ in $(seq 1 200); do
    kill -0 "$REDIS_PID" 2>/dev/null || die "redis-server exited during start-up (see $OUT/redis.stdout)"
    [ "$(redis_cli ping 2>/dev/null)" = PONG ] && break
    sleep 0.1
done
[ "$(redis_cli ping 2>/dev/null)" = PONG ] || die "redis-server not ready"
REDIS_VERSION="$("$REDIS_SERVER" --version | awk '{ print $3 }')"
log "upstream on 127.0.0.1:$UP_PORT, redis-server $REDIS_VERSION on 127.0.0.1:$REDIS_PORT"
# Since the last CONFIG RESETSTAT: "EVALSHA-calls EVALSHA-failed_calls TIME-calls".
# Every script call is an EVALSHA; the rate-limit check script reads Redis' clock
# (TIME) once per call, and the other script the gateway runs here (the
# revocation mirror's refresh, once a second per instance) does not: TIME counts
# the checks alone.
script_stats() {
    redis_cli INFO commandstats | tr -d '\r' | awk -F'[:,]' '
        $1 == "cmdstat_evalsha" || $1 == "cmdstat_time" {
            for (i = 2; i <= NF; i++) { split($i, kv, "="); v[$1, kv[1]] = kv[2] } }
        END { printf "%d %d %d", v["cmdstat_evalsha", "calls"], v["cmdstat_evalsha", "failed_calls"],
                                 v["cmdstat_time", "calls"] }'
}

# wrk prints its exact totals (and its own duration in µs) from this script.
cat >"$OUT/totals.lua" <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("TOTALS requests=%d non2xx=%d duration_us=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, e.status, summary.duration, e.connect, e.read, e.write, e.timeout))
end
EOF

cat >"$OUT/openapi.yaml" <<'EOF'
openapi: 3.1.0
info: { title: Accuracy bench API, version: "1" }
security: []
paths:
  /items/{id}:
    get:
      operationId: getItem
      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
      responses: { "200": { description: ok } }
EOF

# ---------------------------------------------------------------------------
# One configuration: INSTANCES gateways, one wrk each in parallel, totals.
# ---------------------------------------------------------------------------
# Sum of the metric lines matching a regex over every instance's /metrics.
metric_sum() {
    local i s=0 v
    for i in $(seq 1 "$INSTANCES"); do
        v="$(curl -s --max-time 5 -H "@$OUT/admin-auth.header" "http://127.0.0.1:${PC_ADMIN[i]}/metrics" \
            | awk -v re="$1" '$0 ~ re { s += $NF } END { printf "%d", s }')"
        s=$((s + v))
    done
    echo "$s"
}
(umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$OUT/admin-token")
(umask 077 && printf 'Authorization: Bearer %s\n' "$(cat "$OUT/admin-token")" >"$OUT/admin-auth.header")

# The span of the load as the gateways saw it: from the earliest to the latest
# arrival time of the getItem requests in the audit logs given, each log's first
# getItem (the check request, before the load) left out. Prints microseconds.
audit_window_us() {
    local f
    for f in "$@"; do
        grep '"operation":"getItem"' "$f" | tail -n +2
    done | awk '{
        if (!match($0, /"time":"[^"]*"/)) next
        t = substr($0, RSTART + 8, RLENGTH - 9)     # 2026-11-26T05:49:39.123456789Z
        d = substr(t, 1, 10)
        sec = substr(t, 12, 2) * 3600 + substr(t, 15, 2) * 60 + substr(t, 18, length(t) - 18)
        if (lo_d == "" || d < lo_d || (d == lo_d && sec < lo)) { lo_d = d; lo = sec }
        if (hi_d == "" || d > hi_d || (d == hi_d && sec > hi)) { hi_d = d; hi = sec }
      } END {
        if (lo_d == "") { print 0; exit }
        printf "%.0f", (hi - lo + (hi_d != lo_d ? 86400 : 0)) * 1e6
      }'
}
ROWS=()
TRIPS=()
# field NAME: NAME's value in $line ("TOTALS requests=N non2xx=N ...").
field() {
    local v
    v="$(echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p")"
    [[ "$v" =~ ^[0-9]+$ ]] || die "no $1 in: $line"
    echo "$v"
}
# run_config ID LABEL STORE(redis|local) BURST RATE EXPECT_KIND(shared|per-instance)
run_config() {
    local id=$1 label=$2 store=$3 burst=$4 rate=$5 kind=$6
    local dir="$OUT/$id" i
    mkdir -p "$dir"
    local store_yaml=""
    if [ "$store" = redis ]; then
        store_yaml="store:
  redis:
    url: redis://127.0.0.1:$REDIS_PORT/0
    timeout: 1s
    instances: $INSTANCES"
    fi
    for i in $(seq 1 "$INSTANCES"); do
        mkdir -p "$dir/pc$i"
        cp "$OUT/openapi.yaml" "$OUT/admin-token" "$dir/pc$i/"
        cat >"$dir/pc$i/portcullis.yaml" <<EOF
# Generated by bench/accuracy.sh ($label, instance $i of $INSTANCES)
runtime:
  worker_threads: 1
listeners:
  - address: 127.0.0.1:${PC_PORT[i]}
admin:
  address: 127.0.0.1:${PC_ADMIN[i]}
  token: file:admin-token
audit:
  file: audit.jsonl
$store_yaml
upstreams:
  up:
    targets: [http://127.0.0.1:$UP_PORT]
apis:
  - name: accuracy
    spec: openapi.yaml
    upstream: up
    rate_limits:
      - name: shared
        rate: $rate
        burst: $burst
        key: header:x-client
        # A store failure is refused (503), never silently counted by one instance.
        on_store_error: fail_closed
EOF
        "$PORTCULLIS" check -c "$dir/pc$i/portcullis.yaml" >"$dir/pc$i/check.txt" 2>&1 \
            || { cat "$dir/pc$i/check.txt" >&2; die "$id: portcullis check failed"; }
    done
    if [ "$store" = redis ]; then redis_cli FLUSHALL >/dev/null; fi
    INST_PIDS=()
    for i in $(seq 1 "$INSTANCES"); do
        (cd "$dir/pc$i" && exec "$PORTCULLIS" run -c portcullis.yaml) >"$dir/pc$i.stdout" 2>"$dir/pc$i.stderr" &
        INST_PIDS+=($!)
    done
    for i in $(seq 1 "$INSTANCES"); do
        wait_ready "$id/pc$i" "http://127.0.0.1:${PC_ADMIN[i]}/healthz" "${INST_PIDS[i - 1]}"
        wait_ready "$id/pc$i" "http://127.0.0.1:${PC_PORT[i]}/" "${INST_PIDS[i - 1]}"
    done
    # Each instance answers with the RateLimit headers, with its own key value
    # (another bucket: the shared one stays full); with Redis, once the store is up,
    # which also loads the script (the first call of a fresh Redis is EVALSHA,
    # NOSCRIPT, SCRIPT LOAD, EVALSHA).
    for i in $(seq 1 "$INSTANCES"); do
        if [ "$store" = redis ]; then
            local up=0
            for _ in $(seq 1 100); do
                up="$(curl -s --max-time 2 -H "@$OUT/admin-auth.header" "http://127.0.0.1:${PC_ADMIN[i]}/metrics" \
                    | awk '/^portcullis_store_up / { print $2 }')"
                [ "$up" = 1 ] && break
                sleep 0.1
            done
            [ "$up" = 1 ] || die "$id/pc$i: the store did not report Redis up"
        fi
        local code
        code="$(curl -s -o /dev/null -D "$dir/check-pc$i.headers" -w '%{http_code}' --max-time 5 \
            -H "x-client: check-$i" "http://127.0.0.1:${PC_PORT[i]}$REQ_PATH")"
        [ "$code" = 200 ] || die "$id/pc$i: expected 200, got $code"
        grep -qi '^ratelimit:' "$dir/check-pc$i.headers" || die "$id/pc$i: no RateLimit header"
    done
    if [ "$store" = redis ]; then redis_cli CONFIG RESETSTAT >/dev/null; fi
    local ok0 fail0
    ok0="$(metric_sum '^portcullis_requests_total[{].*status_class="2xx"')"
    fail0="$(metric_sum '^portcullis_limit_decisions_total[{].*outcome="store_error')"

    log "$id: $label — $INSTANCES × wrk -t1 -c$CONNECTIONS -d$DURATION on one key"
    local starts=()
    for i in $(seq 1 "$INSTANCES"); do
        starts+=("$(date +%s%6N)")
        wrk -t1 -c"$CONNECTIONS" -d"$DURATION" -s "$OUT/totals.lua" -H "$CLIENT_HEADER" \
            "http://127.0.0.1:${PC_PORT[i]}$REQ_PATH" >"$dir/wrk-pc$i.txt" 2>&1 &
        WRK_PIDS[i]=$!
    done
    for i in $(seq 1 "$INSTANCES"); do
        wait "${WRK_PIDS[i]}" || die "$id: wrk $i failed (see $dir/wrk-pc$i.txt)"
    done
    sleep 0.3 # requests in flight when wrk stopped

    # Totals: admitted = responses - non-2xx; wrk's window = from the first wrk's
    # start to the last wrk's end (each wrk's own duration, µs).
    local requests=0 non2xx=0 sockerr=0 first="" last="" line s e
    for i in $(seq 1 "$INSTANCES"); do
        line="$(grep '^TOTALS ' "$dir/wrk-pc$i.txt")" || die "$id: no totals in $dir/wrk-pc$i.txt"
        requests=$((requests + $(field requests)))
        non2xx=$((non2xx + $(field non2xx)))
        sockerr=$((sockerr + $(field connect) + $(field read) + $(field write) + $(field timeout)))
        s=${starts[i - 1]}
        e=$((s + $(field duration_us)))
        if [ -z "$first" ] || [ "$s" -lt "$first" ]; then first=$s; fi
        if [ -z "$last" ] || [ "$e" -gt "$last" ]; then last=$e; fi
    done
    local admitted=$((requests - non2xx))
    local wrk_window_us=$((last - first))
    # Cross-checks from the gateways: 2xx answered, refused, store failures (must
    # be 0), audit events dropped (must be 0 for the audit window below).
    local ok1 fail1 rejected dropped
    ok1="$(metric_sum '^portcullis_requests_total[{].*status_class="2xx"')"
    fail1="$(metric_sum '^portcullis_limit_decisions_total[{].*outcome="store_error')"
    rejected="$(metric_sum '^portcullis_limit_decisions_total[{].*outcome="rejected"')"
    dropped="$(metric_sum '^portcullis_audit_dropped_events_total')"
    local gw_ok=$((ok1 - ok0)) store_errors=$((fail1 - fail0))
    local calls=0 failed=0 checks=0 errors=""
    if [ "$store" = redis ]; then
        read -r calls failed checks <<<"$(script_stats)"
        # Redis' error replies by kind since the reset (e.g. NOSCRIPT).
        errors="$(redis_cli INFO errorstats | tr -d '\r' | sed -n 's/^errorstat_\([A-Z]*\):count=\([0-9]*\).*/\1 \2/p' | xargs)"
    fi
    # Stopping the instances drains their audit logs.
    stop_pids "${INST_PIDS[@]}"
    INST_PIDS=()

    # The window: the span of the load at the gateways (audit arrival times);
    # wrk's own (first start to last end) when the audit logs cannot tell.
    local audit_window_us window_us window_src
    audit_window_us="$(audit_window_us "$dir"/pc*/audit.jsonl)"
    if [ "$dropped" = 0 ] && [ "$audit_window_us" -gt 0 ]; then
        window_us=$audit_window_us window_src=audit
    else
        window_us=$wrk_window_us window_src=wrk
        log "$id: WARNING: window from wrk (audit events dropped: $dropped)"
    fi
    for i in $(seq 1 "$INSTANCES"); do # the audit logs: keep a sample
        if [ -f "$dir/pc$i/audit.jsonl" ]; then
            head -n 20 "$dir/pc$i/audit.jsonl" >"$dir/pc$i/audit.jsonl.head" && rm -f "$dir/pc$i/audit.jsonl"
        fi
    done

    # Expected: GCRA admits the burst at once, then one request per interval.
    local count per_s expected
    count="${rate%%/*}"
    case "${rate#*/}" in
        s) per_s=1 ;; min) per_s=60 ;; h) per_s=3600 ;; day) per_s=86400 ;;
        *) die "unsupported rate unit in $rate" ;;
    esac
    expected="$(awk -v b="$burst" -v c="$count" -v p="$per_s" -v w="$window_us" \
        'BEGIN { printf "%.1f", b + c / p * w / 1e6 }')"
    local limit_text="burst $burst, rate $rate" note=""
    if [ "$kind" = per-instance ]; then
        expected="$(awk -v e="$expected" -v n="$INSTANCES" 'BEGIN { printf "%.1f", e * n }')"
        note=" (each instance its own $burst)"
    fi
    local diff window wrk_window
    diff="$(awk -v a="$admitted" -v e="$expected" 'BEGIN { printf "%+.1f (%+.2f%%)", a - e, (a - e) / e * 100 }')"
    window="$(awk -v w="$window_us" 'BEGIN { printf "%.4f", w / 1e6 }')"
    wrk_window="$(awk -v w="$wrk_window_us" 'BEGIN { printf "%.4f", w / 1e6 }')"
    [ "$window_src" = audit ] || window="$window (wrk)"
    ROWS+=("| $label | $limit_text | $store | $INSTANCES | $window ($wrk_window) | $expected$note | **$admitted** | $non2xx | $diff | $gw_ok / $rejected | $store_errors |")
    log "$id: admitted $admitted of $requests (refused $non2xx, socket errors $sockerr); expected $expected over $window s ($window_src; wrk: $wrk_window s); difference $diff; gateways counted $gw_ok 2xx, $rejected rejected, $store_errors store errors"
    [ "$sockerr" = 0 ] || log "$id: WARNING: wrk socket errors: $sockerr"
    if [ "$store" = redis ]; then
        local decided=$((gw_ok + rejected))
        TRIPS+=("| $label | $requests | $decided | $calls | $checks | $((calls - checks)) | $failed | $(awk -v c="$calls" -v k="$checks" -v r="$requests" -v d="$decided" 'BEGIN { printf "%.4f / %.4f / %.4f", c / r, c / d, k / d }') | ${errors:-none} |")
        log "$id: EVALSHA calls $calls ($checks rate-limit checks; failed $failed; Redis errors: ${errors:-none}) for $requests requests counted by wrk, $decided decided by the gateways"
    fi
    # Every non-2xx must be a 429 (a refusal), not a store failure or an error.
    [ "$store_errors" = 0 ] || log "$id: WARNING: $store_errors requests hit a store error (503)"
}

declare -a WRK_PIDS
run_config a "(a) shared burst, no refill" redis 100 1/h shared
run_config b "(b) shared burst + rate" redis 50 200/s shared
run_config c "(c) = (a), in-process store only" local 100 1/h per-instance

# ---------------------------------------------------------------------------
# bench/LIMITS.md
# ---------------------------------------------------------------------------
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
DIRTY=""
[ -z "$(git status --porcelain -- crates Cargo.toml Cargo.lock 2>/dev/null)" ] || DIRTY=" (+ uncommitted changes in crates/)"
LIMITS="$ROOT/bench/LIMITS.md"
{
    echo "# Rate-limit accuracy across instances"
    echo
    echo "Generated by \`bench/accuracy.sh\` — see [README.md](README.md#rate-limit-accuracy-accuracysh)."
    echo
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); machine: $(nproc) CPUs, $(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo); load average before the last run $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "- portcullis $("$PORTCULLIS" --version 2>/dev/null | awk '{print $2}') commit \`$COMMIT\`$DIRTY (release profile); redis-server $REDIS_VERSION (\`--save '' --appendonly no\`); $(wrk -v 2>&1 | head -1 | sed 's/ *Usage.*//')."
    echo "- Setup: $INSTANCES Portcullis instances (\`runtime.worker_threads: 1\` each, own listener and admin port on 127.0.0.1), one static nginx upstream, one redis-server; with Redis every instance has the same \`store.redis\` (\`timeout: 1s\`, \`instances: $INSTANCES\`). One limit, \`key: header:x-client\`, \`on_store_error: fail_closed\` (a store failure would be a 503, counted in the last column)."
    echo "- Load: $INSTANCES wrk processes at once, one per instance: \`wrk -t1 -c$CONNECTIONS -d$DURATION -H '$CLIENT_HEADER'\` on \`GET $REQ_PATH\` — every request from every instance on the same key. Not pinned to CPUs (accuracy, not throughput)."
    echo "- Admitted = wrk's responses − its non-2xx responses (summed over the $INSTANCES wrk); refused = the non-2xx (429). Window = the span of the load at the gateways: from the earliest to the latest arrival time (ns) of the measured requests in the $INSTANCES audit logs (in brackets: from the first wrk's start to the last wrk's end, by each wrk's own duration in µs; used instead if the audit dropped events). Expected = burst + rate × window (GCRA: the burst at once, then one request per emission interval); for (c) per instance, × $INSTANCES. Each configuration starts on an empty Redis (\`FLUSHALL\`) and fresh instances; the RateLimit header is checked on each instance before (with another key value)."
    echo
    echo "| configuration | configured limit | store | instances | window s (wrk's) | expected admitted | admitted | refused (429) | difference | the gateways' counts: 2xx / refused by the limit | store errors |"
    echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for r in "${ROWS[@]}"; do echo "$r"; done
    echo
    echo "Round trips to Redis (\`INFO commandstats\` and \`INFO errorstats\`, reset with \`CONFIG RESETSTAT\` before each configuration's load, read after it): every request, admitted or refused, is one EVALSHA of the check script. No other script is called (the revocation mirror's refresh, once a second per instance, is a plain GET); the check calls are also told apart by the one \`TIME\` the check script makes per call. The requests in flight when wrk stops (up to $((INSTANCES * CONNECTIONS)), the open connections) are checked but not counted by wrk, and those whose client was gone before the gateway had Redis' answer are not counted by the gateways either (the request is dropped with its connection after Redis has run the script), so checks may exceed the decisions by up to $((INSTANCES * CONNECTIONS)). A NOSCRIPT error is a script's first call on this Redis (the client then loads it and calls again)."
    echo
    echo "| configuration | requests (wrk) | decisions (the gateways: 2xx + refused) | EVALSHA calls | of which rate-limit checks (TIME) | other script calls | failed | EVALSHA per wrk request / per decision; checks per decision | Redis error replies |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
    for r in "${TRIPS[@]}"; do echo "$r"; done
    echo
    echo "(c) is why the store is shared: with limits in each instance's memory, every instance admits the whole limit, so $INSTANCES instances admit $INSTANCES× what is configured. Raw outputs: \`bench/out/accuracy-$STAMP/\` (not committed)."
} >"$LIMITS"
cat "$LIMITS"
log "wrote $LIMITS"
