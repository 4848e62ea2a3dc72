#!/bin/bash
# 61-race-swap.sh — DESIGN §10.3 under a race: a process in a running container swaps a
# directory on the way to the target with a symlink while `lockbox-broker inject` resolves the
# target and mounts on it (the CVE-2021-30465 pattern, which let runc mount outside the rootfs).
# The symlink points at a host directory bind-mounted into the container (a volume), and the
# path the broker would reach through it exists.
#
# 1. Deterministic: the broker is paused (pause.h: $STATE/pause/attach, a root-only test knob)
#    in the container's namespace with the target resolved and checked, just before
#    move_mount; the test swaps the target (or its parent) for a symlink to the volume, then
#    lets it go. The mount must land on the directory the broker resolved (now under the name
#    the swap gave it) and nowhere else; the host directory never changes.
# 2. Soak (what cannot be paused: the resolution itself, one component at a time): a swapper
#    in the container exchanges the directory and the symlink in a loop during many injects.
#    After each: either the secrets were placed on a directory of the container's own, or the
#    inject failed with one line and left nothing. LBX_RACE_SECONDS (default 2) is how long
#    each soak phase races, LBX_RACE_INJECTS (default 200) the most injects a phase.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-sec.sh"

S=$(new_secret)
put_secret db "$S"
VOL=$T/hostvol
mkdir -p "$VOL/secrets"
echo "host data" >"$VOL/keep"
vol_state() {
    find "$VOL" -printf '%p %y %m %U:%G %s %T@ %C@\n' | sort
}
vol_before=$(vol_state)
SECONDS_EACH=${LBX_RACE_SECONDS:-2}
INJECTS_MAX=${LBX_RACE_INJECTS:-200}


# ---- 1. Deterministic: paused between the resolution and move_mount -------------------------

# paused_swap NAME SWAP LINK_TARGET EXPECTED: a container (sleep) with the volume at /hostvol;
# inject paused at "attach"; SWAP renamed to SWAP~dir and a symlink to LINK_TARGET put in its
# place; released. The tmpfs must be at EXPECTED (the resolved directory under its new name).
paused_swap() {
    local name=$1 swap=$2 target=$3 expected=$4 cpid rc=0 i mounts
    make_bundle "$name" /bin/sleep 60
    mkdir -p "$(bundle_of "$name")/rootfs/run/secrets" "$(bundle_of "$name")/rootfs/hostvol"
    edit_config "$name" '
c["mounts"].append({"destination": "/hostvol", "type": "bind", "source": a[0],
                    "options": ["rbind", "rw"]})' "$VOL"
    start_container "$name"
    cpid=$(container_field "$name" pid)
    if [ "$RC" -ne 0 ] || [ -z "$cpid" ]; then
        die "$name: container did not start: $(errors "$name")"
    fi
    [ -d "$STATE/pause" ] || { mkdir -p "$STATE" && chmod 0700 "$STATE" && mkdir -m 0700 "$STATE/pause"; }
    touch "$STATE/pause/attach"
    broker inject --pid "$cpid" --id "$name-i" db=store:db >"$T/inject.out" 2>&1 &
    local inject=$!
    for ((i = 0; i < 600; i++)); do
        [ -e "$STATE/pause/attach.reached" ] && break
        sleep 0.05
    done
    assert_true "$name: the broker paused at attach" test -e "$STATE/pause/attach.reached"
    # The swap, done by the container's root in its own namespace (busybox from its rootfs).
    # shellcheck disable=SC2016 # the container's shell expands them
    nsenter -t "$cpid" -m -- /bin/sh -c 'mv "$1" "$1~dir" && ln -s "$2" "$1"' sh "$swap" "$target"
    assert_true "$name: $swap is a symlink to $target now" \
        test -L "/proc/$cpid/root$swap"
    rm -f "$STATE/pause/attach"
    wait "$inject" || rc=$?
    mounts=$(lockbox_mounts "$cpid")
    assert_eq "$name: inject exits 0 ($(head -c 300 "$T/inject.out"))" 0 "$rc"
    assert_eq "$name: the tmpfs is on the directory the broker resolved, under its new name" \
        "$expected" "$mounts"
    assert_eq "$name: the host directory is untouched" "$vol_before" "$(vol_state)"
    assert_eq "$name: no tmpfs on the host directory" "" "$(tmpfs_under "$VOL")"
    broker revoke "$name-i" >/dev/null 2>&1 || true
    delete_container "$name"
}

paused_swap p-leaf /run/secrets /hostvol /run/secrets~dir
paused_swap p-parent /run /hostvol /run~dir/secrets
paused_swap p-relative /run/secrets ../../hostvol /run/secrets~dir
paused_swap p-proc-magic /run/secrets /proc/self/root/hostvol /run/secrets~dir
rmdir "$STATE/pause"

