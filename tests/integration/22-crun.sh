#!/bin/bash
# 22-crun.sh — crun 1.8 with lockbox's hooks in config.json (DESIGN §9), and lockbox-runtime
# in front of crun instead of runc.
#
# Usage: tests/integration/22-crun.sh [BUILD_DIR]
# crun refuses cgroup v1 hybrid mode; where /sys/fs/cgroup/unified is the cgroup2 part of a
# hybrid setup, each crun runs in a private mount namespace with an empty file bound over its
# controller list (RUNTIMES.md). crun's state (--root) is under the test directory.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-runtimes.sh"
rt_require crun crun

CR=$T/crun
mkdir -p "$CR"
: >"$T/empty"
# hybrid COMMAND...: COMMAND as it must run for crun on this machine.
hybrid() {
    if [ -e /sys/fs/cgroup/unified/cgroup.controllers ]; then
        # shellcheck disable=SC2016 # $0 and $@ are the inner shell's
        unshare --mount --propagation private sh -c \
            'mount --bind "$0" /sys/fs/cgroup/unified/cgroup.controllers && exec "$@"' \
            "$T/empty" "$@"
    else
        "$@"
    fi
}
crun_stop() {
    local id
    for id in $(crun --root "$CR" list -q 2>/dev/null); do
        crun --root "$CR" delete -f "$id" >/dev/null 2>&1
    done
}
rt_on_exit crun_stop

# bundle DIR HOOKS REQUEST ARGS...: a bundle of the test rootfs running ARGS; HOOKS yes adds
# lockbox's createRuntime and poststop hooks; REQUEST is "annotation" or "env".
bundle() {
    local dir=$1 hooks=$2 request=$3
    shift 3
    mkdir -p "$dir"
    cp -a "$ROOTFS" "$dir/rootfs"
    (cd "$dir" && crun spec) || return 1
    "$PY" - "$dir/config.json" "$hooks" "$request" "$BROKER" "$CFG" "$STATE" "$@" <<'EOF'
import json, sys
path, hooks, request, broker, conf, state = sys.argv[1:7]
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = ["/lockbox-shim", "--"] + sys.argv[7:]
if request == "annotation":
    c.setdefault("annotations", {})["io.lockbox.secret.db"] = "store:db"
elif request == "env":
    c["process"]["env"].append("LOCKBOX_SECRET_db=store:db")
elif request == "denied":
    # The role "restricted" allows store:allowed* only.
    c.setdefault("annotations", {})["io.lockbox.secret.db"] = "store:db"
    c["annotations"]["io.lockbox.role"] = "restricted"
# crun discards what hooks print unless told where to write it.
c.setdefault("annotations", {})["run.oci.hooks.stderr"] = path + ".hook-stderr"
if hooks == "yes":
    args = ["lockbox-broker", "--config", conf, "--state-dir", state, "hook"]
    c["hooks"] = {"createRuntime": [{"path": broker, "args": args + ["createRuntime"]}],
                  "poststop": [{"path": broker, "args": args + ["poststop"]}]}
json.dump(c, open(path, "w"), indent=1)
EOF
}

# ---- hooks in config.json ------------------------------------------------------------------

bundle "$T/b1" yes annotation /bin/lbx-testapp read-fd:3 fds mounted:/run/secrets ||
    die "cannot make a bundle"
start=$(date +%s%N)
rc=0
hybrid crun --root "$CR" run --bundle "$T/b1" c1 >"$T/c1.out" 2>"$T/c1.err" || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
assert_true "crun run with lockbox's hooks: exit 0 ($rc, $ms ms)" [ "$rc" -eq 0 ]
assert_true "the application reads the secret at fd 3" has "$T/c1.out" "fd.3=$SECRET"
assert_true "it has fds 0-3 and no other" has "$T/c1.out" "fds=0,1,2,3"
assert_true "the tmpfs is unmounted before it starts" has "$T/c1.out" "mounted./run/secrets=no"
assert_true "poststop (crun's \"pid\": 0 state) forgot the container" no_state_left
assert_true "no tmpfs left on the host" no_host_tmpfs
assert_true "the bundle holds no trace of the value" no_secret_under "$T/b1" "$CR"

