#!/bin/bash
# 24-propagation.sh — the secrets tmpfs never appears in another mount namespace (issue 13,
# item 1). A volume bind-mounted rbind,rshared with linux.rootfsPropagation "shared" (what
# Docker sets for an rshared volume) is a peer of the host's directory: a mount made on it
# inside the container is copied to the host, where it would stay readable (and, without the
# shim as entrypoint, stay mounted after the container is gone). The broker must refuse such
# a target with one line that names it and the fix.
#
# The "host" here is a private mount namespace of the test's own (unshare), in which the volume
# is made shared and runc, its hooks and the watcher run: nothing reaches the real host.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-sec.sh"

S=$(new_secret)
put_secret db "$S"
VOL=$T/vol
mkdir -p "$VOL"

# The stand-in host: a mount namespace of its own, private from ours, the volume shared in it.
unshare --mount --propagation private sleep 600 2>/dev/null &
HOST=$!
BG_PIDS+=("$HOST")
for ((i = 0; i < 200; i++)); do
    [ "$(readlink "/proc/$HOST/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] && break
    sleep 0.01
done
[ "$(readlink "/proc/$HOST/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] || die "no namespace"
in_host() {
    nsenter -t "$HOST" -m -- "$@"
}
in_host mount --bind "$VOL" "$VOL"
in_host mount --make-shared "$VOL"
assert_match "the stand-in host's volume is shared" \
    "$(awk -v p="$VOL" '$5 == p' "/proc/$HOST/mountinfo")" " shared:[0-9]+ "

# run_in_host ID: runc run in the stand-in host's namespace.
run_in_host() {
    RC=0
    in_host timeout -k 5 30 runc --root "$RUNC_ROOT" run --bundle "$(bundle_of "$1")" "$1" \
        >"$T/out/$1.out" 2>"$T/out/$1.err" </dev/null || RC=$?
}

# volume_bundle ID DIR ARG...: the volume at /data (rbind,rshared), rootfs propagation shared,
# the secret asked for at DIR.
volume_bundle() {
    make_bundle "$1" "${@:3}"
    mkdir -p "$(bundle_of "$1")/rootfs/data"
    edit_config "$1" '
c["mounts"].append({"destination": "/data", "type": "bind", "source": a[0],
                    "options": ["rbind", "rshared"]})
c["linux"]["rootfsPropagation"] = "shared"' "$VOL"
    annotate "$1" io.lockbox.secret.db=store:db "io.lockbox.dir=$2"
    add_hooks "$1"
}

# host_lockbox_mounts: lockbox's tmpfs mounts in the stand-in host's namespace.
host_lockbox_mounts() {
    lockbox_mounts "$HOST"
}

# 1. The target inside the volume, the application (not the shim) as entrypoint: refused.
volume_bundle vol /data/secrets /bin/lbx-testapp cat:/data/secrets/db
run_in_host vol
assert_true "in the volume: the container does not start" test "$RC" -ne 0
assert_eq "in the volume: the application did not run" "" "$(output vol)"
assert_match "in the volume: one line naming the target and the fix" "$(errors vol)" \
    "lockbox-broker: container vol: target /data/secrets: is on a shared mount \\(propagation shared\\).*choose io\\.lockbox\\.dir on a private or slave mount"
assert_eq "in the volume: no lockbox tmpfs in the stand-in host's namespace" "" "$(host_lockbox_mounts)"
# (The target directory was created before its mount was looked at: an empty directory, as
# runc makes for a mount point.)
assert_eq "in the volume: no file under the host's directory" "" "$(find "$VOL" ! -type d)"
delete_container vol

# 2. The same with the shim, which would consume (and unmount) it: refused as well, the secret
# never visible on the host, not even for a moment.
volume_bundle volshim /data/secrets /lockbox-shim --dir /data/secrets -- /bin/lbx-testapp read-fd:3
run_in_host volshim
assert_true "with the shim: the container does not start" test "$RC" -ne 0
assert_contains "with the shim: the same line" "$(errors volshim)" "target /data/secrets: is on a shared mount"
assert_eq "with the shim: no lockbox tmpfs in the stand-in host's namespace" "" "$(host_lockbox_mounts)"
delete_container volshim

# 3. Control: the same container with the default target, on its own rootfs.
volume_bundle default /run/secrets /lockbox-shim -- /bin/lbx-testapp read-fd:3
run_in_host default
assert_eq "default target: runc run exits 0" 0 "$RC"
assert_eq "default target: the secret arrives" "$S" "$(out_value default fd.3)"
assert_eq "default target: no lockbox tmpfs in the stand-in host's namespace" "" "$(host_lockbox_mounts)"
delete_container default

for id in vol volshim default; do assert_clean "$id"; done
assert_eq "our own namespace: no lockbox tmpfs" "" "$(lockbox_mounts self)"
assert_no_secret_anywhere "$S"
finish
