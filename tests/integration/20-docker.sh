#!/bin/bash
# 20-docker.sh — Docker 20.10 through lockbox-runtime (DESIGN §9), and late injection into a
# plain `docker run` (no wrapper) whose entrypoint is `lockbox-shim --wait`.
#
# Usage: tests/integration/20-docker.sh [BUILD_DIR]
# A dockerd of its own (data-root, exec-root, socket, pidfile under the test directory, vfs, no
# network), stopped by pid; what dockerd leaves outside (/etc/docker/key.json, /run/docker,
# /run/containerd) is removed when it was not there before. Containers log to nowhere
# (--log-driver none) so that a value found under the daemon's directories is a leak.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-runtimes.sh"
rt_require docker.io dockerd docker
[ -x /usr/bin/docker ] || skip "docker.io is installed but /usr/bin/docker is missing"

DK=$T/docker
IMG=lbx-test:1
# The client of the Debian package: another one in /usr/local/bin is newer than this daemon.
docker() { timeout 30 /usr/bin/docker -H "unix://$DK/docker.sock" "$@"; }

# ---- dockerd -----------------------------------------------------------------------------

RT_KEEP=""
for p in /etc/docker/key.json /run/docker /run/containerd; do
    [ ! -e "$p" ] || RT_KEEP="$RT_KEEP $p"
done
docker_stop() {
    rt_stop_pid "$(cat "$DK/dockerd.pid" 2>/dev/null)" 20
    for p in /etc/docker/key.json /run/docker /run/containerd; do
        case " $RT_KEEP " in *" $p "*) ;; *) rm -rf "$p" ;; esac
    done
}
rt_on_exit docker_stop

mkdir -p "$DK"
cat >"$DK/daemon.json" <<EOF
{"data-root": "$DK/data", "exec-root": "$DK/exec", "pidfile": "$DK/dockerd.pid",
 "hosts": ["unix://$DK/docker.sock"], "storage-driver": "vfs",
 "iptables": false, "ip-masq": false, "bridge": "none",
 "runtimes": {
   "lockbox": {"path": "$RT",
               "runtimeArgs": ["--lockbox-config", "$CFG", "--lockbox-state-dir", "$STATE"]},
   "lockbox-broken": {"path": "$RT", "runtimeArgs": ["--lockbox-runtime", "/nonexistent/runc"]}}}
EOF
dockerd --config-file "$DK/daemon.json" >"$DK/dockerd.log" 2>&1 &
docker_up() { docker version >/dev/null 2>&1; }
rt_wait_for 20 docker_up || die "dockerd did not start: $(tail -n 3 "$DK/dockerd.log")"
docker import --change 'ENTRYPOINT ["/lockbox-shim", "--"]' "$ROOTFS_TAR" "$IMG" >/dev/null ||
    die "docker import failed"

run() { docker run --network none --log-driver none "$@"; }

# ---- the secret by fd, through lockbox-runtime ----------------------------------------------

rc=0
run --name c1 --runtime lockbox -e LOCKBOX_SECRET_db=store:db "$IMG" \
    /bin/lbx-testapp read-fd:3 fds env mounted:/run/secrets >"$T/c1.out" 2>"$T/c1.err" || rc=$?
assert_true "docker run --runtime lockbox: exit 0 ($rc)" [ "$rc" -eq 0 ]
assert_true "the application reads the secret at fd 3" has "$T/c1.out" "fd.3=$SECRET"
assert_true "it has fds 0-3 and no other" has "$T/c1.out" "fds=0,1,2,3"
assert_true "LOCKBOX_FDS tells it where" has "$T/c1.out" "env=LOCKBOX_FDS=db=3"
assert_true "the request is gone from its environment" hasnt "$T/c1.out" "LOCKBOX_SECRET"
assert_true "the tmpfs is unmounted before it starts" has "$T/c1.out" "mounted./run/secrets=no"
docker inspect c1 >"$T/c1.inspect"
assert_true "docker inspect shows the reference" has "$T/c1.inspect" "LOCKBOX_SECRET_db=store:db"
assert_true "docker inspect never shows the value" hasnt "$T/c1.inspect" "$SECRET"
docker export c1 >"$T/c1.tar"
assert_true "docker export: no trace of the value" hasnt "$T/c1.tar" "$SECRET"
nothing_under_secrets() { ! tar -tf "$1" | grep -q '^\./run/secrets/.'; }
assert_true "docker export: nothing under /run/secrets" nothing_under_secrets "$T/c1.tar"
docker diff c1 >"$T/c1.diff"
assert_true "docker diff: no change under /run/secrets" hasnt "$T/c1.diff" "/run/secrets"
assert_true "no file under the daemon's directories holds the value" no_secret_under "$DK"
assert_true "poststop forgot the container" no_state_left
assert_true "no tmpfs left on the host" no_host_tmpfs
docker rm c1 >/dev/null

