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
# The role "restricted" allows store:allowed* only.
run --rm --runtime lockbox -e LOCKBOX_SECRET_db=store:db -e LOCKBOX_ROLE=restricted "$IMG" \
    /bin/lbx-testapp read-fd:3 >"$T/deny.out" 2>"$T/deny.err" || rc=$?
assert_true "a denied request: docker run fails ($rc)" [ "$rc" -ne 0 ]
assert_true "with lockbox's message" has "$T/deny.err" \
    "lockbox-broker: secret 'db' (store:db): denied by role 'restricted'"
assert_true "and the application never ran" hasnt "$T/deny.out" "fd.3"
assert_true "a denied request leaves no state" no_state_left
# A backend that is not configured is a mistake in the request, not a denial (issue 14).
rc=0
run --rm --runtime lockbox -e LOCKBOX_SECRET_db=vault:secret/app/db "$IMG" \
    /bin/lbx-testapp read-fd:3 >"$T/unknown.out" 2>"$T/unknown.err" || rc=$?
assert_true "an unknown backend: docker run fails ($rc)" [ "$rc" -ne 0 ]
assert_true "naming the configured backends" has "$T/unknown.err" \
    "lockbox-broker: secret 'db' (vault:secret/app/db): unknown backend 'vault' (configured: store)"

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

# ---- contrib/Dockerfile.example (issue 14) --------------------------------------------------
# Built on a base without /run/secrets and run --read-only: the broker makes the mount point.
# Its ENTRYPOINT is the shim alone, its CMD starts with "--": shim options at docker run time.

make_rootfs "$T/plain"
tar -C "$T/plain" -c . | docker import - lbx-plain:1 >/dev/null || die "docker import plain"
mkdir -p "$T/ctx"
cp "$SHIM" "$LBX_IT_DIR/../../contrib/Dockerfile.example" "$T/ctx/"
docker build -q --build-arg BASE=lbx-plain:1 -f "$T/ctx/Dockerfile.example" -t lbx-example:1 \
    "$T/ctx" >"$T/build.log" 2>&1 || die "docker build of Dockerfile.example: $(tail -n 3 "$T/build.log")"
rc=0
run --rm --runtime lockbox --read-only -e LOCKBOX_SECRET_db=store:db lbx-example:1 \
    >"$T/ex1.out" 2>"$T/ex1.err" || rc=$?
assert_eq "the example image, --read-only, no /run/secrets in it: its CMD prints the size at fd 3" \
    "0 ${#SECRET} /proc/self/fd/3" "$rc $(tr -s ' ' <"$T/ex1.out" | sed 's/^ //')"
rc=0
run --rm --runtime lockbox --read-only -e LOCKBOX_SECRET_db=store:db lbx-example:1 \
    --fd db=7 --exec -- /bin/lbx-testapp read-fd:7 fds >"$T/ex2.out" 2>"$T/ex2.err" || rc=$?
assert_eq "shim options at docker run time (IMAGE --fd db=7 --exec -- CMD)" \
    "0 fd.7=$SECRET fds=0,1,2,7" "$rc $(tr '\n' ' ' <"$T/ex2.out" | sed 's/ $//')"
rc=0
run --rm --runtime lockbox -e LOCKBOX_SECRET_db=store:db lbx-example:1 /bin/lbx-testapp read-fd:3 \
    >"$T/ex3.out" 2>"$T/ex3.err" || rc=$?
assert_eq "a command without options or --" "0 fd.3=$SECRET" "$rc $(cat "$T/ex3.out")"

# The old entrypoint (ENTRYPOINT [shim, --], as IMG has): the options land after "--".
rc=0
run --rm --runtime lockbox -e LOCKBOX_SECRET_db=store:db "$IMG" --wait 2 -- /bin/lbx-testapp \
    read-fd:3 >"$T/old.out" 2>"$T/old.err" || rc=$?
