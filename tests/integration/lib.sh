# shellcheck shell=bash
# shellcheck disable=SC2034 # RC, STORE, ... are set here for the tests that source this file
# tests/integration/lib.sh — sourced by every tests/integration/NN-*.sh test:
#
#   . "$(dirname "$0")/lib.sh"
#   S=$(new_secret); put_secret db "$S"
#   make_bundle c1 /lockbox-shim -- /bin/lbx-testapp read-fd:3
#   annotate c1 io.lockbox.secret.db=store:db; add_hooks c1
#   run_container c1
#   assert_eq "exit status" 0 "$RC"; assert_eq "fd 3" "$S" "$(out_value c1 fd.3)"
#   finish
#
# Every test gets its own directory $T under /tmp (removed on exit, with whatever the test
# started: containers, watchers, mounts), its own broker configuration ($CFG, mode 0600, root),
# sealed store, state directory ($STATE), audit log ($AUDIT) and runc root. Bundles are
# $T/c/ID, a container's stdout and stderr $T/out/ID.out and $T/out/ID.err.
#
# The build directory comes from $LOCKBOX_BUILD (run.sh sets it), else the first argument,
# else ./build. A test prints one line a check ("ok ..." or "FAIL ...") and exits 0 when all
# passed, 1 when one failed, 77 (with the reason) when it cannot run here.

set -Eeuo pipefail

LBX_IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TEST_NAME=$(basename "$0" .sh)
PY=/usr/bin/python3
PASSED=0
FAILED=0

skip() {
    echo "skip: $*"
    exit 77
}

# A setup step that failed: the test cannot go on.
die() {
    echo "FAIL $TEST_NAME: $*"
    exit 1
}

trap '[ "$BASH_SUBSHELL" -ne 0 ] || echo "FAIL $TEST_NAME: line $LINENO: \`$BASH_COMMAND\` exited $?" >&2' ERR

LOCKBOX_BUILD=${LOCKBOX_BUILD:-${1:-$LBX_IT_DIR/../../build}}
LOCKBOX_BUILD=$(cd "$LOCKBOX_BUILD" 2>/dev/null && pwd) || die "no build directory $LOCKBOX_BUILD"
BROKER=$LOCKBOX_BUILD/lockbox-broker
SHIM=$LOCKBOX_BUILD/lockbox-shim
APP=$LOCKBOX_BUILD/lbx-testapp
for x in "$BROKER" "$SHIM" "$APP"; do
    [ -x "$x" ] || die "$x is missing (make)"
done
[ "$(id -u)" = 0 ] || skip "needs root (runc, mount namespaces)"
command -v runc >/dev/null 2>&1 || skip "runc is not installed (make deps)"
[ -x "$PY" ] || skip "$PY is not installed (make deps)"

T=$(mktemp -d "/tmp/lbx-it-$TEST_NAME.XXXXXX")
chmod 0755 "$T" # a user-namespaced container's root (an unmapped host id) walks through it
STATE=$T/state
AUDIT=$T/log/audit.log
STORE=$T/store
KEY=$T/etc/store.key
CFG=$T/etc/broker.json
RUNC_ROOT=$T/runc
BG_PIDS=()
mkdir -p "$T/c" "$T/out" "$T/etc" "$T/log"

# shellcheck source=tests/integration/rootfs.sh
. "$LBX_IT_DIR/rootfs.sh"
# ---------------------------------------------------------------------------------------------
# Cleanup: containers, then the broker's state (revoke stops watchers), then anything left.

lbx_cleanup() {
    local rc=$? p
    set +eE
    trap - ERR
    lbx_stop_all "$RUNC_ROOT" "$STATE" "$BROKER" "$CFG"
    for p in "${BG_PIDS[@]}" $(our_watchers) $(our_agents); do
        kill -KILL "$p" 2>/dev/null
    done
    for p in "${BG_PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
    lbx_umount_under "$T"
    rm -rf "$T"
    exit "$rc"
}
trap lbx_cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---------------------------------------------------------------------------------------------
# Assertions: each prints one line and counts; `finish` exits with the verdict.

