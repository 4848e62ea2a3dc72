#!/bin/bash
# tests/bench/run.sh BUILD_DIR — the measurements of `make bench` (DESIGN §12), on this machine:
#
#   1. `runc run` of a busybox container: without lockbox; with 10 store secrets; with 10 Vault
#      secrets (tests/fakes/vault_fake.py over TLS on loopback, AppRole, the token cached); with
#      the naive alternative (tests/bench/naive-hook.sh: bash, curl, jq, a tmpfs).
#   2. 100 Vault-shaped secrets from nginx over TLS and HTTP/2 (the JSON recorded from the Vault
#      test server): lockbox's fetch (lbx-bench-fetch, the broker's own code) vs
#      `curl --parallel --http2` vs a python3-hvac script; and lockbox and hvac against the
#      Vault test server itself.
#   3. `lockbox-shim -- true` with 10 secrets vs `true`.
#   4. 50 containers started at once with 5 Vault secrets each: wall time, failures, logins.
#   5. Peak RSS (wait4's ru_maxrss through /usr/bin/time) of the broker's hook and the shim, and
#      of reference programs that show what bounds the broker's.
#
# Each comparison runs its variants round-robin within each round (the order rotated from one
# round to the next) and reports the median of the rounds with min and max. The table goes to
# stdout and between the markers of docs/BENCHMARKS.md (the text around them is kept).
# Everything runs under one temporary directory, removed on exit with every container, mount,
# watcher and server it started. BENCH_ROUNDS (default 15, at least 10), BENCH_BURST_ROUNDS
# (default 10), BENCH_DOC (default docs/BENCHMARKS.md; "-": stdout only).
set -Eeuo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
B=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
BROKER=$B/lockbox-broker
SHIM=$B/lockbox-shim
FETCH=$B/lbx-bench-fetch
PROBE=$B/lbx-rss-probe
PY=/usr/bin/python3
ROUNDS=${BENCH_ROUNDS:-15}
BURST_ROUNDS=${BENCH_BURST_ROUNDS:-10}
SHIM_ROUNDS=$((ROUNDS * 5))
BURST=50
DOC=${BENCH_DOC:-$TOP/docs/BENCHMARKS.md}
T0=${LBX_BENCH_T0:-$(date +%s%N)}

say() { echo "bench: [$((($(date +%s%N) - T0) / 1000000000)) s] $*" >&2; }
die() {
    say "FAILED: $*"
    local p
    [ -n "${T:-}" ] || exit 1
    for p in "${BG_PIDS[@]}"; do
        kill -0 "$p" 2>/dev/null || say "server $p ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-60)) is not running"
    done
    for p in "$T/log/vault.log" "$T/nginx/error.log"; do
        [ -s "$p" ] && say "${p##*/}: $(tail -n 5 "$p")"
    done
    exit 1
}
trap 'say "line $LINENO: \`$BASH_COMMAND\` exited $?"' ERR

[ "$(id -u)" = 0 ] || die "needs root (runc, mounts)"
if [ "$ROUNDS" -lt 10 ] || [ "$BURST_ROUNDS" -lt 10 ]; then
    die "at least 10 rounds (BENCH_ROUNDS, BENCH_BURST_ROUNDS)"
fi
for x in "$BROKER" "$SHIM" "$FETCH" "$PROBE" "$PROBE-libc" "$PROBE-nocurl" "$B/lbx-testapp"; do
    [ -x "$x" ] || die "$x is missing (make bench builds it)"
done
for c in runc nginx curl jq nsenter /usr/bin/time busybox openssl "$PY"; do
    command -v "$c" >/dev/null || die "$c is not installed (make bench-deps)"
done
"$PY" -c 'import hvac' 2>/dev/null || die "python3-hvac is not installed (make deps)"

LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
T=$(mktemp -d /tmp/lbx-bench.XXXXXX)
chmod 0755 "$T"
RES=$T/res
STATE=$T/run/lockbox
CFG=$T/etc/broker.json
RUNC_ROOT=$T/runc
BG_PIDS=()
mkdir -p "$RES" "$T/etc" "$T/log" "$T/c" "$T/out" "$T/bin"
chmod 0700 "$T/etc"
# The state directory (records, token cache) on a tmpfs, as /run is where lockbox runs (on this
# machine /run is on the disk, where the state's fsyncs would cost what they cost nowhere else).
mkdir -p "$T/run"
mount -t tmpfs -o size=64m,mode=0755 lockbox-bench-run "$T/run"

# -------------------------------------------------------------------------------------------
# Cleanup: containers, the broker's records (revoke stops watchers), servers, mounts, files.

