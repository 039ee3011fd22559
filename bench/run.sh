#!/usr/bin/env bash
# Load benchmark: Portcullis side by side with a plain nginx reverse proxy, in one
# run, on equal CPU, in front of the same static upstream. See bench/README.md.
# Also the cost of rate limiting: in process memory, and in Redis (a second
# Portcullis process and a redis-server the script starts).
#
#   bench/run.sh                       # defaults: DURATION=10s CONNECTIONS=50 RUNS=3
#   DURATION=5s RUNS=1 bench/run.sh    # quick look
#
# Environment:
#   DURATION     wrk duration of each measurement           (default 10s)
#   CONNECTIONS  wrk connections                             (default 50)
#   RUNS         measurements per target, interleaved        (default 3)
#   WARMUP       wrk warm-up before each measurement         (default 2s)
#   PROFILE      1: after measuring, `perf record` Portcullis under load (default 0)
#   PROFILE_TARGET  which Portcullis target to profile: portcullis, portcullis-jwt,
#                portcullis-policy, portcullis-limit or portcullis-redis (default portcullis)
#   KEEP_LOGS    1: keep the full audit/access logs (default: trimmed to 20 lines)
#   SKIP_BUILD   1: do not run cargo build (use the existing release binary)
#   BENCH_NICE   niceness of every benchmark process (default -20 as root, else 0),
#                so that other work on the machine disturbs the measurement less
#
# Writes bench/RESULTS.md and keeps the raw wrk outputs in bench/out/<timestamp>/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-50}"
RUNS="${RUNS:-3}"
WARMUP="${WARMUP:-2s}"
PROFILE="${PROFILE:-0}"
PROFILE_TARGET="${PROFILE_TARGET:-portcullis}"
KEEP_LOGS="${KEEP_LOGS:-0}"
SKIP_BUILD="${SKIP_BUILD:-0}"
REQ_PATH="/items/42"
# The same item behind an operation that requires a bearer JWT (ES256): the gateway
# verifies the token on every request (through its verified-token cache).
JWT_PATH="/secure/items/42"
# The same secured item through a second API (the same spec under /p) that also has
# authorization policies: 50 Cedar policies (bench/policies.cedar), a principal with
# 10 roles. The row measures JWT verification plus the policy decision.
POLICY_PATH="/p/secure/items/42"
# A typical 1 KB JSON order (bench/bodies/order-1k.json) POSTed to createOrder:
# through nginx and the Portcullis passthrough API (no validation, no inspection),
# and through a third API (under /c) that validates it against the spec (strict
# mode) and inspects every string of it: the "full contract" row.
POST_PATH="/orders"
CONTRACT_PATH="/c/orders"
# The same item through a fourth API (the same spec under /l) with one rate limit
# keyed by the client address, so high that nothing is ever refused: the row
# measures what the limiter costs. `portcullis-limit` keeps the counters in the
# process's memory; `portcullis-redis` is a second Portcullis process (the store is
# process-wide) with the same API and `store.redis` pointing at a redis-server the
# script starts: one EVALSHA per request.
LIMIT_PATH="/l/items/42"
LIMIT_RATE="1000000/s"
EXPECTED_BODY='{"id":42,"name":"widget"}'
TARGETS=(upstream nginx portcullis portcullis-jwt portcullis-policy portcullis-limit portcullis-redis nginx-post portcullis-post portcullis-contract)

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------------------
# 1. Tools and the release build
# ---------------------------------------------------------------------------
"$ROOT/scripts/setup-bench.sh"
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[ -x "$NGINX" ] || die "nginx not found"
command -v wrk >/dev/null || die "wrk not found"

if [ "$SKIP_BUILD" != 1 ]; then
    log "cargo build --release --locked -p portcullis"
    cargo build --release --locked -p portcullis
fi
PORTCULLIS="$ROOT/target/release/portcullis"
[ -x "$PORTCULLIS" ] || die "$PORTCULLIS not built"

# redis-server for the portcullis-redis row (scripts/ensure-redis installs it when missing).
if [ -x "$ROOT/scripts/ensure-redis" ]; then
    "$ROOT/scripts/ensure-redis" >&2 || die "scripts/ensure-redis failed"
fi
REDIS_SERVER="$(command -v redis-server || echo /usr/bin/redis-server)"
REDIS_CLI="$(command -v redis-cli || echo /usr/bin/redis-cli)"
[ -x "$REDIS_SERVER" ] || die "redis-server not found (scripts/ensure-redis installs it)"
[ -x "$REDIS_CLI" ] || die "redis-cli not found (Debian: redis-tools)"

# ---------------------------------------------------------------------------
# CPU pinning: the proxy under test alone on CPU 1; wrk and the upstream on CPU 0.
# ---------------------------------------------------------------------------
NCPU="$(nproc)"
BENCH_NICE="${BENCH_NICE:-$([ "$(id -u)" -eq 0 ] && echo -20 || echo 0)}"
NICE=(nice -n "$BENCH_NICE")
if [ "$NCPU" -ge 2 ] && command -v taskset >/dev/null; then
    PIN_LOAD=("${NICE[@]}" taskset -c 0)   # wrk + upstream nginx
    PIN_PROXY=("${NICE[@]}" taskset -c 1)  # nginx proxy / portcullis (one at a time is loaded)
    PINNING="proxy under test (nginx proxy or Portcullis) pinned to CPU 1 (taskset -c 1), alone; wrk, the upstream nginx and the redis-server of the portcullis-redis row pinned to CPU 0 (taskset -c 0), so the Redis row's gateway is alone on CPU 1 while Redis' work competes with wrk and the upstream on CPU 0. The proxies (nginx, the Portcullis process of the other rows, the Redis-backed Portcullis process) run during the whole benchmark but only one is loaded at a time. All benchmark processes run at nice $BENCH_NICE so that unrelated work on the machine (builds, tests) takes less CPU from them; it is not excluded from the CPUs."
else
    PIN_LOAD=("${NICE[@]}")
    PIN_PROXY=("${NICE[@]}")
    PINNING="NOT pinned: only $NCPU CPU(s) (or no taskset); wrk, upstream and proxy share all cores — numbers are less meaningful."
fi

# ---------------------------------------------------------------------------
# Working directory and cleanup
# ---------------------------------------------------------------------------
STAMP="$(date +%Y%m%d-%H%M%S)"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
OUT="$ROOT/bench/out/$STAMP"
mkdir -p "$OUT"
log "working directory: $OUT"