assert_eq "IMAGE --wait 2 -- CMD behind ENTRYPOINT [shim, --]: exit 125" 125 "$rc"
assert_eq "one line naming the real cause" \
    "lockbox-shim: the command is '--wait', an option of lockbox-shim given after '--': options go before '--' (an ENTRYPOINT that ends in \"--\" puts \`docker run IMAGE ARGS\` after it: use ENTRYPOINT [\"lockbox-shim\"] with CMD [\"--\", ...], or set LOCKBOX_SHIM_WAIT in the environment)" \
    "$(cat "$T/old.err")"
assert_true "that left no state" no_state_left
# Without the runtime, the shim says what is missing rather than "use --wait".
rc=0
run --rm -e LOCKBOX_SECRET_db=store:db lbx-example:1 >"$T/noruntime.out" 2>"$T/noruntime.err" ||
    rc=$?
assert_eq "asked for a secret, started without lockbox's runtime: exit 125" 125 "$rc"
assert_eq "the line says the runtime is missing" \
    "lockbox-shim: no secrets at /run/secrets (not mounted): the container asks for secrets (LOCKBOX_SECRET_*) but none were placed: is it running under lockbox's runtime (docker run --runtime lockbox) or hook? For secrets placed later by lockbox-broker inject, give --wait SECONDS (LOCKBOX_SHIM_WAIT)" \
    "$(cat "$T/noruntime.err")"

# Late injection with the option in the environment, the image's CMD untouched; the container
# is then found by its short id (docker ps) and by the name inject recorded.
# (Logged, unlike the others: its output is the size, not the value.)
docker run --network none -d --name late2 -e LOCKBOX_SHIM_WAIT=20 lbx-example:1 \
    >/dev/null || die "docker run late2"
running2() { [ "$(docker inspect -f '{{.State.Running}}' late2 2>/dev/null)" = true ]; }
rt_wait_for 10 running2 || die "late2 did not start"
cid=$(docker inspect -f '{{.Id}}' late2)
rc=0
broker inject --pid "$(docker inspect -f '{{.State.Pid}}' late2)" --id "$cid" --name late2 \
    db=store:db >"$T/inject2.out" 2>&1 || { rc=$?; cat "$T/inject2.out"; }
assert_eq "inject --name late2: exit 0" 0 "$rc"
docker wait late2 >/dev/null
assert_eq "LOCKBOX_SHIM_WAIT=20: the shim waited, then the CMD ran" "${#SECRET} /proc/self/fd/3" \
    "$(docker logs late2 2>&1 | tr -s ' ' | sed 's/^ //')"
assert_contains "status SHORT-ID (docker ps's 12 characters)" "$(broker status "${cid:0:12}")" \
    "$cid name=late2 pid="
assert_eq "revoke NAME" "revoked $cid" "$(broker revoke late2)"
docker rm late2 >/dev/null
# Injected after the start into a --read-only container whose image has no /run/secrets: that
# one truly cannot be created, and the line says what to do.
run -d --name late3 --read-only -e LOCKBOX_SHIM_WAIT=20 lbx-example:1 >/dev/null ||
    die "docker run late3"
running3() { [ "$(docker inspect -f '{{.State.Running}}' late3 2>/dev/null)" = true ]; }
rt_wait_for 10 running3 || die "late3 did not start"
cid=$(docker inspect -f '{{.Id}}' late3)
rc=0
err=$(broker inject --pid "$(docker inspect -f '{{.State.Pid}}' late3)" --id "$cid" db=store:db \
    2>&1) || rc=$?
assert_eq "inject into a read-only rootfs without the directory: exit 1" 1 "$rc"
assert_eq "one line: cannot be created, and what to do" \
    "lockbox-broker: container $cid: target /run/secrets: does not exist and cannot be created (read-only file system): add it to the image (RUN mkdir -p /run/secrets) or choose a directory that exists (io.lockbox.dir, inject --dir)" \
    "$err"
assert_true "and no state" no_state_left
docker rm -f late3 >/dev/null

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