pass() {
    PASSED=$((PASSED + 1))
    echo "ok $*"
}

fail() {
    FAILED=$((FAILED + 1))
    echo "FAIL $*"
}

# assert_eq DESCRIPTION WANT GOT
assert_eq() {
    if [ "$2" = "$3" ]; then
        pass "$1"
    else
        fail "$1: want [$2], got [$3]"
    fi
}

# assert_contains DESCRIPTION HAYSTACK NEEDLE
assert_contains() {
    if [[ $2 == *"$3"* ]]; then
        pass "$1"
    else
        fail "$1: [$3] not in [$2]"
    fi
}

# assert_not_contains DESCRIPTION HAYSTACK NEEDLE
assert_not_contains() {
    if [[ $2 != *"$3"* ]]; then
        pass "$1"
    else
        fail "$1: [$3] found in [$2]"
    fi
}

# assert_match DESCRIPTION STRING ERE
assert_match() {
    if [[ $2 =~ $3 ]]; then
        pass "$1"
    else
        fail "$1: [$2] does not match /$3/"
    fi
}

# assert_true DESCRIPTION COMMAND...
assert_true() {
    local d=$1
    shift
    local cmd="$*"
    cmd=${cmd//$'\n'/ }
    if "$@"; then
        pass "$d"
    else
        fail "$d: \`${cmd:0:160}\` failed"
    fi
}

finish() {
    echo "$TEST_NAME: $PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ] || exit 1
    exit 0
}

# ---------------------------------------------------------------------------------------------
# Broker configuration and the sealed store.

# new_secret: a value no test produces by chance, so that finding its bytes means a leak.
new_secret() {
    echo "lbx-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
}

# The roles of the test configuration: "default" allows store:*, "restricted" store:allowed*.
DEFAULT_ROLES='[{"name": "default", "allow": ["store:*"]},
  {"name": "restricted", "allow": ["store:allowed*"]}]'

# write_config ROLES_JSON: the broker's configuration at $CFG (0600, root), everything under $T.
write_config() {
    local roles=$1
    cat >"$CFG" <<EOF
{"state_dir": "$STATE",
 "audit_log": "$AUDIT",
 "backends": {"store": {"type": "store", "dir": "$STORE", "key_file": "$KEY"}},
 "roles": $roles}
EOF
    chown 0:0 "$CFG"
    chmod 0600 "$CFG"
}

# broker ARG...: the broker with the test's configuration and state directory.
broker() {
    "$BROKER" --config "$CFG" --state-dir "$STATE" "$@"
}

init_store() {
    broker store init >/dev/null || die "store init failed"
}

# put_secret NAME VALUE: the value goes through a pipe (printf is a builtin: no argv holds it).
put_secret() {
    printf '%s' "$2" | broker store put "$1" >/dev/null || die "store put $1 failed"
}

write_config "$DEFAULT_ROLES"
init_store

# ---------------------------------------------------------------------------------------------
# Bundles. ID names both the bundle ($T/c/ID) and the container.

# The template rootfs: run.sh's (one per run), else one of our own.
lbx_template() {
    if [ -n "${LOCKBOX_IT_ROOTFS:-}" ] && [ -x "$LOCKBOX_IT_ROOTFS/lockbox-shim" ]; then
        echo "$LOCKBOX_IT_ROOTFS"
        return
    fi
    [ -d "$T/template" ] || lbx_make_rootfs "$T/template" "$LOCKBOX_BUILD" >&2
    echo "$T/template"
}

bundle_of() {
    echo "$T/c/$1"
}

# make_rootfs DIR: a copy of the template (busybox, /lockbox-shim, /bin/lbx-testapp).
make_rootfs() {
    local tpl
    tpl=$(lbx_template)
    cp -a "$tpl" "$1"
}

