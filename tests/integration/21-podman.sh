#!/bin/bash
# 21-podman.sh — Podman 4.3 with contrib/oci-hooks.d/lockbox.json.in (DESIGN §9): the request is an
# annotation, the hook is matched on it, Podman runs createRuntime through runc and poststop
# itself.
#
# Usage: tests/integration/21-podman.sh [BUILD_DIR]
# Podman's configuration, storage (vfs), run root, tmp and events log are under the test
# directory (RUNTIMES.md); the hooks directory holds the contrib file with the broker's path and
# this test's config. Containers log to nowhere (--log-driver none) so that a value found under
# Podman's directories is a leak.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-runtimes.sh"
rt_require podman podman

PD=$T/podman
IMG=localhost/lbx-test:1
CONTRIB=$LBX_IT_DIR/../../contrib/oci-hooks.d/lockbox.json.in
podman() { timeout 30 /usr/bin/podman "$@"; }

RT_KEEP_VLC=no
[ ! -e /var/lib/containers ] || RT_KEEP_VLC=yes
podman_stop() {
    podman rm -af -t 0 >/dev/null 2>&1
    # The blob info cache of `podman import` has no setting; remove it when we made it.
    [ "$RT_KEEP_VLC" = yes ] || rm -rf /var/lib/containers
}
rt_on_exit podman_stop

mkdir -p "$PD/hooks" "$PD/tmp"
cat >"$PD/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$PD/graph"
runroot = "$PD/run"
EOF
# No static_dir: conmon runs the cleanup without CONTAINERS_CONF (RUNTIMES.md). The network
# configuration directory too, or Podman creates /etc/cni/net.d/cni.lock.
cat >"$PD/containers.conf" <<EOF
[containers]
netns = "none"
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$PD/events.log"
tmp_dir = "$PD/tmp"
volume_path = "$PD/volumes"
[network]
network_config_dir = "$PD/cni"
EOF
export CONTAINERS_CONF="$PD/containers.conf" CONTAINERS_STORAGE_CONF="$PD/storage.conf"
export TMPDIR="$PD/tmp"
# The contrib file as installed, pointed at this build and this test's config.
sed -e "s|\"@BINDIR@/lockbox-broker\"|\"$BROKER\"|" \
    -e "s|\"args\": \\[\"lockbox-broker\", \"hook\"\\]|\"args\": [\"lockbox-broker\", \"--config\", \"$CFG\", \"hook\"]|" \
    "$CONTRIB" >"$PD/hooks/lockbox.json"
grep -qF "\"$CFG\"" "$PD/hooks/lockbox.json" || die "cannot adapt $CONTRIB"

podman import --change 'ENTRYPOINT ["/lockbox-shim", "--"]' "$ROOTFS_TAR" "$IMG" \
    >"$T/import.log" 2>&1 || die "podman import failed: $(tail -n 1 "$T/import.log")"

run() { podman --hooks-dir "$PD/hooks" run --log-driver none "$@"; }

# ---- the secret by fd, through the hooks.d file -----------------------------------------

rc=0
run --name p1 --annotation io.lockbox.secret.db=store:db "$IMG" \
    /bin/lbx-testapp read-fd:3 fds env mounted:/run/secrets >"$T/p1.out" 2>"$T/p1.err" || rc=$?
assert_true "podman run --annotation io.lockbox.secret.db: exit 0 ($rc)" [ "$rc" -eq 0 ]
assert_true "the application reads the secret at fd 3" has "$T/p1.out" "fd.3=$SECRET"
assert_true "it has fds 0-3 and no other" has "$T/p1.out" "fds=0,1,2,3"
assert_true "LOCKBOX_FDS tells it where" has "$T/p1.out" "env=LOCKBOX_FDS=db=3"
assert_true "the tmpfs is unmounted before it starts" has "$T/p1.out" "mounted./run/secrets=no"
podman inspect p1 >"$T/p1.inspect"
assert_true "podman inspect shows the reference" has "$T/p1.inspect" '"io.lockbox.secret.db": "store:db"'
assert_true "podman inspect never shows the value" hasnt "$T/p1.inspect" "$SECRET"
podman export p1 >"$T/p1.tar"
assert_true "podman export: no trace of the value" hasnt "$T/p1.tar" "$SECRET"
nothing_under_secrets() { ! tar -tf "$1" | grep -q '^\(\./\)\?run/secrets/.'; }
assert_true "podman export: nothing under /run/secrets" nothing_under_secrets "$T/p1.tar"
podman diff p1 >"$T/p1.diff"
assert_true "podman diff: no change under /run/secrets" hasnt "$T/p1.diff" "/run/secrets"
assert_true "no file under Podman's directories holds the value" no_secret_under "$PD"
assert_true "poststop (run by Podman) forgot the container" rt_wait_for 10 no_state_left
assert_true "no tmpfs left on the host" no_host_tmpfs
podman rm p1 >/dev/null

# ---- a read-only rootfs without /run/secrets (issue 14) --------------------------------------

