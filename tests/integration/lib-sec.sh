# shellcheck shell=bash
# shellcheck disable=SC2034 # HOOK_RC, CPID: for the tests that source this file
# tests/integration/lib-sec.sh — what the adversarial and no-residue tests (60-69) add to
# lib.sh, sourced after it:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/lib-sec.sh"
#
# A fake container (a process in a mount namespace of its own, its rootfs not pivoted yet:
# exactly what runc shows a createRuntime hook) lets a test run the real hook on hundreds of
# hostile images in seconds; lockbox's own tmpfs mounts are found in any namespace by their
# source, "lockbox" (tmpfs.c names it so), whatever options the kernel has (noswap is 6.4+).

ADV=$LOCKBOX_BUILD/lbx-adversary
[ -x "$ADV" ] || die "$ADV is missing (make)"

# fake_container ROOTFS [proc]: sets CPID. With "proc", a procfs is mounted at ROOTFS/proc in
# the namespace first, as runc does before createRuntime.
fake_container() {
    local root=$1 i c
    mkdir -p "$root/proc"
    if [ "${2:-}" = proc ]; then
        # shellcheck disable=SC2016 # $1 is the inner shell's
        unshare --mount --propagation private --pid --fork --kill-child sh -c \
            'mount -t proc proc "$1/proc" && exec sleep 600' sh "$root" 2>/dev/null &
    else
        unshare --mount --propagation private sleep 600 2>/dev/null &
    fi
    CPID=$!
    BG_PIDS+=("$CPID")
    if [ "${2:-}" = proc ]; then
        # The process in the namespace is unshare's child (--fork).
        for ((i = 0; i < 200; i++)); do
            c=$(cut -d' ' -f1 "/proc/$CPID/task/$CPID/children" 2>/dev/null || true)
            if [ -n "$c" ] && grep -qs " $root/proc " "/proc/$c/mountinfo"; then
                CPID=$c
                BG_PIDS+=("$CPID")
                return 0
            fi
            sleep 0.01
        done
        die "fake container: procfs not mounted"
    fi
    for ((i = 0; i < 200; i++)); do
        [ "$(readlink "/proc/$CPID/ns/mnt")" = "$(readlink /proc/self/ns/mnt)" ] || return 0
        sleep 0.01
    done
    die "fake container: no mount namespace"
}

# fake_stop: end the last fake container (quietly: bash reports a job killed by a signal).
fake_stop() {
    local p
    for p in "${BG_PIDS[@]: -2}"; do
        { kill -KILL "$p" && wait "$p"; } 2>/dev/null || true
    done
}

# fake_bundle DIR ANNOTATIONS_JSON [ENV_JSON]: the config.json a hook reads (rootfs at
# DIR/rootfs).
fake_bundle() {
    mkdir -p "$1/rootfs"
    cat >"$1/config.json" <<EOF
{"ociVersion": "1.0.2",
 "process": {"user": {"uid": 0, "gid": 0}, "args": ["/bin/sh"], "cwd": "/",
             "env": ${3:-[\"PATH=/bin\"]}},
 "root": {"path": "rootfs"},
 "annotations": $2}
EOF
}

# hook_run ID PID BUNDLE [BROKER_OPTION...]: the createRuntime hook as runc runs it, with the
# state on stdin. Output (stdout and stderr) in $T/hook.out, status in HOOK_RC.
hook_run() {
    local id=$1 pid=$2 bundle=$3
    shift 3
    HOOK_RC=0
    printf '{"ociVersion":"1.0.2","id":"%s","status":"creating","pid":%s,"bundle":"%s"}' \
        "$id" "$pid" "$bundle" |
        timeout 30 "$BROKER" --config "$CFG" --state-dir "$STATE" "$@" hook createRuntime \
            >"$T/hook.out" 2>&1 || HOOK_RC=$?
}

# lockbox_mounts [PID]: mount points of lockbox's tmpfs mounts in PID's mount namespace (self:
# ours): filesystem type tmpfs, source "lockbox" (the fields after the " - " separator).
lockbox_mounts() {
    awk '{
        for (i = 7; $i != "-"; i++) ;
        if ($(i + 1) == "tmpfs" && $(i + 2) == "lockbox") print $5
    }' "/proc/${1:-self}/mountinfo" 2>/dev/null || true
}

# one_line FILE: exactly one line, from the broker (a clear error, no crash, no stack).
one_line() {
    [ "$(wc -l <"$1")" -eq 1 ] && grep -q '^lockbox-broker: ' "$1"
}

# nothing_left ID PID: no state, no watcher of ours, no lockbox tmpfs in PID's namespace or
# ours.
nothing_left() {
    [ ! -e "$STATE/containers/$1.json" ] && [ -z "$(lockbox_mounts "$2")" ] &&
        [ -z "$(lockbox_mounts self)" ] && [ -z "$(our_watchers)" ]
}

# wait_gone PID [SECONDS]
wait_gone() {
    local i
    for ((i = 0; i < ${2:-10} * 50; i++)); do
        [ -d "/proc/$1" ] || return 0
        sleep 0.02
    done
    return 1
}

# adversary_bundle ID ARG...: make_bundle with lbx-adversary in /bin.
adversary_bundle() {
    make_bundle "$@"
    cp "$ADV" "$(bundle_of "$1")/rootfs/bin/lbx-adversary"
}
