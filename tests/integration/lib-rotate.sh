# shellcheck shell=bash
# tests/integration/lib-rotate.sh — helpers of the rotation tests (5N-*.sh), sourced after
# lib.sh. Output lines are matched in bash itself: a value given to grep would sit in its argv.

# has_out ID LINE: does ID's stdout have LINE (whole line)?
has_out() {
    local line
    [ -e "$T/out/$1.out" ] || return 1
    while IFS= read -r line; do
        [ "$line" = "$2" ] && return 0
    done <"$T/out/$1.out"
    return 1
}

# count_out ID LINE: how many times ID's stdout has LINE.
count_out() {
    local line n=0
    [ -e "$T/out/$1.out" ] || { echo 0; return; }
    while IFS= read -r line; do
        [ "$line" = "$2" ] && n=$((n + 1))
    done <"$T/out/$1.out"
    echo "$n"
}

# wait_out ID LINE [SECONDS]: until ID's stdout has LINE (10 s by default).
wait_out() {
    local i
    for ((i = 0; i < ${3:-10} * 20; i++)); do
        has_out "$1" "$2" && return 0
        sleep 0.05
    done
    return 1
}

# mounts_in PID DIR: DIR's mount entries in PID's mount namespace (empty when not mounted).
mounts_in() {
    awk -v d="$2" '$5 == d' "/proc/$1/mountinfo" 2>/dev/null || true
}

# wait_unmounted PID DIR: until DIR is no mount point in PID's namespace (5 s at most).
wait_unmounted() {
    local i
    for ((i = 0; i < 100; i++)); do
        [ -z "$(mounts_in "$1" "$2")" ] && return 0
        sleep 0.05
    done
    return 1
}

# record ID FIELD: a top-level field of the container's state record ("" when absent).
record() {
    "$PY" - "$STATE/containers/$1.json" "$2" <<'PYEOF'
import json, sys
try:
    v = json.load(open(sys.argv[1])).get(sys.argv[2])
except FileNotFoundError:
    v = None
print("" if v is None else json.dumps(v) if not isinstance(v, str) else v)
PYEOF
}

# wait_record ID FIELD VALUE: until the record's FIELD is VALUE (5 s at most).
wait_record() {
    local i
    for ((i = 0; i < 100; i++)); do
        [ "$(record "$1" "$2")" = "$3" ] && return 0
        sleep 0.05
    done
    return 1
}
