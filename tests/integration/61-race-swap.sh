#!/bin/bash
# 61-race-swap.sh — DESIGN §10.3 under a race: a process in a running container swaps a
# directory on the way to the target with a symlink, in a loop, while `lockbox-broker inject`
# resolves the target and mounts on it (the CVE-2021-30465 pattern, which let runc mount
# outside the rootfs). The symlink points at a host directory bind-mounted into the container
# (a volume), and the path the broker would reach through it exists.
#
# Many injects run against real runc containers. After each: either the secrets were placed
# on a directory of the container's own (the target, or what the swapper renamed it to) and
# nowhere else, or the inject failed with one line and left nothing; the host directory never
# changes and never has a tmpfs on it. The swapper must have swapped (else nothing is proved).
# LBX_RACE_SECONDS (default 5) is how long each phase races.
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
SECONDS_EACH=${LBX_RACE_SECONDS:-5}
INJECTS_MAX=${LBX_RACE_INJECTS:-200}

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
        [ -d "/proc/$CPID" ] || break
        if [ $rc -eq 0 ]; then
            placed=$((placed + 1))
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