# ---- 2. Soak: the swapper races the resolution -----------------------------------------------

# unmount_all PID: what inject placed, retrying while the swapper renames its parents.
unmount_all() {
    local j m
    for ((j = 0; j < 50; j++)); do
        [ -n "$(lockbox_mounts "$1")" ] || return 0
        for m in $(lockbox_mounts "$1"); do
            nsenter -t "$1" -m umount -l "$m" 2>/dev/null || true
        done
    done
}

# phase NAME SWAP_PATH LINK_TARGET ALLOWED...: ALLOWED are the mount points that are the
# container's own directory (under its name or the swapper's).
phase() {
    local name=$1 swap=$2 target=$3 allowed placed=0 refused=0 wrong=0 i=0 id rc mounts m
    shift 3
    allowed=" $* "
    adversary_bundle "$name" /bin/lbx-adversary swap "$swap" "$target" "$SECONDS_EACH"
    mkdir -p "$(bundle_of "$name")/rootfs/run/secrets" "$(bundle_of "$name")/rootfs/hostvol"
    edit_config "$name" '
c["mounts"].append({"destination": "/hostvol", "type": "bind", "source": a[0],
                    "options": ["rbind", "rw"]})' "$VOL"
    start_container "$name"
    CPID=$(container_field "$name" pid)
    if [ "$RC" -ne 0 ] || [ -z "$CPID" ]; then
        fail "$name: container did not start: $(errors "$name")"
        return
    fi
    while [ $i -lt "$INJECTS_MAX" ] && [ -d "/proc/$CPID" ]; do
        i=$((i + 1))
        id=$name-$i
        mounts=$(lockbox_mounts "$CPID")
        [ -z "$mounts" ] || echo "  before inject $i: [$mounts]"
        rc=0
        broker inject --pid "$CPID" --id "$id" db=store:db >"$T/inject.out" 2>&1 || rc=$?
        mounts=$(lockbox_mounts "$CPID")
        # The swapper exits after its seconds: then its mount table is gone (a zombie has none,
        # and its /proc directory stays until runc reaps it), which must not read as "nothing
        # mounted". A live process always has its root mount there.
        grep -q . "/proc/$CPID/mountinfo" 2>/dev/null || break
        if [ $rc -eq 0 ]; then
            placed=$((placed + 1))
            if [ -z "$mounts" ]; then
                wrong=$((wrong + 1))
                echo "  inject $i succeeded but no lockbox tmpfs is mounted in the container"
            fi
            for m in $mounts; do
                if [[ $allowed != *" $m "* ]]; then
                    wrong=$((wrong + 1))
                    echo "  inject $i placed at $m"
                fi
            done
        else
            refused=$((refused + 1))
            if [ -n "$mounts" ] || [ -e "$STATE/containers/$id.json" ]; then
                wrong=$((wrong + 1))
                echo "  inject $i failed (rc $rc) but left [$mounts]: $(cat "$T/inject.out")"
            fi
            if ! one_line "$T/inject.out"; then
                wrong=$((wrong + 1))
                echo "  inject $i: not one line: $(cat "$T/inject.out")"
            fi
        fi
        broker revoke "$id" >/dev/null 2>&1 || true
        unmount_all "$CPID"
        if [ "$(vol_state)" != "$vol_before" ]; then
            wrong=$((wrong + 1))
            echo "  inject $i: the host directory changed"
        fi
    done
    wait_stopped "$name" 20 || true
    local swaps
    swaps=$(sed -n 's/^swaps=\([0-9]*\).*/\1/p' "$T/out/$name.out")
    if [ "${swaps:-0}" -eq 0 ]; then
        fail "$name: the swapper did not swap ($(output "$name"))"
    elif [ $wrong -ne 0 ]; then
        fail "$name: $wrong injects of $i broke the invariant (placed $placed, refused $refused)"
    else
        pass "$name: $i injects against $(grep '^swaps=' "$T/out/$name.out"): $placed placed on the container's own directory, $refused refused with nothing left"
    fi
    delete_container "$name"
}

phase leaf /run/secrets /hostvol /run/secrets /run/secrets~lnk
phase parent /run /hostvol /run/secrets /run~lnk/secrets
phase relative /run/secrets ../../hostvol /run/secrets /run/secrets~lnk
phase proc-magic /run/secrets /proc/self/root/hostvol /run/secrets /run/secrets~lnk

assert_eq "host directory untouched" "$vol_before" "$(vol_state)"
assert_eq "host mount table holds no lockbox tmpfs" "" "$(lockbox_mounts self)"
assert_no_secret_anywhere "$S"
finish