# edit_config ID PYTHON [ARG...]: run PYTHON with c = the bundle's config.json (written back
# afterwards) and a = the ARGs.
edit_config() {
    local cfg
    cfg=$(bundle_of "$1")/config.json
    "$PY" - "$cfg" "$2" "${@:3}" <<'EOF'
import json, sys
path, code, a = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(path) as f:
    c = json.load(f)
exec(code, {"c": c, "a": a, "json": json})
with open(path, "w") as f:
    json.dump(c, f, indent=1)
EOF
}

# make_bundle ID ARG...: `runc spec` with process.args ARG..., no terminal, a writable rootfs,
# no hooks and no annotations yet.
make_bundle() {
    local id=$1 dir
    shift
    dir=$(bundle_of "$id")
    mkdir -p "$dir"
    make_rootfs "$dir/rootfs"
    runc spec --bundle "$dir"
    edit_config "$id" '
c["process"]["terminal"] = False
c["process"]["args"] = a
c["root"]["readonly"] = False' "$@"
}

# set_args ID ARG...
set_args() {
    edit_config "$1" 'c["process"]["args"] = a' "${@:2}"
}

# annotate ID KEY=VALUE...
annotate() {
    edit_config "$1" '
c.setdefault("annotations", {})
for kv in a:
    k, v = kv.split("=", 1)
    c["annotations"][k] = v' "${@:2}"
}

# add_env ID KEY=VALUE...
add_env() {
    edit_config "$1" 'c["process"]["env"] += a' "${@:2}"
}

# set_user ID UID GID
set_user() {
    edit_config "$1" 'c["process"]["user"] = {"uid": int(a[0]), "gid": int(a[1])}' "$2" "$3"
}

# set_readonly ID true|false
set_readonly() {
    edit_config "$1" 'c["root"]["readonly"] = a[0] == "true"' "$2"
}

# use_userns ID HOST_ID: a user namespace, container ids 0-65535 mapped to HOST_ID...
use_userns() {
    edit_config "$1" '
lx = c["linux"]
lx["namespaces"].append({"type": "user"})
m = [{"containerID": 0, "hostID": int(a[0]), "size": 65536}]
lx["uidMappings"] = m
lx["gidMappings"] = m' "$2"
}