# shellcheck source=tests/integration/rootfs.sh
. "$TOP/tests/integration/rootfs.sh"
cleanup() {
    local rc=$? p
    set +eE
    trap - ERR
    lbx_stop_all "$RUNC_ROOT" "$STATE" "$BROKER" "$CFG"
    for p in "${BG_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in "${BG_PIDS[@]}" $(our_watchers); do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    lbx_umount_under "$T"
    rm -rf "$T"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# -------------------------------------------------------------------------------------------
# Samples and statistics. A sample is one line of $RES/KEY.

now_us() {
    local t=$EPOCHREALTIME
    echo $((10#${t/./}))
}

# record_ms KEY START_US: the time since START_US, in ms.
record_ms() {
    local us=$(($(now_us) - $2))
    printf '%d.%03d\n' $((us / 1000)) $((us % 1000)) >>"$RES/$1"
}

# stats KEY: "MEDIAN MIN MAX N"
stats() {
    sort -g "$RES/$1" | awk '{ a[NR] = $1 } END {
        m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
        printf "%.6f %.6f %.6f %d\n", m, a[1], a[NR], NR }'
}

med() {
    local m _
    read -r m _ < <(stats "$1")
    echo "$m"
}

# ratio A B, diff A B: the median over the rounds of A/B (A-B) of the same round. Each round
# records one sample of each variant, so line N of each file is round N: a machine that is
# busier in some rounds than in others moves both samples of a round alike.
ratio() {
    paste "$RES/$1" "$RES/$2" | awk '{ print $1 / $2 }' >"$RES/$1.per.$2"
    med "$1.per.$2"
}
diff_ms() {
    paste "$RES/$1" "$RES/$2" | awk '{ print $1 - $2 }' >"$RES/$1.minus.$2"
    med "$1.minus.$2"
}

# calc EXPR: floating point arithmetic (awk).
calc() {
    awk "BEGIN { print $* }"
}

# rotated I WORD...: the words rotated left by I (the order of round I).
rotated() {
    local i=$1
    shift
    local a=("$@") n=$# k
    for ((k = 0; k < n; k++)); do
        echo "${a[(i + k) % n]}"
    done
}

# -------------------------------------------------------------------------------------------
# The table: markdown, one per section, collected in $T/table.md.

TABLE=$T/table.md
: >"$TABLE"

section() {
    printf '\n### %s\n\n| | median | min | max | %s | target | result |\n|---|---:|---:|---:|---:|---|---|\n' \
        "$1" "$2" >>"$TABLE"
}

# row DESCRIPTION KEY DECIMALS UNIT COMPARED TARGET RESULT
row() {
    local m lo hi n
    read -r m lo hi n < <(stats "$2")
    printf '| %s | %.*f %s | %.*f | %.*f | %s | %s | %s |\n' "$1" "$3" "$m" "$4" "$3" "$lo" \
        "$3" "$hi" "$5" "$6" "$7" >>"$TABLE"
}

verdict() { # CONDITION (awk)
    if [ "$(calc "($1) ? 1 : 0")" = 1 ]; then echo met; else echo "**missed**"; fi
}

note() {
    printf '\n%s\n' "$*" >>"$TABLE"
}

# -------------------------------------------------------------------------------------------
# Secrets, PKI, the Vault test server.

say "setting up in $T"
"$TOP/tests/fakes/mkcerts.sh" "$T/pki"
CA=$T/pki/ca.pem

# 100 values, a root token and an AppRole secret id, made here (never printed): the seed of
# the Vault test server, and $T/etc/values ("sNNN VALUE") for checking what containers got.
"$PY" - "$T/etc" <<'EOF'
import json, os, secrets, sys
d = sys.argv[1]
vals = {"s%03d" % i: "lbx-bench-" + secrets.token_hex(12) for i in range(1, 101)}
root, sid = "hvs.bench-" + secrets.token_hex(12), "sid-" + secrets.token_hex(12)
seed = {"root_token": root,
        "kv": {"secret/bench/" + k: {"value": v} for k, v in vals.items()},
        "policies": {"bench": ["secret/data/bench/*"]},
        "approle": {"roles": {"bench": {"role_id": "rid-bench", "policies": ["bench"],
                                        "token_ttl": "1h"}},
                    "secret_ids": [{"role": "bench", "secret_id": sid}]}}
def put(name, text):
    fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
put("vault-seed.json", json.dumps(seed))
put("values", "".join("%s %s\n" % kv for kv in vals.items()))
put("root-token", root + "\n")
put("root.hdr", "X-Vault-Token: %s\n" % root)
put("role-id", "rid-bench\n")
put("secret-id", sid + "\n")
EOF

# value NAME: the value of sNNN (for comparisons only; never printed).
value() {
    awk -v k="$1" '$1 == k { print $2 }' "$T/etc/values"
}

"$PY" "$TOP/tests/fakes/vault_fake.py" --port 0 --cert "$T/pki/server.pem" \
    --key "$T/pki/server.key" --port-file "$T/vault.port" --control-port-file "$T/vault.ctl" \
    --seed "$T/etc/vault-seed.json" --die-with-parent -q 2>"$T/log/vault.log" &
BG_PIDS+=($!)
VAULT_PID=$!
for ((i = 0; i < 200; i++)); do
    [ -s "$T/vault.port" ] && break
    kill -0 "${BG_PIDS[-1]}" 2>/dev/null || die "the Vault test server did not start: $(tail -n 3 "$T/log/vault.log")"
    sleep 0.05
done
[ -s "$T/vault.port" ] || die "the Vault test server did not start within 10 s"
VAULT_ADDR=https://127.0.0.1:$(cat "$T/vault.port")
VAULT_CTL=http://127.0.0.1:$(cat "$T/vault.ctl")

# vault_counters: "APPROLE_LOGINS TLS_CONNECTIONS REQUESTS" from the test server's counters.
vault_counters() {
    curl -sS --fail "$VAULT_CTL/counters" | "$PY" -c '
import json, sys
c = json.load(sys.stdin)
print(c.get("logins", {}).get("approle", 0), c.get("connections", 0), c.get("requests_total", 0))'
}
# vault_cpu_ms: CPU time (user + system) the test server has used, in ms.
vault_cpu_ms() {
    awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$VAULT_PID/stat"
}

NGINX_PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
NGINX_ADDR=https://127.0.0.1:$NGINX_PORT

# The broker's configuration: the sealed store; the Vault test server (AppRole); and nginx
# serving the test server's recorded replies over HTTP/2 as a second Vault backend (a token
# file and kv_version 2: static files answer neither a login nor a mount lookup). One role.
cat >"$CFG" <<EOF
{"state_dir": "$STATE",
 "audit_log": "$T/log/audit.log",
 "backends": {"store": {"type": "store", "dir": "$T/store", "key_file": "$T/etc/store.key"},
              "vault": {"type": "vault", "address": "$VAULT_ADDR", "ca_file": "$CA",
                        "auth": {"method": "approle", "role_id_file": "$T/etc/role-id",
                                 "secret_id_file": "$T/etc/secret-id"}},
              "nginx": {"type": "vault", "address": "$NGINX_ADDR", "ca_file": "$CA",
                        "kv_version": 2,
                        "auth": {"method": "token", "token_file": "$T/etc/root-token"}}},
 "roles": [{"name": "default", "allow": ["store:*", "vault:*", "nginx:*"]}]}
EOF
chmod 0600 "$CFG"
broker() {
    "$BROKER" --config "$CFG" "$@"
}
broker store init >/dev/null
for i in $(seq -w 1 10); do
    value "s0$i" | tr -d '\n' | broker store put "s$i" >/dev/null
done

# -------------------------------------------------------------------------------------------
# nginx: the recorded replies of the Vault test server, over TLS with HTTP/2, on a free port.

say "recording 100 replies of the Vault test server for nginx"
WWW=$T/www/v1/secret/data/bench
mkdir -p "$WWW" "$T/nginx/tmp"
{
    echo "header = \"@$T/etc/root.hdr\""
    for i in $(seq -w 1 100); do
        echo "url = \"$VAULT_ADDR/v1/secret/data/bench/s$i\""
        echo "output = \"$WWW/s$i\""
    done
} >"$T/etc/record.curl"
curl -sS --fail --cacert "$CA" -K "$T/etc/record.curl"
[ "$(find "$WWW" -type f -size +0 | wc -l)" = 100 ] || die "recording the replies failed"

cat >"$T/nginx/nginx.conf" <<EOF
# make bench: one worker, TLS and HTTP/2 on loopback, static files (the recorded replies).
user root root;
worker_processes 1;
error_log $T/nginx/error.log warn;
pid $T/nginx/nginx.pid;
events { worker_connections 512; }
http {
    access_log off;
    default_type application/json;
    client_body_temp_path $T/nginx/tmp/body;
    proxy_temp_path $T/nginx/tmp/proxy;
    fastcgi_temp_path $T/nginx/tmp/fastcgi;
    uwsgi_temp_path $T/nginx/tmp/uwsgi;
    scgi_temp_path $T/nginx/tmp/scgi;
    keepalive_requests 100000;
    http2_max_requests 100000;
    server {
        listen 127.0.0.1:$NGINX_PORT ssl http2;
        ssl_certificate $T/pki/server.pem;
        ssl_certificate_key $T/pki/server.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        root $T/www;
        location / { try_files \$uri =404; }
    }
}
EOF
nginx -p "$T/nginx/" -c "$T/nginx/nginx.conf" -g 'daemon off;' 2>>"$T/nginx/error.log" &
BG_PIDS+=($!)
for ((i = 0; i < 200; i++)); do
    curl -s --cacert "$CA" -o /dev/null "$NGINX_ADDR/v1/secret/data/bench/s001" && break
    kill -0 "${BG_PIDS[-1]}" 2>/dev/null || die "nginx did not start: $(tail -n 3 "$T/nginx/error.log")"
    sleep 0.05
done
[ "$(curl -s --http2 --cacert "$CA" -o /dev/null -w '%{http_version}' "$NGINX_ADDR/v1/secret/data/bench/s001")" = 2 ] ||
    die "nginx does not answer over HTTP/2"

# -------------------------------------------------------------------------------------------
# Bundles: a busybox rootfs (hard links to one template), `runc spec`, then the variant's
# process.args, annotations and hooks.

lbx_make_rootfs "$T/rootfs" "$B" >/dev/null
mkdir -p "$T/rootfs/run/secrets"

# hooks_lockbox [CREATE_RUNTIME_PATH]: the broker as createRuntime and poststop hook, as an
# operator writes them; another createRuntime path (a wrapper) for the RSS measurement.
hooks_lockbox() {
    local create=${1:-$BROKER}
    "$PY" -c '
import json, sys
create, broker, cfg = sys.argv[1:]
def hook(path, stage):
    return {"path": path, "args": [path, "--config", cfg, "hook", stage], "timeout": 30}
print(json.dumps({"createRuntime": [hook(create, "createRuntime")],
                  "poststop": [hook(broker, "poststop")]}))' "$create" "$BROKER" "$CFG"
}

hooks_naive() {
    "$PY" -c '
import json, sys
print(json.dumps({"createRuntime": [{"path": sys.argv[1], "args": sys.argv[1:], "timeout": 30}]}))' \
        "$HERE/naive-hook.sh" "$VAULT_ADDR" "$CA" "$T/etc/root.hdr"
}

# annotations KEY_PREFIX REF_FORMAT N: {"PREFIX.s01": REF(1), ...} with printf's REF_FORMAT.
annotations() {
    "$PY" -c '
import json, sys
prefix, fmt, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
print(json.dumps({"%s.s%02d" % (prefix, i): fmt % i for i in range(1, n + 1)}))' "$@"
}

# bundle ID HOOKS_JSON ANNOTATIONS_JSON ARG...
bundle() {
    local id=$1 hooks=$2 ann=$3 dir=$T/c/$1
    shift 3
    mkdir -p "$dir"
    cp -al "$T/rootfs" "$dir/rootfs"
    runc spec --bundle "$dir"
    "$PY" - "$dir/config.json" "$hooks" "$ann" "$@" <<'EOF'
import json, sys
path, hooks, ann, args = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4:]
with open(path) as f:
    c = json.load(f)
c["process"]["terminal"] = False
c["process"]["args"] = args
c["root"]["readonly"] = False
if ann:
    c["annotations"] = ann
if hooks:
    c["hooks"] = hooks
with open(path, "w") as f:
    json.dump(c, f, indent=1)
EOF
}

# run_ctr BUNDLE ID: `runc run` in the foreground; output in $T/out/ID.{out,err}.
run_ctr() {
    timeout -k 5 120 runc --root "$RUNC_ROOT" run --bundle "$T/c/$1" "$2" \
        >"$T/out/$2.out" 2>"$T/out/$2.err" </dev/null
}

# expect_fds OUT_FILE FIRST N: lbx-testapp printed fd.3=s(FIRST) ... in name order.
expect_fds() {
    local out=$1 first=$2 n=$3 k fd=3 want=$T/out/.want
    : >"$want"
    for ((k = first; k < first + n; k++)); do
        printf 'fd.%d=%s\n' "$fd" "$(value "$(printf 's%03d' "$k")")" >>"$want"
        fd=$((fd + 1))
    done
    [ "$(grep -cxFf "$want" "$out" || true)" = "$n" ]
}

readfds() { # N: lbx-testapp arguments reading fds 3..N+2
    local k
    for ((k = 3; k < 3 + $1; k++)); do
        echo "read-fd:$k"
    done
}

STORE_ANN=$(annotations io.lockbox.secret 'store:s%02d' 10)
VAULT_ANN=$(annotations io.lockbox.secret 'vault:secret/bench/s%03d#value' 10)
NAIVE_ANN=$(annotations naive.secret 'secret/bench/s%03d#value' 10)
LOCKBOX_HOOKS=$(hooks_lockbox)
mapfile -t READ10 < <(readfds 10)

NGINX_ANN=$(annotations io.lockbox.secret 'nginx:secret/bench/s%03d#value' 10)
bundle plain '{}' '{}' /bin/true
bundle norequest "$LOCKBOX_HOOKS" '{}' /bin/true
bundle store "$LOCKBOX_HOOKS" "$STORE_ANN" /lockbox-shim -- /bin/true
bundle vault "$LOCKBOX_HOOKS" "$VAULT_ANN" /lockbox-shim -- /bin/true
bundle nginx "$LOCKBOX_HOOKS" "$NGINX_ANN" /lockbox-shim -- /bin/true
bundle naive "$(hooks_naive)" "$NAIVE_ANN" /bin/true

# lockbox's fetch: the Vault backend with a token file (no login, like curl's header) and
# kv_version 2 (no mount lookup: curl and hvac do not make one either).
fetch_config() { # FILE ADDR
    cat >"$1" <<EOF
{"state_dir": "$T/state-fetch",
 "backends": {"vault": {"type": "vault", "address": "$2", "ca_file": "$CA", "kv_version": 2,
                        "auth": {"method": "token", "token_file": "$T/etc/root-token"}}},
 "roles": [{"name": "default", "allow": ["vault:*"]}]}
EOF
    chmod 0600 "$1"
}
fetch_config "$T/etc/fetch-nginx.json" "$NGINX_ADDR"
fetch_config "$T/etc/fetch-fake.json" "$VAULT_ADDR"
mapfile -t REFS100 < <(for i in $(seq -w 1 100); do echo "s$i=vault:secret/bench/s$i#value"; done)
mapfile -t REFS10 < <(printf '%s\n' "${REFS100[@]:0:10}")

# Each variant once, untimed, with an application that shows what it got: every variant must
# deliver the 10 values before its time means anything. This also logs the broker in once.
say "checking that every variant delivers its secrets"
bundle store-check "$LOCKBOX_HOOKS" "$STORE_ANN" /lockbox-shim -- /bin/lbx-testapp "${READ10[@]}"
bundle vault-check "$LOCKBOX_HOOKS" "$VAULT_ANN" /lockbox-shim -- /bin/lbx-testapp "${READ10[@]}"
bundle nginx-check "$LOCKBOX_HOOKS" "$NGINX_ANN" /lockbox-shim -- /bin/lbx-testapp "${READ10[@]}"
# shellcheck disable=SC2016 # the container's sh expands it
bundle naive-check "$(hooks_naive)" "$NAIVE_ANN" /bin/sh -c \
    'n=3; for f in /run/secrets/s*; do printf "fd.%d=" $n; cat "$f"; echo; n=$((n + 1)); done'
run_ctr plain plain-check || die "runc run without lockbox failed: $(tail -n 3 "$T/out/plain-check.err")"
for v in store vault nginx naive; do
    run_ctr "$v-check" "$v-check" || die "$v: runc run failed: $(tail -n 3 "$T/out/$v-check.err")"
    expect_fds "$T/out/$v-check.out" 1 10 || die "$v: the container did not get its 10 secrets"
done
[ -z "$(ls "$STATE/containers" 2>/dev/null)" ] || die "the broker left a container record behind"

# -------------------------------------------------------------------------------------------
say "1/5 container start: $ROUNDS rounds of plain, norequest, store, vault, nginx, naive and references"
# References, to tell what bounds the hook: a process's start and exit with libc alone, with
# the broker's libraries, with libcurl too (which the broker's fetch child loads for a network
# backend), the broker itself; lockbox's fetch of the same 10 Vault secrets alone.
x_libc() { "$PROBE-libc" none; }
x_nocurl() { "$PROBE-nocurl" none; }
x_curl() { "$PROBE" none; }
x_broker() { "$BROKER" --help >/dev/null; }
x_fetch_fake() { "$FETCH" "$T/etc/fetch-fake.json" "${REFS10[@]}" >/dev/null; }
x_fetch_nginx() { "$FETCH" "$T/etc/fetch-nginx.json" "${REFS10[@]}" >/dev/null; }
for ((r = 0; r < ROUNDS; r++)); do
    for v in $(rotated "$r" plain norequest store vault nginx naive x_libc x_nocurl x_curl x_broker x_fetch_fake x_fetch_nginx); do
        t=$(now_us)
        case $v in
        x_*) "$v" 2>"$T/log/x.err" || die "$v failed: $(tail -n 3 "$T/log/x.err")" ;;
        *) run_ctr "$v" "$v-$r" || die "$v: runc run failed: $(tail -n 3 "$T/out/$v-$r.err")" ;;
        esac
        record_ms "start.$v" "$t"
    done
    rm -f "$T"/out/*-"$r".*
done

# -------------------------------------------------------------------------------------------
say "2/5 fetching 100 secrets: $ROUNDS rounds of lockbox, curl, hvac"
{
    echo "header = \"@$T/etc/root.hdr\""
    for i in $(seq -w 1 100); do
        echo "url = \"$NGINX_ADDR/v1/secret/data/bench/s$i\""
        echo "output = \"/dev/null\""
    done
} >"$T/etc/fetch.curl"

f_lockbox() { "$FETCH" "$T/etc/fetch-nginx.json" "${REFS100[@]}"; }
f_lockbox_privsep() { "$FETCH" --privsep "$T/etc/fetch-nginx.json" "${REFS100[@]}"; }
f_curl() { curl --parallel --parallel-max 100 --http2 -sS --fail --cacert "$CA" -K "$T/etc/fetch.curl"; }
f_hvac() { "$PY" "$HERE/hvac_fetch.py" "$NGINX_ADDR" "$CA" "$T/etc/root-token" 100; }
f_lockbox_fake() { "$FETCH" "$T/etc/fetch-fake.json" "${REFS100[@]}"; }
f_hvac_fake() { "$PY" "$HERE/hvac_fetch.py" "$VAULT_ADDR" "$CA" "$T/etc/root-token" 100; }
FETCHERS=(lockbox lockbox_privsep curl hvac lockbox_fake hvac_fake)

for f in "${FETCHERS[@]}"; do
    out=$("f_$f" 2>"$T/log/fetch.err") || die "fetch $f failed: $(tail -n 3 "$T/log/fetch.err")"
    case $f in
    curl) ;;
    *) [[ $out == "fetched 100 "* ]] || die "fetch $f: $out" ;;
    esac
done
for ((r = 0; r < ROUNDS; r++)); do
    for f in $(rotated "$r" "${FETCHERS[@]}"); do
        t=$(now_us)
        "f_$f" >/dev/null 2>"$T/log/fetch.err" || die "fetch $f failed: $(tail -n 3 "$T/log/fetch.err")"
        record_ms "fetch.$f" "$t"
    done
done

# -------------------------------------------------------------------------------------------
say "3/5 lockbox-shim -- true: $SHIM_ROUNDS rounds of shim, shim --exec, true"
# A tmpfs laid out as the broker lays it out (tests/app/shim-selfcheck.sh does the same): the
# 10 files, then the manifest; the shim reads, verifies, unlinks, unmounts, then runs true.
SRC=$T/shim-src
SDIR=$T/shim-dir
mkdir -p "$SRC" "$SDIR"
entries=
for i in $(seq -w 1 10); do
    v=$(value "s0$i")
    printf '%s' "$v" >"$SRC/s$i"
    chmod 0400 "$SRC/s$i"
    h=$(printf '%s' "$v" | b2sum -l 256 | cut -d' ' -f1)
    entries=${entries:+$entries,}$(printf '{"name":"s%s","file":"s%s","size":%d,"mode":"0400","blake2b":"%s"}' \
        "$i" "$i" "${#v}" "$h")
done
SECRET_BYTES=$(cat "$SRC"/s* | wc -c)
printf '{"version":1,"container":"bench","generation":1,"secrets":[%s]}' "$entries" >"$SRC/.lockbox.json"
place() {
    mount -t tmpfs -o size=1m,mode=0700,nosuid,nodev,noexec lockbox-bench "$SDIR"
    cp -a "$SRC/." "$SDIR/"
}
consumed() {
    ! mountpoint -q "$SDIR" && [ -z "$(ls -A "$SDIR")" ]
}
s_shim() { "$SHIM" --dir "$SDIR" -- /bin/true; }
s_shim_exec() { "$SHIM" --dir "$SDIR" --exec -- /bin/true; }
s_true() { /bin/true; }

place
"$SHIM" --dir "$SDIR" -- "$B/lbx-testapp" "${READ10[@]}" >"$T/out/shim.out" 2>"$T/log/shim.err" ||
    die "lockbox-shim failed: $(tail -n 3 "$T/log/shim.err")"
expect_fds "$T/out/shim.out" 1 10 || die "lockbox-shim did not deliver the 10 secrets"
consumed || die "lockbox-shim left the tmpfs or its files"
for ((r = 0; r < SHIM_ROUNDS; r++)); do
    for s in $(rotated "$r" shim shim_exec true); do
        [ "$s" = true ] || place
        t=$(now_us)
        "s_$s" 2>"$T/log/shim.err" || die "$s failed: $(tail -n 3 "$T/log/shim.err")"
        record_ms "shim.$s" "$t"
        [ "$s" = true ] || consumed || die "$s did not consume the tmpfs"
    done
done

# -------------------------------------------------------------------------------------------
say "4/5 $BURST containers at once: $BURST_ROUNDS rounds of plain and vault (5 secrets each)"
VAULT5_ANN=$(annotations io.lockbox.secret 'vault:secret/bench/s%03d#value' 5)
mapfile -t READ5 < <(readfds 5)
for ((i = 1; i <= BURST; i++)); do
    bundle "bp$i" '{}' '{}' /bin/true
    bundle "bv$i" "$LOCKBOX_HOOKS" "$VAULT5_ANN" /lockbox-shim -- /bin/lbx-testapp "${READ5[@]}"
done
# burst KIND ROUND: start the BURST containers together; record wall time and failures.
burst() {
    local kind=$1 r=$2 i t pids=() failed=0 f
    t=$(now_us)
    for ((i = 1; i <= BURST; i++)); do
        run_ctr "b$kind$i" "b$kind$i-$r" &
        pids+=($!)
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || failed=$((failed + 1))
    done
    record_ms "burst.$kind" "$t"
    if [ "$kind" = v ]; then
        for ((i = 1; i <= BURST; i++)); do
            f=$T/out/bv$i-$r.out
            [ -e "$f" ] && expect_fds "$f" 1 5 || failed=$((failed + 1))
        done
    fi
    echo "$failed" >>"$RES/burst.$kind.failed"
}
for ((r = 0; r < BURST_ROUNDS; r++)); do
    for k in $(rotated "$r" p v); do
        if [ "$k" = v ]; then
            # An empty token cache: the burst itself must log in, once.
            find "$STATE/tokens" -type f ! -name '*.lock' -delete 2>/dev/null || true
            read -r l0 c0 q0 < <(vault_counters)
            u0=$(vault_cpu_ms)
        fi
        burst "$k" "$r"
        if [ "$k" = v ]; then
            u1=$(vault_cpu_ms)
            echo $((u1 - u0)) >>"$RES/burst.vault_cpu"
            read -r l1 c1 q1 < <(vault_counters)
            echo $((l1 - l0)) >>"$RES/burst.logins"
            echo $((c1 - c0)) >>"$RES/burst.connections"
            echo $((q1 - q0)) >>"$RES/burst.requests"
        fi
    done
    rm -f "$T"/out/b[pv]*-"$r".*
done
[ -z "$(ls "$STATE/containers" 2>/dev/null)" ] || die "the bursts left container records behind"

# -------------------------------------------------------------------------------------------
say "5/5 peak RSS: $ROUNDS rounds"
# The broker as its hook runs it, under /usr/bin/time (ru_maxrss of wait4: the broker, or its
# fetch child when that is larger); the shim on a tmpfs of 10 secrets; reference programs.
for v in store vault; do
    cat >"$T/bin/broker-rss-$v" <<EOF
#!/bin/sh
exec /usr/bin/time -f %M -a -o "$RES/rss.raw.broker_$v" "$BROKER" "\$@"
EOF
    chmod 0755 "$T/bin/broker-rss-$v"
done
bundle rss-store "$(hooks_lockbox "$T/bin/broker-rss-store")" "$STORE_ANN" /lockbox-shim -- /bin/true
bundle rss-vault "$(hooks_lockbox "$T/bin/broker-rss-vault")" "$VAULT_ANN" /lockbox-shim -- /bin/true

# rss KEY COMMAND...: one sample of COMMAND's peak RSS, in MiB.
rss() {
    local key=$1 kib
    shift
    /usr/bin/time -f %M -o "$T/log/rss.one" "$@" >/dev/null 2>"$T/log/rss.err" ||
        die "$key: $* failed: $(tail -n 3 "$T/log/rss.err")"
    kib=$(tail -n 1 "$T/log/rss.one")
    calc "$kib / 1024" >>"$RES/rss.$key"
}
m_broker_store() { run_ctr rss-store "rss-store-$1"; }
m_broker_vault() { run_ctr rss-vault "rss-vault-$1"; }
m_shim() {
    place
    rss shim "$SHIM" --dir "$SDIR" -- /bin/true
    consumed || die "the shim did not consume the tmpfs"
}
m_libc() { rss libc "$PROBE-libc" none; }
m_nocurl() { rss nocurl "$PROBE-nocurl" none; }
m_curl_none() { rss curl_none "$PROBE" none; }
m_curl_init() { rss curl_init "$PROBE" init; }
m_curl_get() { rss curl_get "$PROBE" get "$NGINX_ADDR/v1/secret/data/bench/s001" "$CA"; }
m_help() { rss help "$BROKER" --help; }
m_fetch() { rss fetch "$FETCH" "$T/etc/fetch-nginx.json" "${REFS100[@]}"; }
m_curl_cli() { rss curl_cli curl -sS --fail --http2 --cacert "$CA" -o /dev/null "$NGINX_ADDR/v1/secret/data/bench/s001"; }
MEASURES=(broker_store broker_vault shim libc nocurl curl_none curl_init curl_get help fetch curl_cli)
for ((r = 0; r < ROUNDS; r++)); do
    for m in $(rotated "$r" "${MEASURES[@]}"); do
        "m_$m" "$r" || die "$m failed"
    done
done
for v in store vault; do
    grep -q '^[0-9][0-9]*$' "$RES/rss.raw.broker_$v" || die "no RSS recorded for the $v hook"
    [ "$(grep -vc '^[0-9][0-9]*$' "$RES/rss.raw.broker_$v" || true)" = 0 ] ||
        die "the $v hook failed under /usr/bin/time"
    awk '{ print $1 / 1024 }' "$RES/rss.raw.broker_$v" >"$RES/rss.broker_$v"
done

# -------------------------------------------------------------------------------------------
# The table.

section "1. Container start: \`runc run\` of a busybox container running \`true\` (ms)" "× without"
row "without lockbox" start.plain 1 ms "1.00" "" ""
x=$(ratio start.norequest start.plain)
row "lockbox's hooks, no secret asked for (the broker reads config.json and leaves)" start.norequest 1 ms "$(printf '%.2f' "$x")" "" "(comparison)"
x=$(ratio start.store start.plain)
row "lockbox, 10 store secrets (shim as entrypoint)" start.store 1 ms "$(printf '%.2f' "$x")" "≤ 1.25" "$(verdict "$x <= 1.25")"
x=$(ratio start.vault start.plain)
row "lockbox, 10 Vault secrets (test server, TLS, loopback; AppRole, token cached)" start.vault 1 ms "$(printf '%.2f' "$x")" "≤ 1.5" "$(verdict "$x <= 1.5")"
x=$(ratio start.nginx start.plain)
row "lockbox, 10 Vault-shaped secrets from nginx (HTTP/2, TLS, loopback; token file)" start.nginx 1 ms "$(printf '%.2f' "$x")" "" "(comparison)"
x=$(ratio start.naive start.plain)
row "naive hook: bash + curl + jq + tmpfs, same 10 Vault secrets, no shim" start.naive 1 ms "$(printf '%.2f' "$x")" "" "(comparison)"
row "reference: start and exit of a C program linked with libc alone" start.x_libc 1 ms "" "" "(reference)"
row "reference: the same linked with jansson and libsodium (as the broker is)" start.x_nocurl 1 ms "" "" "(reference)"
row "reference: the same with Debian's libcurl too (35 libraries; what the fetch child loads)" start.x_curl 1 ms "" "" "(reference)"
row "reference: \`lockbox-broker --help\`" start.x_broker 1 ms "" "" "(reference)"
row "reference: lockbox's fetch of the 10 Vault secrets alone → Vault test server" start.x_fetch_fake 1 ms "" "" "(reference)"
row "reference: lockbox's fetch of the 10 secrets alone → nginx" start.x_fetch_nginx 1 ms "" "" "(reference)"
note "Each \`runc run\` includes create, the hooks (createRuntime, and poststop at delete), start, the process and delete. The lockbox containers run \`/lockbox-shim -- /bin/true\`, the others \`/bin/true\`. A lockbox container runs the broker twice (createRuntime, poststop); the references show what one start costs before any work, with and without libcurl, and what the fetch alone costs."

section "2. Fetching 100 Vault KV v2 secrets (ms, process start to exit)" "× curl"
row "\`curl --parallel --http2\` → nginx (HTTP/2, TLS)" fetch.curl 1 ms "1.00" "" ""
x=$(ratio fetch.lockbox fetch.curl)
row "lockbox's fetch (lbx-bench-fetch: the broker's backend code) → nginx" fetch.lockbox 1 ms "$(printf '%.2f' "$x")" "≤ 1.2" "$(verdict "$x <= 1.2")"
x=$(ratio fetch.lockbox_privsep fetch.curl)
row "lockbox's fetch in its privsep child, as the hook runs it → nginx" fetch.lockbox_privsep 1 ms "$(printf '%.2f' "$x")" "" "(as the hook)"
x=$(ratio fetch.hvac fetch.curl)
row "python3-hvac script, sequential → nginx (HTTP/1.1 keep-alive)" fetch.hvac 1 ms "$(printf '%.2f' "$x")" "" "(comparison)"
x=$(ratio fetch.lockbox_fake fetch.curl)
row "lockbox's fetch → Vault test server (Python, HTTP/1.1)" fetch.lockbox_fake 1 ms "$(printf '%.2f' "$x")" "" "(comparison)"
x=$(ratio fetch.hvac_fake fetch.curl)
row "python3-hvac script → Vault test server (Python, HTTP/1.1)" fetch.hvac_fake 1 ms "$(printf '%.2f' "$x")" "" "(comparison)"
hv=$(ratio fetch.hvac fetch.lockbox)
hf=$(ratio fetch.hvac_fake fetch.lockbox_fake)
note "nginx serves the replies recorded from the Vault test server as static files, one worker; lockbox reads with a token file and \`kv_version: 2\` (no login, no mount lookup), as curl and hvac do. hvac takes $(printf '%.1f' "$hv")× lockbox's time against nginx and $(printf '%.1f' "$hf")× against the Vault test server (which speaks only HTTP/1.1: lockbox then uses a few kept-alive connections)."

section "3. \`lockbox-shim -- true\` with 10 secrets on a tmpfs (ms, $SHIM_ROUNDS rounds)" "more than true"
row "\`/bin/true\`" shim.true 2 ms "" "" ""
x=$(diff_ms shim.shim shim.true)
row "\`lockbox-shim -- /bin/true\` (supervising, the default)" shim.shim 2 ms "+$(printf '%.2f' "$x") ms" "< 2 ms more" "$(verdict "$x < 2")"
x=$(diff_ms shim.shim_exec shim.true)
row "\`lockbox-shim --exec -- /bin/true\`" shim.shim_exec 2 ms "+$(printf '%.2f' "$x") ms" "" "(comparison)"
note "Each shim run reads and verifies the 10 files and the manifest, unlinks them, unmounts the tmpfs, makes 10 sealed memfds and runs \`/bin/true\`; the tmpfs is laid out again, untimed, before each run."

section "4. $BURST containers started at once, 5 Vault secrets each ($BURST_ROUNDS rounds)" "× without"
row "wall time, $BURST \`runc run\` without lockbox" burst.p 0 ms "1.00" "" ""
x=$(ratio burst.v burst.p)
row "wall time, $BURST \`runc run\` with lockbox (AppRole, empty token cache)" burst.v 0 ms "$(printf '%.2f' "$x")" "" ""
cp "$RES/burst.v.failed" "$RES/failures"
fails=$(awk '{ s += $1 } END { print s }' "$RES/failures")
pfails=$(awk '{ s += $1 } END { print s }' "$RES/burst.p.failed")
row "failed containers per burst with lockbox ($fails in all rounds; without: $pfails)" failures 0 "" "" "0" "$(verdict "$fails == 0")"
lmax=$(sort -g "$RES/burst.logins" | tail -n 1)
row "AppRole logins the Vault test server saw per burst (one role)" burst.logins 0 "" "" "1" "$(verdict "$lmax == 1")"
row "requests the Vault test server answered per burst" burst.requests 0 "" "" "" "(reference)"
row "TLS connections it accepted per burst (HTTP/1.1 only: several per hook)" burst.connections 0 "" "" "" "(reference)"
row "CPU time the Vault test server (Python) used per burst" burst.vault_cpu 0 ms "" "" "(reference)"
note "A failure is a \`runc run\` that did not exit 0 or an application that did not print its 5 values. The token cache is emptied before each burst, so that each burst must log in itself."

section "5. Peak RSS (MiB; wait4's ru_maxrss through /usr/bin/time)" ""
x=$(med rss.broker_store)
row "broker, hook with 10 store secrets" rss.broker_store 2 MiB "" "< 8 MiB" "$(verdict "$x < 8")"
x=$(med rss.broker_vault)
row "broker, hook with 10 Vault secrets (or its fetch child)" rss.broker_vault 2 MiB "" "< 8 MiB" "$(verdict "$x < 8")"
x=$(med rss.shim)
lim=$(calc "2 + $SECRET_BYTES / 1048576")
row "lockbox-shim, 10 secrets ($SECRET_BYTES bytes), supervising \`/bin/true\`" rss.shim 2 MiB "" "< 2 MiB + secrets" "$(verdict "$x < $lim")"
row "reference: a C program linked with libc alone, exits at once" rss.libc 2 MiB "" "" "(reference)"
row "reference: linked with jansson and libsodium (as the broker is), exits at once" rss.nocurl 2 MiB "" "" "(reference)"
row "reference: the same with Debian's libcurl too (35 libraries), exits at once" rss.curl_none 2 MiB "" "" "(reference)"
row "reference: the same, after \`curl_global_init()\` (OpenSSL, nghttp2)" rss.curl_init 2 MiB "" "" "(reference)"
row "reference: the same, one HTTPS GET over HTTP/2 (nginx)" rss.curl_get 2 MiB "" "" "(reference)"
row "reference: \`curl\` (the tool), one HTTPS GET over HTTP/2 (nginx)" rss.curl_cli 2 MiB "" "" "(reference)"
row "reference: \`lockbox-broker --help\`" rss.help 2 MiB "" "" "(reference)"
row "reference: lbx-bench-fetch, 100 Vault secrets from nginx" rss.fetch 2 MiB "" "" "(reference)"

# -------------------------------------------------------------------------------------------
# The machine, and the document.

pkgver() {
    dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"
}
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
commit=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo "?")
if [ -n "$(git -C "$TOP" status --porcelain -- broker common shim 2>/dev/null)" ]; then
    commit="$commit (+ uncommitted changes in broker/, common/ or shim/)"
fi
elapsed=$((($(date +%s%N) - T0) / 1000000000))
HEADER=$T/header.md
cat >"$HEADER" <<EOF
Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`make bench\` in ${elapsed} s (build included), commit $commit.
Each figure is the median of its rounds ($ROUNDS unless said), with min and max; within a round
the variants of a comparison run one after another, their order rotated from round to round.
A ratio (×) or difference is the median of the per-round ratios (differences) of the two
variants, which pairs samples taken moments apart.
Load average (1 min) when the run started: $LOAD_BEFORE (at its end: $(cut -d' ' -f1 /proc/loadavg), raised by the
bursts of section 4 themselves); anything else running on the machine shows in the max, and in
the medians while it lasts.

| machine | |
|---|---|
| CPU | $cpu, $(nproc) cores |
| memory | $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) |
| kernel | $(uname -r) |
| Debian | $(cat /etc/debian_version) |
| runc | $(runc --version | awk 'NR == 1 { print $3 }') |
| libcurl, OpenSSL, nghttp2 | $(pkgver libcurl4), $(pkgver libssl3), $(pkgver libnghttp2-14) |
| nginx, curl, python3-hvac | $(pkgver nginx), $(pkgver curl), $(pkgver python3-hvac) |
| build | \`make O=$(basename "$(dirname "$B")")/$(basename "$B") all\`: the release flags, \`-O2 -g\`, hardening as shipped (static-pie shim) |
EOF

echo
cat "$HEADER" "$TABLE"

BEGIN_MARK='<!-- BEGIN make bench: generated by tests/bench/run.sh, replaced on each run -->'
END_MARK='<!-- END make bench -->'
if [ "$DOC" != - ]; then
    mkdir -p "$(dirname "$DOC")"
    { echo "$BEGIN_MARK"; cat "$HEADER" "$TABLE"; echo; echo "$END_MARK"; } >"$T/block.md"
    if [ -f "$DOC" ] && grep -qF "$BEGIN_MARK" "$DOC" && grep -qF "$END_MARK" "$DOC"; then
        awk -v b="$BEGIN_MARK" -v e="$END_MARK" -v f="$T/block.md" '
            $0 == b { while ((getline l < f) > 0) print l; skip = 1; next }
            $0 == e { skip = 0; next }
            !skip' "$DOC" >"$T/doc.new"
    else
        {
            echo "# Benchmarks"
            echo
            echo "\`make bench\` measures DESIGN §12's targets on the machine it runs on. The part between"
            echo "the markers below is written by it; the rest is written by hand."
            echo
            cat "$T/block.md"
            echo
            echo "## What bounds each figure"
            echo
            echo "(to be written by hand)"
        } >"$T/doc.new"
    fi
    cat "$T/doc.new" >"$DOC"
    say "table written to ${DOC#"$TOP"/}"
fi
say "done in ${elapsed} s"
