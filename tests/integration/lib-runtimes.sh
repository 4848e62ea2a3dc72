# shellcheck shell=sh
# shellcheck disable=SC2034 # the variables set here are for the tests that source this file
# Helpers for the runtime suites (20-29: Docker, Podman, crun), sourced by them:
#   . "$(dirname "$0")/lib-runtimes.sh"; rt_init NAME "$@"; rt_require PKG CMD...; ...; rt_finish
# Each suite works in its own mktemp directory: broker config, store, state, and every daemon's
# and runtime's state under it; daemons are stopped by pid. Output: one line a check ("ok ..."
# or "FAIL ..."), then "N passed, M failed"; exit 0 when all passed, 1 when not, 77 (skipped,
# with the reason printed) when the runtime's package cannot be installed.

# rt_init NAME [BUILD_DIR]: T (work dir), B, RT, SHIM, APP (binaries), CONF (broker config),
# STATE (state dir), AUDIT, SECRET (a random value stored as store:db), ROOTFS and ROOTFS_TAR
# (busybox, /lockbox-shim, /bin/lbx-testapp, /run/secrets).
rt_init() {
    RT_NAME=$1
    RT_BUILD=$(cd "${2:-build}" 2>/dev/null && pwd) || RT_BUILD=${2:-build}
    RT_HERE=$(cd "$(dirname "$0")" && pwd)
    B=$RT_BUILD/lockbox-broker
    RT=$RT_BUILD/lockbox-runtime
    SHIM=$RT_BUILD/lockbox-shim
    APP=$RT_BUILD/lbx-testapp
    PASS=0
    FAIL=0
    RT_CLEANUPS=""
    RT_START=$(date +%s)
    for x in "$B" "$RT" "$SHIM" "$APP"; do
        if [ ! -x "$x" ]; then
            echo "$RT_NAME: $x is missing (make)"
            echo "0 passed, 1 failed"
            exit 1
        fi
    done
    if [ "$(id -u)" != 0 ]; then
        echo "$RT_NAME: needs root (container runtimes, mount namespaces)"
        echo "0 passed, 1 failed"
        exit 1
    fi
    T=$(mktemp -d "${TMPDIR:-/tmp}/lbx-$RT_NAME.XXXXXX") || exit 1
    chmod 755 "$T"
    trap rt_cleanup EXIT
    trap 'exit 1' HUP INT TERM
    mkdir -p "$T/etc" "$T/store" "$T/state"
    chmod 700 "$T/store" "$T/state"
    STATE=$T/state
    AUDIT=$T/audit.log
    CONF=$T/etc/broker.json
    SECRET="lbx-canary-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
    cat >"$CONF" <<EOF
{"state_dir": "$STATE", "audit_log": "$AUDIT",
 "backends": {"store": {"type": "store", "dir": "$T/store", "key_file": "$T/etc/store.key"}},
 "roles": [{"name": "default", "allow": ["store:*"]}]}
EOF
    chmod 644 "$CONF"
    "$B" --config "$CONF" store init >/dev/null 2>&1 || rt_abort "store init failed"
    printf '%s' "$SECRET" | "$B" --config "$CONF" store put db >/dev/null 2>&1 ||
        rt_abort "store put failed"
    rt_make_rootfs
}

rt_make_rootfs() {
    ROOTFS=$T/rootfs
    ROOTFS_TAR=$T/rootfs.tar
    bb=$(command -v busybox) || rt_abort "busybox is missing (make deps: busybox-static)"
    mkdir -p "$ROOTFS/bin" "$ROOTFS/dev" "$ROOTFS/etc" "$ROOTFS/proc" "$ROOTFS/sys" \
        "$ROOTFS/tmp" "$ROOTFS/run/secrets"
    chmod 1777 "$ROOTFS/tmp"
    cp "$bb" "$ROOTFS/bin/busybox"
    for a in $("$ROOTFS/bin/busybox" --list); do
        [ "$a" = busybox ] || ln -s busybox "$ROOTFS/bin/$a"
    done
    cp "$SHIM" "$ROOTFS/lockbox-shim"
    cp "$APP" "$ROOTFS/bin/lbx-testapp"
    printf 'root:x:0:0:root:/:/bin/sh\n' >"$ROOTFS/etc/passwd"
    printf 'root:x:0:\n' >"$ROOTFS/etc/group"
    tar -C "$ROOTFS" -cf "$ROOTFS_TAR" . || rt_abort "cannot tar the rootfs"
}