# ---- failures ---------------------------------------------------------------------------

rc=0
run --rm --runtime lockbox -e LOCKBOX_SECRET_db=vault:secret/app/db "$IMG" \
    /bin/lbx-testapp read-fd:3 >"$T/deny.out" 2>"$T/deny.err" || rc=$?
assert_true "a denied request: docker run fails ($rc)" [ "$rc" -ne 0 ]
assert_true "with lockbox's message" has "$T/deny.err" \
    "lockbox-broker: secret 'db' (vault:secret/app/db): denied by role 'default'"
assert_true "and the application never ran" hasnt "$T/deny.out" "fd.3"
assert_true "a denied request leaves no state" no_state_left

rc=0
run --rm --runtime lockbox-broken -e LOCKBOX_SECRET_db=store:db "$IMG" /bin/lbx-testapp fds \
    >"$T/broken.out" 2>"$T/broken.err" || rc=$?
assert_true "the wrapper's own failure fails docker run ($rc)" [ "$rc" -ne 0 ]
assert_true "with its one line, from runc's log file" has "$T/broken.err" \
    "lockbox-runtime: runtime '/nonexistent/runc': not found"

# ---- no request: as with runc alone --------------------------------------------------------

probe="fds env id mounted:/run/secrets ls:/run/secrets stat:/run/secrets exit:3"
rc1=0 rc2=0
# shellcheck disable=SC2086 # the probe is a list of operations
run --rm -h same --runtime lockbox --entrypoint /bin/lbx-testapp "$IMG" $probe >"$T/plain1" 2>&1 ||
    rc1=$?
# shellcheck disable=SC2086
run --rm -h same --runtime runc --entrypoint /bin/lbx-testapp "$IMG" $probe >"$T/plain2" 2>&1 ||
    rc2=$?
assert_eq "no request: the same exit status as runc" "3 3" "$rc1 $rc2"
assert_true "no request: the same output as runc" cmp -s "$T/plain1" "$T/plain2"
cid=$(run -d --runtime lockbox --entrypoint /bin/sleep "$IMG" 30)
bundle_cfg=$(find "$DK/exec" -path "*$cid*" -name config.json 2>/dev/null | head -n 1)
no_lockbox_hook() { [ -n "$1" ] && ! grep -q lockbox "$1"; }
assert_true "no request: the bundle's config.json has no lockbox hook" no_lockbox_hook "$bundle_cfg"
docker rm -f "$cid" >/dev/null
assert_true "no request: no state" no_state_left

# ---- late injection into a plain docker run ------------------------------------------------

run --name late --entrypoint /lockbox-shim "$IMG" --wait 20 -- /bin/lbx-testapp read-fd:3 fds \
    >"$T/late.out" 2>"$T/late.err" &
late=$!
running() { [ "$(docker inspect -f '{{.State.Running}}' late 2>/dev/null)" = true ]; }
rt_wait_for 10 running || die "the late container did not start: $(cat "$T/late.err")"
pid=$(docker inspect -f '{{.State.Pid}}' late)
cid=$(docker inspect -f '{{.Id}}' late)
rc=0
broker inject --pid "$pid" --id "$cid" db=store:db >"$T/inject.out" 2>&1 || rc=$?
assert_true "inject --pid into the running container: exit 0 ($rc)" [ "$rc" -eq 0 ]
rc=0
wait "$late" || rc=$?
assert_true "lockbox-shim --wait under Docker's default seccomp: exit 0 ($rc)" [ "$rc" -eq 0 ]
assert_true "late injection: the application reads the secret at fd 3" has "$T/late.out" \
    "fd.3=$SECRET"
assert_true "late injection: fds 0-3 only" has "$T/late.out" "fds=0,1,2,3"
broker revoke "$cid" >/dev/null 2>&1 || true
assert_true "revoke forgets it" no_state_left
docker inspect late >"$T/late.inspect"
assert_true "late injection: docker inspect never shows the value" hasnt "$T/late.inspect" "$SECRET"
assert_true "late injection: no file under the daemon's directories holds the value" \
    no_secret_under "$DK"
docker rm late >/dev/null
assert_true "dockerd's log never shows the value" hasnt "$DK/dockerd.log" "$SECRET"
finish