PIDS=()
cleanup() {
    local rc=$?
    set +e
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if [ "$rc" -ne 0 ]; then
        log "failed (exit $rc); logs in $OUT"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A free TCP port on 127.0.0.1: below the kernel's ephemeral range (so no outgoing
# connection can take it meanwhile), no socket of any state on it, not handed out before.
USED_PORTS=" "
EPHEMERAL_LOW="$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
PORT_LOW=10000
[ "$EPHEMERAL_LOW" -gt $((PORT_LOW + 1000)) ] || PORT_LOW=1024
free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$(( PORT_LOW + RANDOM % (EPHEMERAL_LOW - PORT_LOW) ))
        case "$USED_PORTS" in *" $p "*) continue ;; esac
        if ! ss -Htan "sport = :$p" 2>/dev/null | grep -q .; then
            USED_PORTS="$USED_PORTS$p "
            echo "$p"
            return 0
        fi
    done
    die "no free port found"
}

# wait_ready NAME URL PID: curl until the URL answers (any HTTP status), 20 s max.
wait_ready() {
    local name=$1 url=$2 pid=$3
    for _ in $(seq 1 200); do
        kill -0 "$pid" 2>/dev/null || die "$name exited during start-up (see $OUT/$name.stderr)"
        if curl -s -o /dev/null --max-time 1 "$url"; then
            log "$name ready ($url)"
            return 0
        fi
        sleep 0.1
    done
    die "$name not ready after 20 s ($url)"
}

UP_PORT=$(free_port)
NGX_PORT=$(free_port)
PC_PORT=$(free_port)
PC_ADMIN_PORT=$(free_port)
PC2_PORT=$(free_port)
PC2_ADMIN_PORT=$(free_port)
REDIS_PORT=$(free_port)

