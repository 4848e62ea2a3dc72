# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are for the tests that source this file
# What the runtime suites (20-29: Docker, Podman, crun) add to lib.sh, sourced after it:
#   . "$(dirname "$0")/lib.sh"; . "$(dirname "$0")/lib-runtimes.sh"
#   rt_require PKG CMD...; rt_on_exit FUNCTION; ...; finish
# Each daemon's and runtime's state lives under $T; daemons are stopped by pid from the
# functions given to rt_on_exit, which run before lib.sh's own cleanup. A suite is skipped
# (exit 77, with the reason) only when its runtime's package cannot be installed.

RT=$LOCKBOX_BUILD/lockbox-runtime
[ -x "$RT" ] || die "$RT is missing (make)"
RT_CLEANUPS=()

# SECRET: the value stored as store:db; ROOTFS, ROOTFS_TAR: the test rootfs (lib.sh's template
# with /run/secrets, for read-only rootfs and for image diffs without the broker's mkdir).
SECRET=$(new_secret)
put_secret db "$SECRET"
ROOTFS=$T/rootfs
make_rootfs "$ROOTFS"
mkdir -p "$ROOTFS/run/secrets"
ROOTFS_TAR=$T/rootfs.tar
tar -C "$ROOTFS" -cf "$ROOTFS_TAR" . || die "cannot tar the rootfs"

# rt_require PKG CMD...: install PKG when a CMD is missing (tests/deps.sh); skip when that fails.
rt_require() {
    local pkg=$1 c
    shift
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 && continue
        if ! "$LBX_IT_DIR/../deps.sh" "$pkg" >"$T/deps.log" 2>&1; then
            skip "package $pkg cannot be installed: $(tail -n 1 "$T/deps.log")"
        fi
        command -v "$c" >/dev/null 2>&1 || skip "package $pkg is installed but $c is missing"
    done
}

# rt_on_exit FUNCTION: run FUNCTION at exit (last registered first), before lib.sh's cleanup.
rt_on_exit() {
    RT_CLEANUPS=("$1" "${RT_CLEANUPS[@]}")
}
rt_cleanup() {
    local f
    for f in "${RT_CLEANUPS[@]}"; do
        "$f"
    done
}
# lbx_cleanup takes the exit status from $?: hand it on through a list, where a non-zero status
# trips neither set -e nor the ERR trap.
rt_exit() {
    local rc=$?
    set +eE
    trap - ERR
    rt_cleanup
    (exit "$rc") || lbx_cleanup
    lbx_cleanup
}
trap rt_exit EXIT

# has FILE STRING / hasnt FILE STRING: a fixed string in a file (binary files too).
has() { grep -aqF -- "$2" "$1"; }
hasnt() { ! grep -aqF -- "$2" "$1"; }

# no_secret_under DIR...: the value appears in no file under these directories.
no_secret_under() { ! grep -raqF -- "$SECRET" "$@" 2>/dev/null; }

# no_state_left: every container's state was forgotten (poststop or revoke ran).
no_state_left() { [ -z "$(ls -A "$STATE/containers" 2>/dev/null)" ]; }

# no_host_tmpfs: no secrets tmpfs of ours in the host's mount table (the daemons mount other
# things under T).
no_host_tmpfs() {
    ! awk -v t="$T/" 'index($5, t) == 1 && $5 ~ /\/run\/secrets$/' /proc/self/mountinfo |
        grep -q .
}

# rt_wait_for SECONDS COMMAND...: poll every 50 ms until COMMAND succeeds.
rt_wait_for() {
    local n=$(($1 * 20))
    shift
    while [ "$n" -gt 0 ]; do
        "$@" && return 0
        sleep 0.05
        n=$((n - 1))
    done
    return 1
}

# rt_stop_pid PID SECONDS: TERM, wait, then KILL.
rt_gone() { ! kill -0 "$1" 2>/dev/null; }
rt_stop_pid() {
    [ -n "$1" ] || return 0
    kill -TERM "$1" 2>/dev/null || return 0
    rt_wait_for "$2" rt_gone "$1" || kill -KILL "$1" 2>/dev/null
    rt_wait_for 5 rt_gone "$1"
}
