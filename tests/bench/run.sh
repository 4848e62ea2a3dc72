#!/bin/bash
# tests/bench/run.sh BUILD_DIR — the measurements of `make bench` (DESIGN §12), on this machine:
#
#   1. `runc run` of a busybox container: bare (twice), two hooks that do nothing (the floor),
#      lockbox's hooks asking for nothing, 10 store secrets, 1 and 10 Vault secrets (the Python
#      test server, and the same behind nginx's TLS and HTTP/2 front), 10 from nginx's recorded
#      replies, the naive hook.
#   2. 100 Vault secrets: lockbox's fetch against `curl --parallel --http2` (twice) and hvac.
#   3. `lockbox-shim -- true` with 10 secrets against `true` (twice).
#   4. 50 containers at once with 5 Vault secrets each against 50 bare (twice): wall time,
#      failures, logins and TLS connections per burst.
#   5. Peak RSS of the broker's hook and the shim, and of reference programs.
#
# Every comparison runs its variants interleaved, in an order shuffled afresh each round, after
# a warm-up round; each group has an A/A pair (its reference twice) that shows its noise; each
# ratio is the median of per-round ratios; a figure below what it contains is flagged as a
# measurement error (lib/stats.sh, lib/table.sh; tests/bench/selftest.sh checks that logic).
# The rows live in rows/ (one file a group; rows/agent.sh is where the fetch agent's rows plug
# in); the table goes to stdout and between the markers of docs/BENCHMARKS.md.
#
# Everything runs under one temporary directory, removed on exit with every container, mount,
# watcher and server it started. Environment: BENCH_ROUNDS (default 15), BENCH_BURST_ROUNDS
# (10), BENCH_BURST (containers a burst, 50), BENCH_QUICK=1 (3 rounds, 2 bursts of 10: that the
# bench runs, not what lockbox costs; also when BENCH_ROUNDS < 10), BENCH_SEED (the shuffle's
# seed), BENCH_ORDER=rotate (the order of the bench before issue 15, to show its bias),
# BENCH_GROUPS (some of "start fetch shim burst rss": only those; the table then has only
# their sections), BENCH_WARMUP (untimed rounds a group, 1), BENCH_SETTLE=0 (do not wait for
# the previous sample's watchers; with BENCH_WARMUP=0 and BENCH_ORDER=rotate: the old method),
# BENCH_DOC (default docs/BENCHMARKS.md, "-" in quick mode; "-": stdout only).
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
T0=${LBX_BENCH_T0:-$(date +%s%N)}

QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
    ROUNDS=${BENCH_ROUNDS:-3}
else
    ROUNDS=${BENCH_ROUNDS:-15}
fi
[ "$ROUNDS" -ge 10 ] || QUICK=1
if [ "$QUICK" = 1 ]; then
    BURST_ROUNDS=${BENCH_BURST_ROUNDS:-2}
    BURST=${BENCH_BURST:-10}
    DOC=${BENCH_DOC:--}
else
    BURST_ROUNDS=${BENCH_BURST_ROUNDS:-10}
    BURST=${BENCH_BURST:-50}
    DOC=${BENCH_DOC:-$TOP/docs/BENCHMARKS.md}
fi
SHIM_ROUNDS=$((ROUNDS * 5))
WARMUP=${BENCH_WARMUP:-1}
SETTLE=${BENCH_SETTLE:-1}
BENCH_ORDER=${BENCH_ORDER:-shuffle}
GROUPS_RUN=${BENCH_GROUPS:-start fetch shim burst rss}
SEED=${BENCH_SEED:-$((10#$(date +%N) % 32768))}
RANDOM=$SEED

# shellcheck source=tests/bench/lib/engine.sh
. "$HERE/lib/engine.sh"
# shellcheck source=tests/bench/lib/stats.sh
. "$HERE/lib/stats.sh"
# shellcheck source=tests/bench/lib/table.sh
. "$HERE/lib/table.sh"
# shellcheck source=tests/bench/lib/doc.sh
. "$HERE/lib/doc.sh"
# shellcheck source=tests/bench/lib/servers.sh
. "$HERE/lib/servers.sh"
# shellcheck source=tests/bench/lib/bundles.sh
. "$HERE/lib/bundles.sh"
# shellcheck source=tests/bench/rows/agent.sh
. "$HERE/rows/agent.sh"
# shellcheck source=tests/bench/rows/start.sh
. "$HERE/rows/start.sh"
# shellcheck source=tests/bench/rows/fetch.sh
. "$HERE/rows/fetch.sh"
# shellcheck source=tests/bench/rows/shim.sh
. "$HERE/rows/shim.sh"
# shellcheck source=tests/bench/rows/burst.sh
. "$HERE/rows/burst.sh"
# shellcheck source=tests/bench/rows/rss.sh
. "$HERE/rows/rss.sh"
# shellcheck source=tests/integration/rootfs.sh
. "$TOP/tests/integration/rootfs.sh"
trap 'say "line $LINENO: \`$BASH_COMMAND\` exited $?"' ERR

[ "$(id -u)" = 0 ] || die "needs root (runc, mounts)"
case $BENCH_ORDER in shuffle | rotate) ;; *) die "BENCH_ORDER is shuffle or rotate" ;; esac
for g in $GROUPS_RUN; do
    case $g in start | fetch | shim | burst | rss) ;; *) die "BENCH_GROUPS: no group '$g' (start fetch shim burst rss)" ;; esac
done
for x in "$BROKER" "$SHIM" "$FETCH" "$PROBE" "$PROBE-libc" "$PROBE-nocurl" "$B/lbx-testapp"; do
    [ -x "$x" ] || die "$x is missing (make bench builds it)"
done
for c in runc nginx curl jq nsenter pgrep /usr/bin/time busybox openssl b2sum "$PY"; do
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
TABLE=$T/table.md
BG_PIDS=()
mkdir -p "$RES" "$T/etc" "$T/log" "$T/c" "$T/out" "$T/bin" "$T/nginx"
chmod 0700 "$T/etc"
: >"$TABLE"
# The state directory (records, token cache) on a tmpfs, as /run is where lockbox runs (on this
# machine /run is on the disk, where the state's fsyncs would cost what they cost nowhere else).
mkdir -p "$T/run"
mount -t tmpfs -o size=64m,mode=0755 lockbox-bench-run "$T/run"

# Cleanup: containers, the broker's records (revoke stops watchers), fetch agents, servers,
# mounts, files.
cleanup() {
    local rc=$? p
    set +eE
    trap - ERR
    lbx_stop_all "$RUNC_ROOT" "$STATE" "$BROKER" "$CFG"
    agent_cleanup
    for p in $(our_agents); do
        kill -TERM "$p" 2>/dev/null
    done
    for p in "${BG_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in "${BG_PIDS[@]}" $(our_watchers) $(our_agents); do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    lbx_umount_under "$T"
    rm -rf "$T"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

servers_start
bundles_init
start_setup
fetch_setup
shim_setup
agent_setup
say "order: $BENCH_ORDER (seed $SEED), $WARMUP warm-up round(s) a group, settle $SETTLE"

for g in $GROUPS_RUN; do
    "${g}_run"
done
for g in $GROUPS_RUN; do
    "${g}_table"
done

doc_header "$T/header.md"
doc_write "$T/header.md" "$TABLE"
say "done in $((($(date +%s%N) - T0) / 1000000000)) s"
