# shellcheck shell=bash
# tests/bench/lib/engine.sh — how samples are taken: messages, the clock, the interleaving of
# the variants of a comparison, and waiting for the previous variant's background work.

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

# now_us: microseconds, without a fork (the clock read costs every variant the same).
now_us() {
    local t=$EPOCHREALTIME
    echo $((10#${t/./}))
}

# record_ms KEY START_US: the time since START_US, in ms, appended to $RES/KEY.
record_ms() {
    local t=$EPOCHREALTIME us
    us=$((10#${t/./} - $2))
    printf '%d.%03d\n' $((us / 1000)) $((us % 1000)) >>"$RES/$1"
}

# calc EXPR: floating point arithmetic (awk).
calc() {
    awk "BEGIN { print $* }"
}

# settle: wait (up to 5 s) until no watcher of ours runs: the background work a lockbox
# container leaves when `runc run` returns is its own, not the next variant's. The time spent
# waiting is not measured; WAITED counts the samples that had to wait, WAITED_MS how long.
WAITED=0
WAITED_MS=0
settle() {
    local i p busy t0=${EPOCHREALTIME/./}
    [ "$SETTLE" = 1 ] || return 0
    for ((i = 0; i < 500; i++)); do
        busy=
        for p in $(pgrep -x lockbox-watch || true); do
            if tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -qF "$T/"; then
                busy=1
                break
            fi
        done
        if [ -z "$busy" ]; then
            if [ "$i" -gt 0 ]; then
                WAITED=$((WAITED + 1))
                WAITED_MS=$((WAITED_MS + (${EPOCHREALTIME/./} - t0) / 1000))
            fi
            return 0
        fi
        sleep 0.01
    done
    say "a watcher is still running after 5 s; measuring anyway"
}

# order R VARIANT...: sets ORDER, the variants of round R. BENCH_ORDER=shuffle (the default):
# a Fisher-Yates shuffle from bash's RANDOM, seeded once with $SEED, so that no variant always
# follows the same one. BENCH_ORDER=rotate: the list rotated left by R, the order of the
# bench before issue 15, kept to show its bias (each variant then always follows the same
# one, and inherits what that one leaves behind).
ORDER=()
order() {
    local r=$1 n i j tmp
    shift
    ORDER=("$@")
    n=$#
    if [ "$BENCH_ORDER" = rotate ]; then
        ORDER=()
        for ((i = 0; i < n; i++)); do
            ORDER+=("${@:$(((r + i) % n + 1)):1}")
        done
        return
    fi
    for ((i = n - 1; i > 0; i--)); do
        j=$((RANDOM % (i + 1)))
        tmp=${ORDER[i]}
        ORDER[i]=${ORDER[j]}
        ORDER[j]=$tmp
    done
}

# interleave GROUP ROUNDS VARIANT...: $WARMUP untimed rounds, then ROUNDS timed ones; each round
# runs every VARIANT once, in the order of `order`. A variant V is the function GROUP_V,
# called with the round (negative in warm-up) and timed from call to return; GROUP_V_before and
# GROUP_V_after, where defined, run untimed around it (laying out a tmpfs, reading a server's
# counters). GROUP_round_end, where defined, runs after each round. Samples go to
# $RES/GROUP.V, line N for round N, so that the rows can pair the variants round by round.
interleave() {
    local group=$1 rounds=$2 r v t
    shift 2
    WAITED=0
    WAITED_MS=0
    for ((r = -WARMUP; r < rounds; r++)); do
        order "$((r + WARMUP))" "$@"
        for v in "${ORDER[@]}"; do
            settle
            if declare -F "${group}_${v}_before" >/dev/null; then
                "${group}_${v}_before" "$r" || die "$group $v: preparing round $r failed"
            fi
            t=${EPOCHREALTIME/./}
            "${group}_$v" "$r" || die "$group $v failed in round $r"
            [ "$r" -lt 0 ] || record_ms "$group.$v" "$((10#$t))"
            if declare -F "${group}_${v}_after" >/dev/null; then
                "${group}_${v}_after" "$r" || die "$group $v: checking round $r failed"
            fi
        done
        if declare -F "${group}_round_end" >/dev/null; then
            "${group}_round_end" "$r"
        fi
    done
    [ "$WAITED" = 0 ] || say "$group: $WAITED samples waited for a watcher of the previous one ($WAITED_MS ms in all, not measured)"
    echo "$WAITED $WAITED_MS" >"$RES/$group.settled"
}