# add_hooks ID [BROKER_OPTION...]: the broker as createRuntime and poststop hook, as an
# operator writes them (absolute paths, --config, --state-dir). With options (-v), the hooks
# go through a wrapper that appends the broker's stderr to $T/broker.err, which runc otherwise
# keeps to itself when the hook succeeds.
add_hooks() {
    local id=$1 path=$BROKER
    shift
    if [ $# -gt 0 ]; then
        path=$T/hook-logged
        cat >"$path" <<EOF
#!/bin/sh
exec "$BROKER" $* --config "$CFG" --state-dir "$STATE" "\$@" 2>>"$T/broker.err"
EOF
        chmod 0755 "$path"
    fi
    edit_config "$id" '
path, cfg, state = a
def hook(stage):
    return {"path": path, "args": [path, "--config", cfg, "--state-dir", state, "hook", stage],
            "timeout": 20}
h = c.setdefault("hooks", {})
h.setdefault("createRuntime", []).append(hook("createRuntime"))
h.setdefault("poststop", []).append(hook("poststop"))' "$path" "$CFG" "$STATE"
}

# add_hook ID STAGE PATH ARG...: any other hook (args[0] included).
add_hook() {
    edit_config "$1" '
c.setdefault("hooks", {}).setdefault(a[0], []).append({"path": a[1], "args": a[2:], "timeout": 20})' \
        "${@:2}"
}

# ---------------------------------------------------------------------------------------------
# Running containers.

# run_container ID: `runc run` in the foreground (30 s at most); RC is its status, the
# container's output in $T/out/ID.out and $T/out/ID.err.
run_container() {
    RC=0
    timeout -k 5 30 runc --root "$RUNC_ROOT" run --bundle "$(bundle_of "$1")" "$1" \
        >"$T/out/$1.out" 2>"$T/out/$1.err" </dev/null || RC=$?
}

# start_container ID: `runc run -d`; the container keeps our output files as its stdio.
start_container() {
    RC=0
    timeout -k 5 30 runc --root "$RUNC_ROOT" run -d --bundle "$(bundle_of "$1")" "$1" \
        >"$T/out/$1.out" 2>"$T/out/$1.err" </dev/null || RC=$?
}

# container_field ID FIELD: "pid" or "status" from `runc state`.
container_field() {
    runc --root "$RUNC_ROOT" state "$1" 2>/dev/null |
        sed -n "s/^ *\"$2\": *\"*\\([^\",]*\\)\"*,*\$/\\1/p"
}

# wait_stopped ID [SECONDS]: until the container's init has exited.
wait_stopped() {
    local i
    for ((i = 0; i < ${2:-15} * 20; i++)); do
        [ "$(container_field "$1" status)" = running ] || return 0
        sleep 0.05
    done
    return 1
}

# delete_container ID: `runc delete` (poststop runs).
delete_container() {
    timeout -k 5 30 runc --root "$RUNC_ROOT" delete -f "$1" >>"$T/out/$1.err" 2>&1 || true
}

output() {
    cat "$T/out/$1.out"
}

errors() {
    cat "$T/out/$1.err"
}

# out_value ID KEY: what lbx-testapp printed as KEY=... (the first such line).
out_value() {
    awk -v k="$2=" 'index($0, k) == 1 {print substr($0, length(k) + 1); exit}' "$T/out/$1.out"
}

# out_values ID KEY: every such line's value.
out_values() {
    awk -v k="$2=" 'index($0, k) == 1 {print substr($0, length(k) + 1)}' "$T/out/$1.out"
}

# ---------------------------------------------------------------------------------------------
# Residue.

# tmpfs_under DIR: tmpfs mount points at or below DIR in the host's mount table.
tmpfs_under() {
    awk -v p="$1" '{
        for (i = 7; $i != "-"; i++) ;
        if ($(i + 1) == "tmpfs" && ($5 == p || index($5, p "/") == 1)) print $5
    }' /proc/self/mountinfo
}

# assert_clean ID: nothing of the container left: no tmpfs under our directory in the host's
# mount table, no state file, no watcher of ours (after a short, bounded wait).
assert_clean() {
    local id=$1 i watchers
    assert_eq "$id: no tmpfs of ours in the host's mount table" "" "$(tmpfs_under "$T")"
    assert_true "$id: no state file" test ! -e "$STATE/containers/$id.json"
    for ((i = 0; i < 40; i++)); do
        watchers=$(our_watchers)
        [ -n "$watchers" ] || break
        sleep 0.05
    done
    assert_eq "$id: no lockbox-watch process left" "" "$watchers"
}

# assert_no_secret_anywhere VALUE [DESCRIPTION]: VALUE's bytes are nowhere the contract forbids
# them: the broker's stderr at -v ($T/broker.err), the audit log, the state directory, every
# bundle (config.json, rootfs), the host's mount table, every readable environ and cmdline.
# grep reads the needle from a file: as an argument it would be in grep's own cmdline.
assert_no_secret_anywhere() {
    local needle=$T/.needle hits places=()
    printf '%s\n' "$1" >"$needle"
    chmod 0600 "$needle"
    [ -e "$T/broker.err" ] && places+=("$T/broker.err")
    [ -e "$AUDIT" ] && places+=("$AUDIT")
    [ -d "$STATE" ] && places+=("$STATE")
    places+=("$T/c" /proc/self/mountinfo /proc/[0-9]*/environ /proc/[0-9]*/cmdline)
    hits=$(grep -rlaF -f "$needle" -- "${places[@]}" 2>/dev/null || true)
    rm -f "$needle"
    assert_eq "${2:-the secret}: its bytes are in no log, audit line, state file, bundle, mount table, environ or cmdline" "" "$hits"
}
