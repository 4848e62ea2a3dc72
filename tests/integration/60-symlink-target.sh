#!/bin/bash
# 60-symlink-target.sh — DESIGN §10.3: nothing is placed outside the container's rootfs,
# whatever symlinks or ".." the image puts on the way to the target directory.
#
# Each case builds an image (a rootfs directory) with a symlink, a device or a loop at one
# component of the target, starts a process in a mount namespace of its own as runc leaves the
# container's init at createRuntime (rootfs not pivoted yet, /proc mounted in it), and runs
# the real createRuntime hook. Every case must fail with one line and exit 1 or 2 (not a
# crash), leave no tmpfs, state or watcher, and leave a host directory the symlinks point at
# untouched. A control case with a plain directory must succeed, so that the harness cannot
# pass by placing nothing at all.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-sec.sh"

S=$(new_secret)
put_secret db "$S"
HOST=$T/host-dir
mkdir -p "$HOST"
echo "host data" >"$HOST/keep"
host_state() {
    find "$HOST" -printf '%p %y %m %U:%G %s %T@ %C@\n' | sort
    grep -F " $HOST" /proc/self/mountinfo || true
}
host_before=$(host_state)

# The depth of a case's rootfs below /, for relative symlinks that climb out of it.
up=$(printf '%s' "$T/cases/xxxxxxxxxx/rootfs/a" | tr -cd / | sed 's|/|../|g')

n=0
# case_run NAME DIR SETUP: SETUP is shell code run in the new rootfs before the container.
case_run() {
    local name=$1 dir=$2 setup=$3 bundle R out mounts
    n=$((n + 1))
    bundle=$T/cases/$(printf '%010d' $n)
    R=$bundle/rootfs
    fake_bundle "$bundle" "{\"io.lockbox.secret.db\": \"store:db\", \"io.lockbox.dir\": \"$dir\"}"
    mkdir -p "$R/proc"
    if ! (cd "$R" && eval "$setup"); then
        fail "$name: setup"
        return
    fi
    fake_container "$R" proc
    hook_run "c$n" "$CPID" "$bundle"
    out=$(cat "$T/hook.out")
    if [ "$name" = control ]; then
        mounts=$(lockbox_mounts "$CPID")
        if [ "$HOOK_RC" -eq 0 ] && [ "$mounts" = "$R/run/secrets" ]; then
            pass "$name: placed at $dir and nowhere else"
        else
            fail "$name: rc=$HOOK_RC mounts=[$mounts] $out"
        fi
        broker revoke "c$n" >/dev/null 2>&1 || true
    elif [ "$HOOK_RC" -ne 1 ] && [ "$HOOK_RC" -ne 2 ]; then
        fail "$name: exit status $HOOK_RC (want 1 or 2): $out"
    elif ! one_line "$T/hook.out"; then
        fail "$name: not one line from the broker: $out"
    elif ! nothing_left "c$n" "$CPID"; then
        fail "$name: left a tmpfs, state or watcher behind ($(lockbox_mounts "$CPID"))"
    elif [ "$(host_state)" != "$host_before" ]; then
        fail "$name: the host directory changed"
    else
        pass "$name: refused ($out)"
    fi
    fake_stop
}

case_run control /run/secrets 'mkdir -p run'

# Each component of /run/secrets, then of a deeper /a/b/c, as a symlink: absolute to a host
# path, relative climbing out of the rootfs, to /proc, to magic links, to a device, a loop.
for target in "$HOST" "${up}${HOST#/}" /proc /proc/1/root /proc/self/cwd /dev/null \
    /run/secrets .; do
    case_run "run -> $target" /run/secrets "ln -s '$target' run"
    case_run "run/secrets -> $target" /run/secrets "mkdir run && ln -s '$target' run/secrets"
    case_run "a -> $target in /a/b/c" /a/b/c "ln -s '$target' a"
    case_run "a/b -> $target in /a/b/c" /a/b/c "mkdir a && ln -s '$target' a/b"
    case_run "a/b/c -> $target in /a/b/c" /a/b/c "mkdir -p a/b && ln -s '$target' a/b/c"
done
case_run "run/secrets -> ../../.. (relative within the rootfs)" /run/secrets \
    "mkdir run && ln -s ../../.. run/secrets"
case_run "run/secrets is a character device" /run/secrets "mkdir run && mknod run/secrets c 1 3"
case_run "run/secrets is a FIFO" /run/secrets "mkdir run && mkfifo run/secrets"
case_run "run/secrets is a regular file" /run/secrets "mkdir run && : >run/secrets"
case_run "run is a regular file" /run/secrets ": >run"
case_run "run/secrets is a symlink to itself" /run/secrets "mkdir run && ln -s secrets run/secrets"

# The target itself on procfs (mounted in the rootfs before the hook runs).
case_run "dir /proc" /proc ":"
case_run "dir /proc/self" /proc/self ":"
case_run "dir /proc/sys/kernel" /proc/sys/kernel ":"

# ".." in the requested directory, which would climb before any symlink is met.
case_run "dir /run/../../host" "/run/../..${up%/}/${HOST#/}" "mkdir run"
case_run "dir /.." "/.." ":"
case_run "dir relative" "run/secrets" "mkdir run"

assert_eq "host directory untouched after all cases" "$host_before" "$(host_state)"
assert_eq "host mount table holds no lockbox tmpfs" "" "$(lockbox_mounts self)"
assert_no_secret_anywhere "$S"
finish