bundle "$T/b2" yes denied /bin/lbx-testapp read-fd:3 || die "cannot make a bundle"
rc=0
hybrid crun --root "$CR" run --bundle "$T/b2" c2 >"$T/c2.out" 2>"$T/c2.err" || rc=$?
assert_true "a denied request: crun run fails ($rc)" [ "$rc" -ne 0 ]
assert_true "the application never ran" hasnt "$T/c2.out" "fd.3"
assert_true "lockbox's message, where run.oci.hooks.stderr says" has "$T/b2/config.json.hook-stderr" \
    "lockbox-broker: secret 'db' (store:db): denied by role 'restricted'"
assert_true "a denied request leaves no state" no_state_left

# ---- a read-only rootfs without /run/secrets (issue 14): crun, too, makes it read-only only
# after the createRuntime hooks, so the broker creates the mount point.
bundle "$T/b-ro" yes annotation /bin/sh -c \
    'if mkdir /probe 2>/dev/null; then echo rootfs=rw; else echo rootfs=ro; fi;
     exec /bin/lbx-testapp read-fd:3 mounted:/run/secrets' || die "cannot make a bundle"
rmdir "$T/b-ro/rootfs/run/secrets"
"$PY" -c 'import json, sys
c = json.load(open(sys.argv[1])); c["root"]["readonly"] = True; json.dump(c, open(sys.argv[1], "w"))' \
    "$T/b-ro/config.json"
rc=0
hybrid crun --root "$CR" run --bundle "$T/b-ro" c-ro >"$T/c-ro.out" 2>"$T/c-ro.err" || rc=$?
assert_true "crun, readonly, no /run/secrets in the image: exit 0 ($rc)" [ "$rc" -eq 0 ]
assert_true "its rootfs is read-only" has "$T/c-ro.out" "rootfs=ro"
assert_true "the application reads the secret at fd 3" has "$T/c-ro.out" "fd.3=$SECRET"
assert_true "the tmpfs is unmounted before it starts" has "$T/c-ro.out" "mounted./run/secrets=no"
assert_true "poststop forgot the container" no_state_left

# ---- lockbox-runtime in front of crun ------------------------------------------------------

bundle "$T/b3" no env /bin/lbx-testapp read-fd:3 fds env || die "cannot make a bundle"
rc=0
hybrid "$RT" --lockbox-config "$CFG" --lockbox-state-dir "$STATE" --lockbox-runtime crun \
    --root "$CR" run --bundle "$T/b3" c3 >"$T/c3.out" 2>"$T/c3.err" || rc=$?
assert_true "lockbox-runtime --lockbox-runtime crun run: exit 0 ($rc)" [ "$rc" -eq 0 ]
assert_true "lockbox-runtime added the hooks to config.json" has "$T/b3/config.json" '"createRuntime"'
assert_true "through it, the application reads the secret at fd 3" has "$T/c3.out" "fd.3=$SECRET"
only_fds_and_no_request() { grep -q '^fds=0,1,2,3$' "$1" && ! grep -q LOCKBOX_SECRET "$1"; }
assert_true "and nothing else" only_fds_and_no_request "$T/c3.out"
assert_true "poststop forgot it" no_state_left

bundle "$T/b4" no none /bin/lbx-testapp fds || die "cannot make a bundle"
# No request, so the shim has nothing to read: the application runs without it.
"$PY" - "$T/b4/config.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["args"] = ["/bin/lbx-testapp", "fds", "exit:3"]
json.dump(c, open(sys.argv[1], "w"), indent=1)
EOF
cp "$T/b4/config.json" "$T/b4.before"
before=$(stat -c '%i %y' "$T/b4/config.json")
rc=0
hybrid "$RT" --lockbox-runtime crun --root "$CR" run --bundle "$T/b4" c4 >"$T/c4.out" 2>&1 || rc=$?
assert_true "no request through lockbox-runtime: crun's exit status ($rc)" [ "$rc" -eq 3 ]
untouched() { cmp -s "$1" "$2" && [ "$(stat -c '%i %y' "$1")" = "$3" ]; }
assert_true "no request: config.json not touched (same bytes, inode, mtime)" \
    untouched "$T/b4/config.json" "$T/b4.before" "$before"
finish