# ---------------------------------------------------------------------------
# 2a. The upstream: nginx answering a fixed JSON body for any path.
# ---------------------------------------------------------------------------
mkdir -p "$OUT/upstream" "$OUT/nginx"
nginx_common() { # $1 = prefix dir
    cat <<EOF
worker_processes 1;
daemon off;
master_process on;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; multi_accept on; }
EOF
}
{
    nginx_common "$OUT/upstream"
    cat <<EOF
http {
    access_log off;
    client_body_temp_path $OUT/upstream/tmp;
    proxy_temp_path $OUT/upstream/tmp;
    fastcgi_temp_path $OUT/upstream/tmp;
    uwsgi_temp_path $OUT/upstream/tmp;
    scgi_temp_path $OUT/upstream/tmp;
    keepalive_timeout 75s;
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
} >"$OUT/upstream/nginx.conf"

# ---------------------------------------------------------------------------
# 2b. nginx as a plain reverse proxy (1 worker, keep-alive both sides, access log).
# ---------------------------------------------------------------------------
{
    nginx_common "$OUT/nginx"
    cat <<EOF
http {
    log_format main '\$remote_addr - \$remote_user [\$time_local] "\$request" \$status \$body_bytes_sent "\$http_referer" "\$http_user_agent" \$request_time \$upstream_response_time';
    access_log $OUT/nginx/access.log main;
    client_body_temp_path $OUT/nginx/tmp;
    proxy_temp_path $OUT/nginx/tmp;
    fastcgi_temp_path $OUT/nginx/tmp;
    uwsgi_temp_path $OUT/nginx/tmp;
    scgi_temp_path $OUT/nginx/tmp;
    keepalive_timeout 75s;
    keepalive_requests 1000000;
    upstream bench_upstream {
        server 127.0.0.1:$UP_PORT;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$NGX_PORT;
        location / {
            proxy_pass http://bench_upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
} >"$OUT/nginx/nginx.conf"

# ---------------------------------------------------------------------------
# 2c. Portcullis (1 worker thread, audit log, the bench OpenAPI spec).
# ---------------------------------------------------------------------------
mkdir -p "$OUT/portcullis"
cp "$ROOT/bench/openapi.yaml" "$OUT/portcullis/openapi.yaml"
cp "$ROOT/bench/policies.cedar" "$OUT/portcullis/policies.cedar"
cp "$ROOT/bench/bodies/order-1k.json" "$OUT/order-1k.json"
cat >"$OUT/post.lua" <<EOF
-- wrk: POST the 1 KB order as JSON.
local f = assert(io.open("$OUT/order-1k.json", "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
EOF
# The rate-limited API (portcullis-limit and portcullis-redis): the passthrough API
# under /l with one limit keyed by the client address that never refuses here.
limit_api() {
    cat <<EOF
  - name: bench-limit
    spec: openapi.yaml
    base_path: /l
    strip_base_path: true
    upstream: bench
    security: { bearer: bench-idp }
    validation: { enabled: false }
    inspection: { enabled: false }
    rate_limits:
      - name: per-client
        rate: $LIMIT_RATE
        burst: ${LIMIT_RATE%%/*}
        key: ip
        on_store_error: local
EOF
}
cat >"$OUT/portcullis/portcullis.yaml" <<EOF
# Generated by bench/run.sh
runtime:
  worker_threads: 1
listeners:
  - address: 127.0.0.1:$PC_PORT
admin:
  address: 127.0.0.1:$PC_ADMIN_PORT
audit:
  file: audit.jsonl
upstreams:
  bench:
    targets: [http://127.0.0.1:$UP_PORT]
identity_providers:
  bench-idp:
    jwt:
      issuer: https://idp.bench.local
      audiences: [bench]
      algorithms: [ES256]
      jwks_file: idp-jwks.json
apis:
  - name: bench
    spec: openapi.yaml
    upstream: bench
    security: { bearer: bench-idp }
    # The passthrough rows: routing and the spec's security only.
    validation: { enabled: false }
    inspection: { enabled: false }
  - name: bench-contract
    spec: openapi.yaml
    base_path: /c
    strip_base_path: true
    upstream: bench
    security: { bearer: bench-idp }
    # The full contract: the request validated against the spec (strict: objects
    # closed) and every loose string inspected for injection.
    validation: { strict: true }
    inspection: { sensitivity: medium }
  - name: bench-policy
    spec: openapi.yaml
    base_path: /p
    strip_base_path: true
    upstream: bench
    security: { bearer: bench-idp }
    authorization:
      policies: [policies.cedar]
      principal_attributes: { department: String, clearance: Long }
      # Anything the policies do not permit is denied; the public operations too.
      allow: [listItems]
      operations:
        getItemSecured:
          attributes: { sensitivity: 2 }
$(limit_api)
EOF
"$PORTCULLIS" token keygen --out "$OUT/portcullis/idp-key.pem" --alg ES256 >"$OUT/portcullis/idp-jwks.json" \
    || die "portcullis token keygen failed"
# Ten roles and a few attributes, as a real employee's token carries.
ROLES="team-1,team-4,customer-2,analyst-5,support,auditor,eu-staff,beta,newsletter,reader"
mint() { # extra roles → token
    "$PORTCULLIS" token mint --key "$OUT/portcullis/idp-key.pem" --iss https://idp.bench.local \
        --aud bench --sub bench-user --scope "items:read" --ttl 2h --roles "$1" \
        --claim department=eng --claim clearance=3
}
JWT="$(mint "$ROLES")" || die "portcullis token mint failed"
JWT_NOT_READER="$(mint "${ROLES%,reader}")" || die "portcullis token mint failed"

"$PORTCULLIS" check -c "$OUT/portcullis/portcullis.yaml" >&2 || die "portcullis check failed"

# The second Portcullis process (portcullis-redis): the same rate-limited API, its
# counters in Redis. Its admin API has a token so that /metrics (the store's
# call counters) can be read.
mkdir -p "$OUT/portcullis-redis" "$OUT/redis"
cp "$OUT/portcullis/openapi.yaml" "$OUT/portcullis/idp-jwks.json" "$OUT/portcullis-redis/"
(umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$OUT/portcullis-redis/admin-token")
(umask 077 && printf 'Authorization: Bearer %s\n' "$(cat "$OUT/portcullis-redis/admin-token")" >"$OUT/portcullis-redis/admin-auth.header")
cat >"$OUT/portcullis-redis/portcullis.yaml" <<EOF
# Generated by bench/run.sh
runtime:
  worker_threads: 1
listeners:
  - address: 127.0.0.1:$PC2_PORT
admin:
  address: 127.0.0.1:$PC2_ADMIN_PORT
  token: file:admin-token
audit:
  file: audit.jsonl
store:
  redis:
    url: redis://127.0.0.1:$REDIS_PORT/0
    timeout: 100ms
    instances: 1
upstreams:
  bench:
    targets: [http://127.0.0.1:$UP_PORT]
identity_providers:
  bench-idp:
    jwt:
      issuer: https://idp.bench.local
      audiences: [bench]
      algorithms: [ES256]
      jwks_file: idp-jwks.json
apis:
$(limit_api)
EOF
"$PORTCULLIS" check -c "$OUT/portcullis-redis/portcullis.yaml" >&2 || die "portcullis check (portcullis-redis) failed"

log "starting upstream nginx on 127.0.0.1:$UP_PORT (CPU 0)"
"${PIN_LOAD[@]}" "$NGINX" -p "$OUT/upstream" -c "$OUT/upstream/nginx.conf" \
    >"$OUT/upstream.stdout" 2>"$OUT/upstream.stderr" &
PIDS+=($!)
wait_ready upstream "http://127.0.0.1:$UP_PORT/" "${PIDS[-1]}"

log "starting nginx proxy on 127.0.0.1:$NGX_PORT (CPU 1)"
"${PIN_PROXY[@]}" "$NGINX" -p "$OUT/nginx" -c "$OUT/nginx/nginx.conf" \
    >"$OUT/nginx.stdout" 2>"$OUT/nginx.stderr" &
PIDS+=($!)
wait_ready nginx "http://127.0.0.1:$NGX_PORT/" "${PIDS[-1]}"

log "starting portcullis on 127.0.0.1:$PC_PORT (CPU 1), admin 127.0.0.1:$PC_ADMIN_PORT"
(cd "$OUT/portcullis" && exec "${PIN_PROXY[@]}" "$PORTCULLIS" run -c portcullis.yaml) \
    >"$OUT/portcullis.stdout" 2>"$OUT/portcullis.stderr" &
PIDS+=($!)
PC_PID=${PIDS[-1]}
wait_ready portcullis "http://127.0.0.1:$PC_ADMIN_PORT/healthz" "$PC_PID"
wait_ready portcullis "http://127.0.0.1:$PC_PORT/" "$PC_PID"

log "starting redis-server on 127.0.0.1:$REDIS_PORT (CPU 0)"
(cd "$OUT/redis" && exec "${PIN_LOAD[@]}" "$REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 \
    --save '' --appendonly no --dir "$OUT/redis") >"$OUT/redis.stdout" 2>"$OUT/redis.stderr" &
PIDS+=($!)
REDIS_PID=${PIDS[-1]}
redis_cli() { "$REDIS_CLI" -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
for _ in $(seq 1 200); do
    kill -0 "$REDIS_PID" 2>/dev/null || die "redis-server exited during start-up (see $OUT/redis.stdout)"
    [ "$(redis_cli ping 2>/dev/null)" = PONG ] && break
    sleep 0.1
done
[ "$(redis_cli ping 2>/dev/null)" = PONG ] || die "redis-server not ready after 20 s"
log "redis-server ready ($("$REDIS_SERVER" --version | awk '{ print $3 }'))"
# Calls of a command Redis has executed so far (INFO commandstats; 0 before the
# first). `evalsha`: every script call. `time`: the rate-limit check script reads
# Redis' clock once per call, so it tells the check calls from any other script
# call (none today: the revocation mirror's refresh, once a second, is a GET).
redis_calls() {
    redis_cli INFO commandstats | tr -d '\r' \
        | awk -F'[:=,]' -v c="cmdstat_$1" '$1 == c { n = $3 } END { printf "%d", n }'
}
evalsha_calls() { redis_calls evalsha; }
# Sum of the values of the second process's metric lines matching a regex.
pc2_metric() {
    curl -s --max-time 5 -H "@$OUT/portcullis-redis/admin-auth.header" \
        "http://127.0.0.1:$PC2_ADMIN_PORT/metrics" \
        | awk -v re="$1" '$0 ~ re { s += $NF } END { printf "%d", s }'
}
STORE_FAIL_RE='^portcullis_store_events_total[{].*event="(call_error|call_timeout|skipped_down)"'
# Requests the second process answered (it has only the rate-limited API).
REQS_RE='^portcullis_requests_total[{]'

log "starting portcullis-redis on 127.0.0.1:$PC2_PORT (CPU 1), admin 127.0.0.1:$PC2_ADMIN_PORT"
(cd "$OUT/portcullis-redis" && exec "${PIN_PROXY[@]}" "$PORTCULLIS" run -c portcullis.yaml) \
    >"$OUT/portcullis-redis.stdout" 2>"$OUT/portcullis-redis.stderr" &
PIDS+=($!)
PC2_PID=${PIDS[-1]}
wait_ready portcullis-redis "http://127.0.0.1:$PC2_ADMIN_PORT/healthz" "$PC2_PID"
wait_ready portcullis-redis "http://127.0.0.1:$PC2_PORT/" "$PC2_PID"
# The store connects in the background: wait until it reports Redis up.
for _ in $(seq 1 100); do
    [ "$(pc2_metric '^portcullis_store_up ')" = 1 ] && break
    sleep 0.1
done
[ "$(pc2_metric '^portcullis_store_up ')" = 1 ] || die "portcullis-redis: the store did not report Redis up (see $OUT/portcullis-redis.stderr)"

declare -A URL=(
    [upstream]="http://127.0.0.1:$UP_PORT$REQ_PATH"
    [nginx]="http://127.0.0.1:$NGX_PORT$REQ_PATH"
    [portcullis]="http://127.0.0.1:$PC_PORT$REQ_PATH"
    [portcullis-jwt]="http://127.0.0.1:$PC_PORT$JWT_PATH"
    [portcullis-policy]="http://127.0.0.1:$PC_PORT$POLICY_PATH"
    [portcullis-limit]="http://127.0.0.1:$PC_PORT$LIMIT_PATH"
    [portcullis-redis]="http://127.0.0.1:$PC2_PORT$LIMIT_PATH"
    [nginx-post]="http://127.0.0.1:$NGX_PORT$POST_PATH"
    [portcullis-post]="http://127.0.0.1:$PC_PORT$POST_PATH"
    [portcullis-contract]="http://127.0.0.1:$PC_PORT$CONTRACT_PATH"
)
# Extra wrk arguments: the POST targets send the 1 KB order.
declare -A WRK_EXTRA=(
    [nginx-post]="-s $OUT/post.lua"
    [portcullis-post]="-s $OUT/post.lua"
    [portcullis-contract]="-s $OUT/post.lua"
)
# Every target gets the same request bytes, token included: the public operation
# forwards it untouched, the secured one verifies it. So the JWT row differs from the
# passthrough row only by the authentication work, not by a longer request head.
declare -A HDR=(
    [upstream]="Authorization: Bearer $JWT"
    [nginx]="Authorization: Bearer $JWT"
    [portcullis]="Authorization: Bearer $JWT"
    [portcullis-jwt]="Authorization: Bearer $JWT"
    [portcullis-policy]="Authorization: Bearer $JWT"
    [portcullis-limit]="Authorization: Bearer $JWT"
    [portcullis-redis]="Authorization: Bearer $JWT"
    [nginx-post]="Authorization: Bearer $JWT"
    [portcullis-post]="Authorization: Bearer $JWT"
    [portcullis-contract]="Authorization: Bearer $JWT"
)
# Without the token the JWT target must refuse: the row measures verification.
code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${URL[portcullis-jwt]}")"
[ "$code" = 401 ] || die "portcullis-jwt: expected 401 without a token, got $code"
# Without the `reader` role the policies must deny: the row measures a real decision.
code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $JWT_NOT_READER" "${URL[portcullis-policy]}")"
[ "$code" = 403 ] || die "portcullis-policy: expected 403 without the reader role, got $code"

# ---------------------------------------------------------------------------
# Correctness before measuring: 200 and the upstream's JSON through every target.
# ---------------------------------------------------------------------------
curl_args() { # target -> extra curl arguments (the POST targets send the order)
    case $1 in
        *-post|portcullis-contract) echo "-X POST -H Content-Type:application/json --data-binary @$OUT/order-1k.json" ;;
    esac
}
# The contract API must refuse what the spec does not allow and what is injected.
code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST -H 'Content-Type: application/json' \
    --data-binary '{"lines":[{"item_id":1,"quantity":1}],"customer":{"name":"a","email":"a@b.example"},"shipping":{"line1":"x","city":"y","country":"GB"},"isAdmin":true}' \
    "${URL[portcullis-contract]}")"
[ "$code" = 400 ] || die "portcullis-contract: expected 400 for an undeclared property, got $code"
code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST -H 'Content-Type: application/json' \
    --data-binary '{"lines":[{"item_id":1,"quantity":1}],"customer":{"name":"a","email":"a@b.example"},"shipping":{"line1":"x","city":"y","country":"GB"},"notes":"1 UNION SELECT password FROM users--"}' \
    "${URL[portcullis-contract]}")"
[ "$code" = 403 ] || die "portcullis-contract: expected 403 for an injected note, got $code"
for t in "${TARGETS[@]}"; do
    # shellcheck disable=SC2046
    body="$(curl -s -H "${HDR[$t]}" $(curl_args "$t") -D "$OUT/check-$t.headers" -o - -w '\n%{http_code}' --max-time 5 "${URL[$t]}")" \
        || die "$t: request failed"
    code="${body##*$'\n'}"
    body="${body%$'\n'*}"
    if [ "$code" != 200 ] || [ "$body" != "$EXPECTED_BODY" ]; then
        die "$t: expected 200 $EXPECTED_BODY, got $code: $body"
    fi
    log "check $t: 200 $body"
done
# The limiter really runs on the limited rows (the RateLimit headers), and not on
# the passthrough row they are compared with.
has_ratelimit() { grep -qi '^ratelimit:' "$1" && grep -qi '^ratelimit-policy:' "$1"; }
for t in portcullis-limit portcullis-redis; do
    has_ratelimit "$OUT/check-$t.headers" || die "$t: no RateLimit/RateLimit-Policy header (see $OUT/check-$t.headers)"
    log "check $t: $(grep -i '^ratelimit:' "$OUT/check-$t.headers" | tr -d '\r')"
done
! grep -qi '^ratelimit' "$OUT/check-portcullis.headers" || die "portcullis: the passthrough row has RateLimit headers"
# One request through portcullis-redis is exactly one EVALSHA (the script is loaded
# by now: the first call of a fresh Redis is EVALSHA, NOSCRIPT, SCRIPT LOAD, EVALSHA),
# checked by Redis: with a store configured a request's check either is a Redis
# call or a failed one (counted in portcullis_store_events_total, then decided by
# the local fallback, counted in portcullis_limit_decisions_total), so one EVALSHA
# and no failure means Redis checked it, once. The gateway also calls a script once
# a second in the background (the revocation mirror's refresh): a window that
# catches it sees 2 calls, so up to 5 tries for a window with exactly 1.
LIMIT_ERR_RE='^portcullis_limit_decisions_total[{].*outcome="store_error'
seen=""
for _ in 1 2 3 4 5; do
    calls0="$(evalsha_calls)"
    checks0="$(redis_calls time)"
    fail0=$(($(pc2_metric "$STORE_FAIL_RE") + $(pc2_metric "$LIMIT_ERR_RE")))
    curl -s -o /dev/null -H "${HDR[portcullis-redis]}" -D "$OUT/check-portcullis-redis-2.headers" --max-time 5 "${URL[portcullis-redis]}" \
        || die "portcullis-redis: request failed"
    calls1="$(evalsha_calls)"
    checks1="$(redis_calls time)"
    fail1=$(($(pc2_metric "$STORE_FAIL_RE") + $(pc2_metric "$LIMIT_ERR_RE")))
    has_ratelimit "$OUT/check-portcullis-redis-2.headers" || die "portcullis-redis: no RateLimit headers on a later request"
    [ "$fail1" = "$fail0" ] || die "portcullis-redis: a store call failed during the check request (local fallback)"
    seen+="${seen:+ }$((calls1 - calls0))"
    [ $((calls1 - calls0)) = 1 ] && break
done
[ $((calls1 - calls0)) = 1 ] || die "portcullis-redis: one request made more than one EVALSHA call (per try: $seen)"
log "check portcullis-redis: one request = 1 EVALSHA (EVALSHA per try: $seen; Redis TIME +$((checks1 - checks0))), no store failure"

# ---------------------------------------------------------------------------
# Measurement: RUNS rounds, targets interleaved, warm-up before each.
# ---------------------------------------------------------------------------
WRK_CMD="wrk -t1 -c$CONNECTIONS -d$DURATION --latency"
to_ms() { # wrk duration (e.g. 812.00us, 1.23ms, 1.02s, 2.00m) -> ms
    awk -v v="$1" 'BEGIN {
        n = v; sub(/[a-z]+$/, "", n); u = v; sub(/^[0-9.]+/, "", u);
        if (u == "us") f = 0.001; else if (u == "ms") f = 1; else if (u == "s") f = 1000;
        else if (u == "m") f = 60000; else if (u == "h") f = 3600000; else f = -1;
        if (f < 0) { print "NaN"; exit 1 }
        printf "%.3f", n * f }'
}
median() { # numbers on stdin -> median
    sort -g | awk '{ a[NR] = $1 } END {
        if (NR == 0) { print "NaN"; exit }
        if (NR % 2) printf "%.3f", a[(NR + 1) / 2];
        else printf "%.3f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

declare -A RPS P50 P99 ERRS
ERRORS_SEEN=0
# portcullis-redis, per run: the requests the gateway answered, those wrk counted,
# Redis' EVALSHA calls, calls per request, and store calls that failed (each would
# have been answered by the local fallback).
REDIS_REQS="" REDIS_WRK_REQS="" REDIS_CALLS="" REDIS_CHECKS="" REDIS_CPR="" REDIS_FAILS=0 REDIS_BG_MAX=0
TOTAL_MEAS=$(( RUNS * ${#TARGETS[@]} ))
i=0
for run in $(seq 1 "$RUNS"); do
    for t in "${TARGETS[@]}"; do
        i=$((i + 1))
        f="$OUT/wrk-$t-run$run.txt"
        log "[$i/$TOTAL_MEAS] $t run $run: warm-up $WARMUP, then $WRK_CMD"
        # shellcheck disable=SC2086
        "${PIN_LOAD[@]}" wrk -t1 -c"$CONNECTIONS" -d"$WARMUP" ${WRK_EXTRA[$t]:-} -H "${HDR[$t]}" "${URL[$t]}" >"$OUT/wrk-$t-run$run.warmup.txt" 2>&1
        if [ "$t" = portcullis-redis ]; then
            sleep 0.2 # the warm-up's last requests
            calls0="$(evalsha_calls)"
            checks0="$(redis_calls time)"
            fail0="$(pc2_metric "$STORE_FAIL_RE")"
            reqs0="$(pc2_metric "$REQS_RE")"
            window0="$(date +%s%N)"
        fi
        # shellcheck disable=SC2086
        "${PIN_LOAD[@]}" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency ${WRK_EXTRA[$t]:-} -H "${HDR[$t]}" "${URL[$t]}" >"$f" 2>&1
        if [ "$t" = portcullis-redis ]; then
            # Requests still in flight when wrk stops are checked by the gateway
            # but not counted by wrk: let them finish before reading the counter.
            sleep 0.2
            calls1="$(evalsha_calls)"
            checks1="$(redis_calls time)"
            window1="$(date +%s%N)"
            fail1="$(pc2_metric "$STORE_FAIL_RE")"
            reqs=$(($(pc2_metric "$REQS_RE") - reqs0))
            wrk_reqs="$(awk '/ requests in / { print $1 }' "$f")"
            [ -n "$wrk_reqs" ] && [ "$reqs" -gt 0 ] || { cat "$f" >&2; die "cannot count the requests of $f"; }
            calls=$((calls1 - calls0))
            cpr="$(awk -v c="$calls" -v r="$reqs" 'BEGIN { printf "%.4f", c / r }')"
            REDIS_REQS+="$reqs "
            REDIS_WRK_REQS+="$wrk_reqs "
            REDIS_CALLS+="$calls "
            REDIS_CHECKS+="$((checks1 - checks0)) "
            # Allow one stray call per second between the two readings.
            REDIS_BG_MAX=$((REDIS_BG_MAX + (window1 - window0) / 1000000000 + 1))
            REDIS_CPR+="$cpr "
            REDIS_FAILS=$((REDIS_FAILS + fail1 - fail0))
            log "  $t run $run: $calls EVALSHA calls ($((checks1 - checks0)) rate-limit checks) for $reqs requests answered ($cpr per request; wrk counted $wrk_reqs), store failures $((fail1 - fail0))"
        fi
        rps="$(awk '/^Requests\/sec:/ { print $2 }' "$f")"
        p50="$(awk '$1 == "50%" { print $2 }' "$f")"
        p99="$(awk '$1 == "99%" { print $2 }' "$f")"
        [ -n "$rps" ] && [ -n "$p50" ] && [ -n "$p99" ] || { cat "$f" >&2; die "cannot parse $f"; }
        RPS[$t]+="$rps "
        P50[$t]+="$(to_ms "$p50") "
        P99[$t]+="$(to_ms "$p99") "
        errs="$(grep -E '^ *(Non-2xx|Socket errors)' "$f" || true)"
        if [ -n "$errs" ]; then
            ERRORS_SEEN=1
            ERRS[$t]+="run $run: $(echo "$errs" | tr '\n' ';' | sed 's/ \+/ /g') "
            log "  $t run $run reported errors: $errs"
        fi
        log "  $t run $run: $rps req/s, p50 $p50, p99 $p99"
    done
done

# ---------------------------------------------------------------------------
# Optional: profile Portcullis under the same load.
# ---------------------------------------------------------------------------
if [ "$PROFILE" = 1 ] && command -v perf >/dev/null; then
    log "profiling portcullis (perf record -g, 5 s under load)"
    "${PIN_LOAD[@]}" wrk -t1 -c"$CONNECTIONS" -d8s -H "${HDR[$PROFILE_TARGET]}" "${URL[$PROFILE_TARGET]}" \
        >"$OUT/wrk-$PROFILE_TARGET-profile.txt" 2>&1 &
    wrkpid=$!
    sleep 1
    PROFILE_PID="$PC_PID"
    [ "$PROFILE_TARGET" = portcullis-redis ] && PROFILE_PID="$PC2_PID"
    perf record -F 999 -g --call-graph dwarf,16384 -p "$PROFILE_PID" -o "$OUT/perf.data" -- sleep 5 \
        >"$OUT/perf-record.log" 2>&1 || log "perf record failed (see $OUT/perf-record.log)"
    wait "$wrkpid" || true
    if [ -s "$OUT/perf.data" ]; then
        # Flat profiles: by thread, by binary, by symbol; then the call graph.
        for sort in pid dso dso,symbol; do
            echo "== perf report --sort $sort (self time) =="
            perf report -i "$OUT/perf.data" --no-children --sort "$sort" --stdio -g none 2>/dev/null \
                | grep -v '^#' | grep -v '^$' | head -60 | cut -c1-200
            echo
        done >"$OUT/perf-report.txt" || true
        perf report -i "$OUT/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null \
            | head -400 >"$OUT/perf-report-callgraph.txt" || true
        log "perf report: $OUT/perf-report.txt"
    fi
fi

# ---------------------------------------------------------------------------
# Correctness after measuring: audit log written, process still up.
# ---------------------------------------------------------------------------
kill -0 "$PC_PID" 2>/dev/null || die "portcullis died during the benchmark"
kill -0 "$PC2_PID" 2>/dev/null || die "portcullis-redis died during the benchmark"
kill -0 "$REDIS_PID" 2>/dev/null || die "redis-server died during the benchmark"
AUDIT="$OUT/portcullis/audit.jsonl"
AUDIT2="$OUT/portcullis-redis/audit.jsonl"
sleep 0.5 # let the audit writer drain its queue
AUDIT_LINES=0
[ -f "$AUDIT" ] && AUDIT_LINES="$(wc -l <"$AUDIT")"
[ "$AUDIT_LINES" -gt 0 ] || die "portcullis audit log $AUDIT is empty"
AUDIT2_LINES=0
[ -f "$AUDIT2" ] && AUDIT2_LINES="$(wc -l <"$AUDIT2")"
[ "$AUDIT2_LINES" -gt 0 ] || die "portcullis-redis audit log $AUDIT2 is empty"
ACCESS_LINES="$(wc -l <"$OUT/nginx/access.log")"
log "portcullis audit log: $AUDIT_LINES lines; nginx access log: $ACCESS_LINES lines"
grep -m 1 '"status":200' "$AUDIT" >"$OUT/audit-sample.jsonl" || true
if [ "$KEEP_LOGS" != 1 ]; then
    # The full logs are hundreds of MB; keep a sample.
    head -n 20 "$AUDIT" >"$AUDIT.head" && rm -f "$AUDIT"
    if [ -f "$AUDIT2" ]; then head -n 20 "$AUDIT2" >"$AUDIT2.head" && rm -f "$AUDIT2"; fi
    head -n 20 "$OUT/nginx/access.log" >"$OUT/nginx/access.log.head" && rm -f "$OUT/nginx/access.log"
fi

# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------
declare -A M_RPS M_P50 M_P99
for t in "${TARGETS[@]}"; do
    M_RPS[$t]="$(echo "${RPS[$t]}" | tr ' ' '\n' | grep . | median)"
    M_P50[$t]="$(echo "${P50[$t]}" | tr ' ' '\n' | grep . | median)"
    M_P99[$t]="$(echo "${P99[$t]}" | tr ' ' '\n' | grep . | median)"
done
RATIO_RPS="$(awk -v a="${M_RPS[portcullis]}" -v b="${M_RPS[nginx]}" 'BEGIN { printf "%.3f", a / b }')"
RATIO_P99="$(awk -v a="${M_P99[portcullis]}" -v b="${M_P99[nginx]}" 'BEGIN { printf "%.3f", a / b }')"
OK_RPS="$(awk -v r="$RATIO_RPS" 'BEGIN { print (r >= 1.0) ? "PASS" : "FAIL" }')"
OK_P99="$(awk -v r="$RATIO_P99" 'BEGIN { print (r <= 1.2) ? "PASS" : "FAIL" }')"
# The cost of JWT authentication: the JWT row against the passthrough row, same process.
RATIO_JWT="$(awk -v a="${M_RPS[portcullis-jwt]}" -v b="${M_RPS[portcullis]}" 'BEGIN { printf "%.3f", a / b }')"
JWT_COST="$(awk -v r="$RATIO_JWT" 'BEGIN { printf "%.1f", (1 - r) * 100 }')"
OK_JWT="$(awk -v r="$RATIO_JWT" 'BEGIN { print (r >= 0.95) ? "PASS" : "FAIL" }')"
# The same ratio taken run by run (each JWT run right after its passthrough run, so
# both see the same machine), then the median: less sensitive to drift between runs.
PAIRED_JWT="$(paste <(echo "${RPS[portcullis-jwt]}" | tr ' ' '\n' | grep .) \
    <(echo "${RPS[portcullis]}" | tr ' ' '\n' | grep .) | awk '{ printf "%.4f\n", $1 / $2 }' | median)"
# JWT + policy against the passthrough and against JWT alone (the policy's own cost).
RATIO_POLICY="$(paste <(echo "${RPS[portcullis-policy]}" | tr ' ' '\n' | grep .) \
    <(echo "${RPS[portcullis]}" | tr ' ' '\n' | grep .) | awk '{ printf "%.4f\n", $1 / $2 }' | median)"
RATIO_POLICY_JWT="$(paste <(echo "${RPS[portcullis-policy]}" | tr ' ' '\n' | grep .) \
    <(echo "${RPS[portcullis-jwt]}" | tr ' ' '\n' | grep .) | awk '{ printf "%.4f\n", $1 / $2 }' | median)"
# The full contract (validation + inspection of the 1 KB order) against the same
# POST through the passthrough API, and against the GET passthrough row.
RATIO_CONTRACT="$(paste <(echo "${RPS[portcullis-contract]}" | tr ' ' '\n' | grep .) \
    <(echo "${RPS[portcullis-post]}" | tr ' ' '\n' | grep .) | awk '{ printf "%.4f\n", $1 / $2 }' | median)"
RATIO_CONTRACT_GET="$(paste <(echo "${RPS[portcullis-contract]}" | tr ' ' '\n' | grep .) \
    <(echo "${RPS[portcullis]}" | tr ' ' '\n' | grep .) | awk '{ printf "%.4f\n", $1 / $2 }' | median)"
RATIO_POST_NGINX="$(paste <(echo "${RPS[portcullis-post]}" | tr ' ' '\n' | grep .) \
    <(echo "${RPS[nginx-post]}" | tr ' ' '\n' | grep .) | awk '{ printf "%.4f\n", $1 / $2 }' | median)"
OK_CONTRACT="$(awk -v r="$RATIO_CONTRACT" 'BEGIN { print (r >= 0.90) ? "PASS" : "FAIL" }')"
# Rate limiting against the passthrough row (median of the per-run ratios).
RATIO_LIMIT="$(paste <(echo "${RPS[portcullis-limit]}" | tr ' ' '\n' | grep .) \
    <(echo "${RPS[portcullis]}" | tr ' ' '\n' | grep .) | awk '{ printf "%.4f\n", $1 / $2 }' | median)"
RATIO_REDIS="$(paste <(echo "${RPS[portcullis-redis]}" | tr ' ' '\n' | grep .) \
    <(echo "${RPS[portcullis]}" | tr ' ' '\n' | grep .) | awk '{ printf "%.4f\n", $1 / $2 }' | median)"
OK_LIMIT="$(awk -v r="$RATIO_LIMIT" 'BEGIN { print (r >= 0.98) ? "PASS" : "FAIL" }')"
OK_REDIS="$(awk -v r="$RATIO_REDIS" 'BEGIN { print (r >= 0.85) ? "PASS" : "FAIL" }')"
# Redis round trips: all runs' EVALSHA calls over all runs' requests, as the gateway
# counted them (portcullis_requests_total). wrk counts fewer: the requests in flight
# when it stops (up to CONNECTIONS per run) are sent and answered but not counted.
SUM_CALLS="$(echo "$REDIS_CALLS" | tr ' ' '\n' | awk '{ s += $1 } END { printf "%d", s }')"
SUM_REQS="$(echo "$REDIS_REQS" | tr ' ' '\n' | awk '{ s += $1 } END { printf "%d", s }')"
SUM_WRK_REQS="$(echo "$REDIS_WRK_REQS" | tr ' ' '\n' | awk '{ s += $1 } END { printf "%d", s }')"
REDIS_CPR_ALL="$(awk -v c="$SUM_CALLS" -v r="$SUM_REQS" 'BEGIN { printf "%.4f", c / r }')"
REDIS_CPR_WRK="$(awk -v c="$SUM_CALLS" -v r="$SUM_WRK_REQS" 'BEGIN { printf "%.4f", c / r }')"
SUM_CHECKS="$(echo "$REDIS_CHECKS" | tr ' ' '\n' | awk '{ s += $1 } END { printf "%d", s }')"
# At most one call per request (plus one stray call per second allowed).
OK_CPR="$(awk -v c="$SUM_CALLS" -v r="$SUM_REQS" -v bg="$REDIS_BG_MAX" 'BEGIN { print (c <= r + bg) ? "PASS" : "FAIL" }')"
VERDICT=PASS
[ "$OK_RPS" = PASS ] && [ "$OK_P99" = PASS ] || VERDICT=FAIL
[ "$ERRORS_SEEN" = 0 ] || VERDICT="$VERDICT (with wrk errors, see below)"

LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
CPU_MODEL="$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
NGINX_V="$("$NGINX" -v 2>&1 | head -1)"
WRK_V="$( (wrk -v 2>&1 || true) | head -1 | sed "s/ *Usage.*//")"
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
DIRTY=""
if [ -n "$(git status --porcelain -- crates Cargo.toml Cargo.lock 2>/dev/null)" ]; then
    DIRTY=" (+ uncommitted changes in crates/ at build time)"
fi
fmt() { awk -v v="$1" -v d="$2" 'BEGIN { printf "%.*f", d, v }'; }
joined() { echo "$1" | xargs | sed 's/ /, /g'; }

RESULTS="$ROOT/bench/RESULTS.md"
TARGET_LIST="${TARGETS[*]}"
{
    echo "# Portcullis load benchmark results"
    echo
    echo "Generated by \`bench/run.sh\` — see [README.md](README.md) for what is measured."
    echo
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- Machine: $NCPU CPUs, $CPU_MODEL; kernel $(uname -r)"
    echo "- Load average (1/5/15 min) before the run: $LOAD_BEFORE; after: $LOAD_AFTER (the benchmark itself keeps ~2 CPUs busy; a high value *before* means other work was running on the machine)."
    echo "- Versions: $NGINX_V; $WRK_V; portcullis $("$PORTCULLIS" --version 2>/dev/null | awk '{print $2}') commit \`$COMMIT\`$DIRTY (release profile)"
    echo "- Command: \`DURATION=$DURATION CONNECTIONS=$CONNECTIONS RUNS=$RUNS bench/run.sh\`; each measurement is \`$WRK_CMD -H 'Authorization: Bearer <ES256 JWT, ${#JWT} bytes>' http://127.0.0.1:PORT$REQ_PATH\` (the JWT row: \`$JWT_PATH\`; the JWT + policy row: \`$POLICY_PATH\`; the rate-limited rows: \`$LIMIT_PATH\`) after a $WARMUP warm-up; every target gets the same request bytes (the public operation forwards the token untouched, the secured one verifies it); $RUNS runs per target, interleaved (${TARGET_LIST// /, }, upstream, …); medians reported."
    echo "- Cores: $PINNING Each proxy has 1 worker: nginx \`worker_processes 1\`, Portcullis \`runtime.worker_threads: 1\` (each whole Portcullis process, including its audit writer, is confined to CPU 1). redis-server: $("$REDIS_SERVER" --version | awk '{ print $3 }'), \`--save '' --appendonly no\`, on CPU 0."
    echo "- Keep-alive: wrk → proxy keep-alive ($CONNECTIONS connections reused); proxy → upstream keep-alive (nginx \`keepalive 64\`, HTTP/1.1; Portcullis's pooled client). Logging: nginx writes an access log line per request, Portcullis an audit JSON line per request."
    echo "- Upstream: nginx, 1 worker, \`return 200 '$EXPECTED_BODY'\` (application/json), access log off, on CPU 0."
    echo
    echo "| target | req/s | p50 ms | p99 ms |"
    echo "|---|---:|---:|---:|"
    for t in "${TARGETS[@]}"; do
        case $t in
            upstream) name="upstream (direct, no proxy)" ;;
            nginx) name="nginx reverse proxy" ;;
            portcullis) name="Portcullis (passthrough)" ;;
            portcullis-jwt) name="Portcullis, ES256 JWT verified per request" ;;
            portcullis-policy) name="Portcullis, JWT + policy (50 Cedar policies, 10 roles)" ;;
            portcullis-limit) name="Portcullis, rate limit by IP (in process memory)" ;;
            portcullis-redis) name="Portcullis, rate limit by IP (Redis, second process)" ;;
            nginx-post) name="nginx reverse proxy, POST 1 KB JSON" ;;
            portcullis-post) name="Portcullis passthrough, POST 1 KB JSON" ;;
            portcullis-contract) name="Portcullis full contract (validation + inspection), POST 1 KB JSON" ;;
        esac
        echo "| $name | $(fmt "${M_RPS[$t]}" 0) | $(fmt "${M_P50[$t]}" 3) | $(fmt "${M_P99[$t]}" 3) |"
    done
    echo
    echo "| ratio Portcullis / nginx | value | target | |"
    echo "|---|---:|---:|---|"
    echo "| throughput (req/s) | $RATIO_RPS | ≥ 1.0 | $OK_RPS |"
    echo "| p99 latency | $RATIO_P99 | ≤ 1.2 | $OK_P99 |"
    echo
    echo "| ratio Portcullis JWT / Portcullis passthrough | value | target | |"
    echo "|---|---:|---:|---|"
    echo "| throughput (req/s), ratio of the medians | $RATIO_JWT (cost $JWT_COST%) | ≥ 0.95 (cost ≤ 5%) | $OK_JWT |"
    echo "| throughput (req/s), median of the per-run ratios | $PAIRED_JWT | ≥ 0.95 | |"
    echo
    echo "| ratio Portcullis JWT + policy / … (median of the per-run ratios) | value |"
    echo "|---|---:|"
    echo "| … / Portcullis passthrough | $RATIO_POLICY |"
    echo "| … / Portcullis JWT (the policy decision's own cost) | $RATIO_POLICY_JWT |"
    echo
    echo "| full contract: POST 1 KB JSON validated (strict) and inspected (median of the per-run ratios) | value | target | |"
    echo "|---|---:|---:|---|"
    echo "| … / Portcullis passthrough POST 1 KB | $RATIO_CONTRACT | ≥ 0.90 (cost ≤ 10%) | $OK_CONTRACT |"
    echo "| … / Portcullis passthrough GET | $RATIO_CONTRACT_GET | | |"
    echo "| Portcullis passthrough POST / nginx POST | $RATIO_POST_NGINX | | |"
    echo
    echo "| rate limiting: \`GET $LIMIT_PATH\`, one limit keyed by \`ip\` ($LIMIT_RATE, never refusing) / Portcullis passthrough (median of the per-run ratios) | value | target | |"
    echo "|---|---:|---:|---|"
    echo "| in process memory (\`portcullis-limit\`, same process) | $RATIO_LIMIT | ≥ 0.98 | $OK_LIMIT |"
    echo "| Redis (\`portcullis-redis\`, a second process, \`store.redis\`) | $RATIO_REDIS | ≥ 0.85 | $OK_REDIS |"
    echo "| Redis calls per request: EVALSHA calls / requests the gateway answered, all runs: $SUM_CALLS / $SUM_REQS (of the calls, $SUM_CHECKS rate-limit checks and $((SUM_CALLS - SUM_CHECKS)) other script calls; / the $SUM_WRK_REQS wrk counted, without the ≤ $CONNECTIONS in flight at each stop: $REDIS_CPR_WRK) | $REDIS_CPR_ALL | ≤ 1.00 | $OK_CPR |"
    echo
    if [ "$REDIS_FAILS" != 0 ]; then
        echo "**Warning**: $REDIS_FAILS Redis calls failed or were skipped during the portcullis-redis measurements (\`portcullis_store_events_total\` call_error/call_timeout/skipped_down); those requests were checked by the local fallback, so the row is not purely Redis."
        echo
    fi
    echo "**Result: $VERDICT** against the targets (throughput ratio ≥ 1.0 and p99 ratio ≤ 1.2)."
    echo
    echo "Per-run values (req/s; p50 ms; p99 ms):"
    echo
    for t in "${TARGETS[@]}"; do
        echo "- $t: $(joined "${RPS[$t]}"); $(joined "${P50[$t]}"); $(joined "${P99[$t]}")"
    done
    echo "- portcullis-redis, per run: EVALSHA calls $(joined "$REDIS_CALLS") (rate-limit checks, counted by the check script's one \`TIME\` per call: $(joined "$REDIS_CHECKS")); requests answered $(joined "$REDIS_REQS") (wrk counted $(joined "$REDIS_WRK_REQS")); calls per request $(joined "$REDIS_CPR"); failed store calls (all runs) $REDIS_FAILS"
    echo
    echo "Correctness: every target answered \`GET $REQ_PATH\` (the JWT target \`GET $JWT_PATH\` with \`Authorization: Bearer <ES256 JWT>\`; 401 without it) with 200 and \`$EXPECTED_BODY\` before measuring;"
    echo "the rate-limited targets answered with \`RateLimit\` and \`RateLimit-Policy\` headers (the passthrough target without), and one request through portcullis-redis was exactly one EVALSHA in Redis (\`INFO commandstats\`; EVALSHA per try: $seen) with no failed store call (so checked by Redis, not by the local fallback);"
    echo "after measuring the Portcullis audit log had $AUDIT_LINES lines (the Redis-backed process's: $AUDIT2_LINES; nginx access log: $ACCESS_LINES lines)."
    if [ "$ERRORS_SEEN" = 0 ]; then
        echo "wrk reported no non-2xx responses and no socket errors."
    else
        echo "wrk reported errors:"
        echo
        for t in "${TARGETS[@]}"; do
            [ -n "${ERRS[$t]:-}" ] && echo "- $t: ${ERRS[$t]}"
        done
    fi
    echo
    echo "Raw wrk outputs, configs and logs: \`bench/out/$STAMP/\` (not committed)."
} >"$RESULTS"

cat "$RESULTS"
log "wrote $RESULTS"