# rt_require PKG CMD...: install PKG when a CMD is missing (tests/deps.sh); skip when that fails.
rt_require() {
    pkg=$1
    shift
    for c in "$@"; do
        [ -x "$c" ] || command -v "$c" >/dev/null 2>&1 && continue
        if ! "$RT_HERE/../deps.sh" "$pkg" >"$T/deps.log" 2>&1; then
            echo "$RT_NAME: SKIPPED: package $pkg cannot be installed: $(tail -n 1 "$T/deps.log")"
            exit 77
        fi
        [ -x "$c" ] || command -v "$c" >/dev/null 2>&1 && continue
        echo "$RT_NAME: SKIPPED: package $pkg installed but $c is missing"
        exit 77
    done
}

# rt_on_exit COMMAND: run COMMAND (a function name) at cleanup, last registered first.
rt_on_exit() {
    RT_CLEANUPS="$1 $RT_CLEANUPS"
}

rt_abort() {
    echo "$RT_NAME: setup: $*"
    FAIL=$((FAIL + 1))
    rt_finish
}

ok() {
    PASS=$((PASS + 1))
    echo "ok $*"
}

bad() {
    FAIL=$((FAIL + 1))
    echo "FAIL $*"
}

# check DESCRIPTION COMMAND...: ok when COMMAND succeeds.
check() {
    d=$1
    shift
    if "$@"; then ok "$d"; else bad "$d"; fi
}

# has FILE STRING / hasnt FILE STRING: a fixed string in a file (binary files too).
has() { grep -aqF -- "$2" "$1"; }
hasnt() { ! grep -aqF -- "$2" "$1"; }

# no_secret_under DIR...: the value appears in no file under these directories.
no_secret_under() {
    ! grep -raqF -- "$SECRET" "$@" 2>/dev/null
}

# no_state_left: every container's state was forgotten (poststop or revoke ran).
no_state_left() {
    [ -z "$(ls -A "$STATE/containers" 2>/dev/null)" ]
}

# no_host_tmpfs: no secrets tmpfs of ours is left in the host's mount table (the daemons mount
# other things under T).
no_host_tmpfs() {
    ! awk -v t="$T/" 'index($5, t) == 1 && $5 ~ /\/run\/secrets$/' /proc/self/mountinfo |
        grep -q .
}

rt_finish() {
    echo "$RT_NAME: $(($(date +%s) - RT_START)) s"
    echo "$PASS passed, $FAIL failed"
    [ "$FAIL" -eq 0 ] && exit 0
    exit 1
}

rt_cleanup() {
    for f in $RT_CLEANUPS; do
        "$f"
    done
    # revoke stops each container's watcher and forgets it.
    for f in "$STATE"/containers/*.json; do
        [ -e "$f" ] || continue
        id=${f##*/}
        "$B" --config "$CONF" revoke "${id%.json}" >/dev/null 2>&1
    done
    grep -F " $T/" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r m; do
        umount -l "$m" 2>/dev/null
    done
    [ -n "${RT_KEEP_T:-}" ] && echo "kept $T" && return; rm -rf "$T"
}

# rt_wait_for SECONDS COMMAND...: poll every 50 ms until COMMAND succeeds.
rt_wait_for() {
    n=$(($1 * 20))
    shift
    while [ "$n" -gt 0 ]; do
        "$@" && return 0
        sleep 0.05
        n=$((n - 1))
    done
    return 1
}

# rt_stop_pid PID SECONDS: TERM, wait, then KILL.
rt_stop_pid() {
    [ -n "$1" ] || return 0
    kill -TERM "$1" 2>/dev/null || return 0
    rt_wait_for "$2" rt_gone "$1" || kill -KILL "$1" 2>/dev/null
    rt_wait_for 5 rt_gone "$1"
}
rt_gone() { ! kill -0 "$1" 2>/dev/null; }
