# shellcheck shell=bash
# tests/bench/lib/bundles.sh — OCI bundles: a busybox rootfs (hard links to one template),
# `runc spec`, then the variant's process.args, annotations and hooks; running one; checking
# what its application got.

# hooks_lockbox [CREATE_RUNTIME_PATH]: the broker as createRuntime and poststop hook, as an
# operator writes them; another createRuntime path (a wrapper) for the RSS measurement.
hooks_lockbox() {
    local create=${1:-$BROKER}
    "$PY" -c '
import json, sys
create, broker, cfg = sys.argv[1:]
def hook(path, stage):
    return {"path": path, "args": [path, "--config", cfg, "hook", stage], "timeout": 30}
print(json.dumps({"createRuntime": [hook(create, "createRuntime")],
                  "poststop": [hook(broker, "poststop")]}))' "$create" "$BROKER" "$CFG"
}

# Two hooks that do nothing, where lockbox's go: what runc's running of a hook costs (a fork,
# an exec, the state on a pipe, a wait), the floor under any hook-based injector.
hooks_noop() {
    "$PY" -c '
import json
hook = {"path": "/bin/true", "args": ["true"], "timeout": 30}
print(json.dumps({"createRuntime": [hook], "poststop": [hook]}))'
}

hooks_naive() {
    "$PY" -c '
import json, sys
print(json.dumps({"createRuntime": [{"path": sys.argv[1], "args": sys.argv[1:], "timeout": 30}]}))' \
        "$HERE/naive-hook.sh" "$VAULT_ADDR" "$CA" "$T/etc/root.hdr"
}

# annotations KEY_PREFIX REF_FORMAT N: {"PREFIX.s01": REF(1), ...} with printf's REF_FORMAT.
annotations() {
    "$PY" -c '
import json, sys
prefix, fmt, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
print(json.dumps({"%s.s%02d" % (prefix, i): fmt % i for i in range(1, n + 1)}))' "$@"
}

# bundle ID HOOKS_JSON ANNOTATIONS_JSON ARG...
bundle() {
    local hooks=$2 ann=$3 dir=$T/c/$1
    shift 3
    mkdir -p "$dir"
    cp -al "$T/rootfs" "$dir/rootfs"
    runc spec --bundle "$dir"
    "$PY" - "$dir/config.json" "$hooks" "$ann" "$@" <<'EOF'
import json, sys
path, hooks, ann, args = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4:]
with open(path) as f:
    c = json.load(f)
c["process"]["terminal"] = False
c["process"]["args"] = args
c["root"]["readonly"] = False
if ann:
    c["annotations"] = ann
if hooks:
    c["hooks"] = hooks
with open(path, "w") as f:
    json.dump(c, f, indent=1)
EOF
}

# run_ctr BUNDLE ID: `runc run` in the foreground; output in $T/out/ID.{out,err}.
run_ctr() {
    timeout -k 5 120 runc --root "$RUNC_ROOT" run --bundle "$T/c/$1" "$2" \
        >"$T/out/$2.out" 2>"$T/out/$2.err" </dev/null
}

# expect_fds OUT_FILE FIRST N: lbx-testapp printed fd.3=s(FIRST) ... in name order.
expect_fds() {
    local out=$1 first=$2 n=$3 k fd=3 want=$T/out/.want
    : >"$want"
    for ((k = first; k < first + n; k++)); do
        printf 'fd.%d=%s\n' "$fd" "$(value "$(printf 's%03d' "$k")")" >>"$want"
        fd=$((fd + 1))
    done
    [ "$(grep -cxFf "$want" "$out" || true)" = "$n" ]
}

readfds() { # N: lbx-testapp arguments reading fds 3..N+2
    local k
    for ((k = 3; k < 3 + $1; k++)); do
        echo "read-fd:$k"
    done
}

# check_variant NAME N ANNOTATIONS [HOOKS]: a bundle like the variant's whose application prints
# what it got, run once, untimed: a variant must deliver its N values before its time means
# anything.
check_variant() {
    local name=$1 n=$2 ann=$3 hooks=${4:-$LOCKBOX_HOOKS} args
    mapfile -t args < <(readfds "$n")
    bundle "$name-check" "$hooks" "$ann" /lockbox-shim -- /bin/lbx-testapp "${args[@]}"
    run_ctr "$name-check" "$name-check" || die "$name: runc run failed: $(tail -n 3 "$T/out/$name-check.err")"
    expect_fds "$T/out/$name-check.out" 1 "$n" || die "$name: the container did not get its $n secrets"
}

bundles_init() {
    lbx_make_rootfs "$T/rootfs" "$B" >/dev/null
    mkdir -p "$T/rootfs/run/secrets"
    LOCKBOX_HOOKS=$(hooks_lockbox "$BROKER")
}