make_rootfs "$T/plain"
tar -C "$T/plain" -cf "$T/plain.tar" . || die "cannot tar the plain rootfs"
podman import --change 'ENTRYPOINT ["/lockbox-shim", "--"]' "$T/plain.tar" localhost/lbx-plain:1 \
    >"$T/import2.log" 2>&1 || die "podman import failed: $(tail -n 1 "$T/import2.log")"
# --read-only mounts a tmpfs on /run (--read-only-tmpfs, the default); without it /run/secrets
# is made in the rootfs itself, before runc makes it read-only.
for tmpfs in true false; do
    rc=0
    run --rm --read-only --read-only-tmpfs=$tmpfs --annotation io.lockbox.secret.db=store:db \
        localhost/lbx-plain:1 /bin/sh -c \
        'if mkdir /probe 2>/dev/null; then echo rootfs=rw; else echo rootfs=ro; fi;
         exec /bin/lbx-testapp read-fd:3 mounted:/run/secrets' \
        >"$T/ro-$tmpfs.out" 2>"$T/ro-$tmpfs.err" || rc=$?
    assert_true "podman run --read-only --read-only-tmpfs=$tmpfs, no /run/secrets in the image: exit 0 ($rc: $(tail -n 1 "$T/ro-$tmpfs.err"))" [ "$rc" -eq 0 ]
    assert_true "  its rootfs is read-only" has "$T/ro-$tmpfs.out" "rootfs=ro"
    assert_true "  the application reads the secret at fd 3" has "$T/ro-$tmpfs.out" "fd.3=$SECRET"
    assert_true "  the tmpfs is unmounted before it starts" has "$T/ro-$tmpfs.out" \
        "mounted./run/secrets=no"
done
assert_true "no state left" rt_wait_for 10 no_state_left

# ---- the container's name (issue 14): Podman records it only in its conmon's -n ------------

run -d --name lbx-named --annotation io.lockbox.secret.db=store:db --entrypoint /bin/lbx-testapp \
    "$IMG" sleep:30 >"$T/named.id" 2>"$T/named.err" || die "podman run -d: $(cat "$T/named.err")"
cid=$(cat "$T/named.id")
has_record() { [ -e "$STATE/containers/$cid.json" ]; }
rt_wait_for 10 has_record || die "no record for $cid"
assert_eq "the record holds Podman's name" lbx-named \
    "$(broker status --json "$cid" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["name"])')"
assert_contains "status NAME" "$(broker status lbx-named)" "$cid name=lbx-named pid="
assert_contains "status SHORT-ID (podman ps's 12 characters)" "$(broker status "${cid:0:12}")" \
    "$cid name=lbx-named pid="
assert_contains "the table shows the name" "$(broker status)" "${cid:0:12}  lbx-named "
assert_eq "rotate NAME" "$cid db: unchanged" "$(broker rotate lbx-named 2>&1)"
assert_eq "revoke NAME" "revoked $cid" "$(broker revoke lbx-named 2>&1)"
podman rm -f -t 0 lbx-named >/dev/null 2>&1

# ---- failures ---------------------------------------------------------------------------

rc=0
# The role "restricted" allows store:allowed* only.
run --rm --annotation io.lockbox.secret.db=store:db --annotation io.lockbox.role=restricted \
    "$IMG" /bin/lbx-testapp read-fd:3 >"$T/deny.out" 2>"$T/deny.err" || rc=$?
assert_true "a denied request: podman run fails ($rc)" [ "$rc" -ne 0 ]
assert_true "with lockbox's message" has "$T/deny.err" \
    "lockbox-broker: secret 'db' (store:db): denied by role 'restricted'"
assert_true "and the application never ran" hasnt "$T/deny.out" "fd.3"
assert_true "a denied request leaves no state" rt_wait_for 10 no_state_left

# ---- no request: the hook is not even run ----------------------------------------------------

probe="fds env id mounted:/run/secrets ls:/run/secrets exit:3"
audit_lines=$(grep -c . "$AUDIT" || true)
rc1=0 rc2=0
# shellcheck disable=SC2086 # the probe is a list of operations
run --rm -h same --entrypoint /bin/lbx-testapp "$IMG" $probe >"$T/plain1" 2>&1 || rc1=$?
# shellcheck disable=SC2086
podman run --rm --log-driver none -h same --entrypoint /bin/lbx-testapp "$IMG" $probe \
    >"$T/plain2" 2>&1 || rc2=$?
assert_eq "no request: the same exit status as without the hook" "3 3" "$rc1 $rc2"
# Podman orders the environment as a Go map iterates: compare sorted.
sort "$T/plain1" >"$T/plain1.sorted"
sort "$T/plain2" >"$T/plain2.sorted"
assert_true "no request: the same output as without the hook" cmp -s "$T/plain1.sorted" "$T/plain2.sorted"
assert_true "no request: no state" no_state_left
assert_true "no request: no audit line" [ "$(grep -c . "$AUDIT" || true)" -eq "$audit_lines" ]
assert_true "the audit log never shows the value" hasnt "$AUDIT" "$SECRET"
assert_true "Podman's events log never shows the value" hasnt "$PD/events.log" "$SECRET"
finish
