# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are for the tests that source this file
# tests/integration/lib-cri.sh — a private containerd with its CRI plugin, driven as the kubelet
# drives it (tests/cri/cri.py, CRI v1 over gRPC). Sourced after lib.sh (it sources
# lib-runtimes.sh itself):
#
#   . "$(dirname "$0")/lib.sh"; . "$(dirname "$0")/lib-cri.sh"
#   cri_start                                    # images built and imported, containerd up
#   pod_run web dev lockbox --annotation io.lockbox.secret.db=store:db
#   ctr_run web app -- /lockbox-shim -- /bin/lbx-testapp read-fd:3
#   ctr_wait web app                             # prints exit=N, returns N
#   ctr_value web app fd.3                       # what lbx-testapp printed as fd.3=...
#   pod_remove web
#
# containerd 1.6 (Debian 12), configuration version 2 ($CRI_DIR/config.toml), everything under
# $CRI_DIR=$T/cri: root, state, temp, the gRPC and ttrpc sockets, the runc root of every handler
# (options.Root), the CNI directories (empty: every pod uses the host's network, so no CNI
# plugin is needed; the CRI plugin then reports NetworkReady=false, which host-network pods do
# not mind). Two runtime handlers, both io.containerd.runc.v2:
#   runc     plain runc
#   lockbox  options.BinaryName = $LOCKBOX_BUILD/lockbox-runtime, called by containerd's shim
#            with runc's arguments only; it takes this test's broker configuration and state
#            directory from LOCKBOX_CONFIG and LOCKBOX_STATE_DIR in containerd's environment,
#            which its shims inherit (as a node would set them, if not at their defaults, with
#            Environment= in containerd's unit). pod_annotations and container_annotations are
#            $CRI_PASSTHROUGH (default ["io.lockbox.*"]).
#
# Facts (containerd 1.6.20, checked here):
# - The CRI plugin needs restrict_oom_score_adj = true (root lacks CAP_SYS_RESOURCE here).
# - A container's stdout and stderr go to the CRI log file <log_directory>/<log_path>: one line
#   per write, "<RFC 3339 time> <stdout|stderr> <P|F> <text>" (P: a partial line).
# - A container's OCI bundle ($CRI_DIR/state/io.containerd.runtime.v2.task/k8s.io/ID) is
#   removed when it exits: its config.json can be read only while it runs.
# - The shim of containerd 1.6 puts its socket under /run/containerd/s/ whatever the
#   configuration says. containerd therefore runs in a mount namespace of its own (unshare,
#   private propagation) with a tmpfs over /run: the machine's /run is never written. Every
#   mount containerd, runc and the broker make (rootfs snapshots, the sandbox's shm, a secrets
#   tmpfs before it is moved into a container) is in that namespace, not the host's:
#   cri_mounts reads them from /proc/<containerd>/mountinfo. The broker, run by runc as a
#   hook, sees that namespace as "the host".
# - Pods get cgroup_parent /<basename of $T>/pod<uid> (a kubelet with the cgroupfs driver says
#   /kubepods/besteffort/pod<uid>), so that cleanup removes this test's cgroups and no other.
#
# Cleanup (an rt_on_exit function, before lib.sh's): every pod stopped and removed through CRI,
# containerd stopped by its pid (TERM, then KILL), our shims (containerd-shim-runc-v2 with
# -address $CTD_SOCK) and any container left in our runc root killed, the mount namespace gone
# with its last process, our cgroups removed. Nothing outside $T is written.

. "$LBX_IT_DIR/lib-runtimes.sh"
rt_require containerd containerd ctr containerd-shim-runc-v2
if ! "$PY" -c 'import grpc, grpc_tools.protoc' 2>/dev/null; then
    "$LBX_IT_DIR/../deps.sh" python3-grpcio python3-grpc-tools >"$T/deps.log" 2>&1 ||
        skip "python3-grpcio, python3-grpc-tools cannot be installed: $(tail -n 1 "$T/deps.log")"
fi
command -v unshare >/dev/null 2>&1 || skip "unshare is missing (util-linux)"

CRI_DIR=$T/cri
CTD_SOCK=$CRI_DIR/containerd.sock
CTD_PID=
CRI_PY=$LBX_IT_DIR/../cri/cri.py
MKIMAGE=$LBX_IT_DIR/../cri/mkimage.py
PAUSE_IMAGE=lockbox.test/pause:1
APP_IMAGE=lockbox.test/app:1
CRI_PASSTHROUGH=${CRI_PASSTHROUGH:-'["io.lockbox.*"]'}
CGROUP_PARENT=/$(basename "$T")
# cri.py compiles the proto once per test into this directory.
export LBX_CRI_GEN=$CRI_DIR/gen
mkdir -p "$CRI_DIR"/{pods,images} "$T/pods"

# cri ARG...: the CRI client against our containerd.
cri() {
    timeout -k 5 90 "$PY" "$CRI_PY" --socket "$CTD_SOCK" "$@"
}

# ctrd ARG...: ctr in containerd's k8s.io namespace (where the CRI plugin keeps everything).
ctrd() {
    timeout 60 ctr --address "$CTD_SOCK" -n k8s.io "$@"
}

cri_write_config() {
    local P='plugins."io.containerd.grpc.v1.cri"'
    local R="$P.containerd.runtimes"
    cat >"$CRI_DIR/config.toml" <<EOF
version = 2
root = "$CRI_DIR/root"
state = "$CRI_DIR/state"
temp = "$CRI_DIR/tmp"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$CTD_SOCK"
[ttrpc]
  address = "$CTD_SOCK.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$CRI_DIR/opt"
[plugins."io.containerd.runtime.v1.linux"]
  runtime_root = "$CRI_DIR/runc-v1"
[$P]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
[$P.cni]
  bin_dir = "$CRI_DIR/cni/bin"
  conf_dir = "$CRI_DIR/cni/conf"
[$P.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
[$R.runc]
  runtime_type = "io.containerd.runc.v2"
[$R.runc.options]
  Root = "$CRI_DIR/runc"
[$R.lockbox]
  runtime_type = "io.containerd.runc.v2"
  pod_annotations = $CRI_PASSTHROUGH
  container_annotations = $CRI_PASSTHROUGH
[$R.lockbox.options]
  BinaryName = "$RT"
  Root = "$CRI_DIR/runc"
EOF
}

# cri_images: the pause image (busybox sleep as its entrypoint) and the app image (no
# entrypoint: busybox, /lockbox-shim, /bin/lbx-testapp), from lib.sh's template rootfs.
cri_images() {
    local tpl img
    tpl=$(lbx_template)
    mkdir -p "$CRI_DIR/pause/bin"
    cp "$tpl/bin/busybox" "$CRI_DIR/pause/bin/busybox"
    ln -s busybox "$CRI_DIR/pause/bin/sleep"
    "$PY" "$MKIMAGE" "$CRI_DIR/pause" "$PAUSE_IMAGE" "$CRI_DIR/images/pause.tar" \
        --entrypoint /bin/sleep --entrypoint 2147483647 || die "cannot build the pause image"
    "$PY" "$MKIMAGE" "$tpl" "$APP_IMAGE" "$CRI_DIR/images/app.tar" ||
        die "cannot build the app image"
    for img in pause app; do
        ctrd images import "$CRI_DIR/images/$img.tar" >/dev/null 2>"$CRI_DIR/import.err" ||
            die "ctr images import $img.tar failed: $(tail -n 1 "$CRI_DIR/import.err")"
    done
}

# cri_up: containerd answers (or has died: cri_start then says why).
cri_up() {
    kill -0 "$CTD_PID" 2>/dev/null || return 0
    [ -S "$CTD_SOCK" ] && ctrd version >/dev/null 2>&1
}

# cri_start: containerd in its own mount namespace (see the top of this file), then the images.
cri_start() {
    cri_write_config
    # shellcheck disable=SC2016 # expanded by the inner shell
    LOCKBOX_CONFIG=$CFG LOCKBOX_STATE_DIR=$STATE unshare --mount --propagation private sh -c '
        mount -t tmpfs -o mode=0755 lbx-run /run || exit 125
        exec containerd --config "$1/config.toml"' sh "$CRI_DIR" >"$CRI_DIR/containerd.log" 2>&1 &
    CTD_PID=$!
    if ! rt_wait_for 20 cri_up || ! kill -0 "$CTD_PID" 2>/dev/null; then
        die "containerd did not start: $(grep -v '^$' "$CRI_DIR/containerd.log" | tail -n 3)"
    fi
    cri_images
}

# cri_shims: pids of the containerd-shim-runc-v2 processes of our containerd (comm is cut to
# "containerd-shim"; the cmdline names our socket).
cri_shims() {
    local pid
    for pid in $(pgrep -x containerd-shim || true); do
        tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "-address $CTD_SOCK " &&
            echo "$pid"
    done
    return 0
}

# cri_mounts [DIR]: mount points at or below DIR (default $T) in containerd's mount namespace.
cri_mounts() {
    local dir=${1:-$T}
    [ -n "$CTD_PID" ] && [ -r "/proc/$CTD_PID/mountinfo" ] || return 0
    awk -v p="$dir" '$5 == p || index($5, p "/") == 1 {print $5}' "/proc/$CTD_PID/mountinfo"
}

# cri_tmpfs_secrets: tmpfs mounts that end in /run/secrets in containerd's mount namespace
# (where a secrets tmpfs would show if it ever reached the node).
cri_tmpfs_secrets() {
    [ -n "$CTD_PID" ] && [ -r "/proc/$CTD_PID/mountinfo" ] || return 0
    awk '{ for (i = 7; $i != "-"; i++) ; if ($(i + 1) == "tmpfs" && $5 ~ /\/run\/secrets$/) print $5 }' \
        "/proc/$CTD_PID/mountinfo"
}

# cri_stop: safe to call twice and from the EXIT trap (no command here fails the test).
cri_stop() {
    local p id rr=$CRI_DIR/runc/k8s.io
    if [ -n "$CTD_PID" ] && kill -0 "$CTD_PID" 2>/dev/null; then
        for p in "$CRI_DIR"/pods/*.id; do
            [ -e "$p" ] || continue
            case $p in *.*.id) continue ;; esac
            cri rmp --stop "$(cat "$p")" >/dev/null 2>&1 || true
        done
    fi
    rt_stop_pid "$CTD_PID" 10 || true
    if [ -d "$rr" ]; then
        for id in $(runc --root "$rr" list -q 2>/dev/null || true); do
            runc --root "$rr" kill "$id" KILL >/dev/null 2>&1 || true
        done
    fi
    for p in $(cri_shims); do
        rt_stop_pid "$p" 5 || true
    done
    if [ -d "$rr" ]; then
        for id in $(runc --root "$rr" list -q 2>/dev/null || true); do
            timeout 10 runc --root "$rr" delete -f "$id" >/dev/null 2>&1 || true
        done
    fi
    # Our cgroups, innermost first (empty once their processes are gone).
    find /sys/fs/cgroup/"${CGROUP_PARENT#/}" /sys/fs/cgroup/*/"${CGROUP_PARENT#/}" -depth \
        -type d -exec rmdir {} + 2>/dev/null || true
}
rt_on_exit cri_stop

# ---- pods and containers --------------------------------------------------------------------
# Ids are kept in $CRI_DIR/pods/POD.id and POD.NAME.id; CRI_RC and CRI_ERR hold the last
# call's status and error line.

pod_id() { cat "$CRI_DIR/pods/$1.id" 2>/dev/null; }
ctr_id() { cat "$CRI_DIR/pods/$1.$2.id" 2>/dev/null; }

# pod_uid NAME NAMESPACE: a stable uid (a UUID, as the API server makes them) for a pod name.
pod_uid() {
    "$PY" -c 'import sys, uuid; print(uuid.uuid5(uuid.NAMESPACE_URL, "lbx:%s/%s" % tuple(sys.argv[1:3])))' \
        "$2" "$1"
}

# cri_call OUTFILE ARG...: one CRI call; its stdout to OUTFILE, CRI_RC and CRI_ERR set.
cri_call() {
    local out=$1
    shift
    CRI_RC=0
    cri "$@" >"$out" 2>"$CRI_DIR/last.err" || CRI_RC=$?
    CRI_ERR=$(cat "$CRI_DIR/last.err")
    return "$CRI_RC"
}

# pod_run NAME NAMESPACE HANDLER [runp OPTION...]: RunPodSandbox of a host-network pod with
# the kubelet's log directory ($T/pods/NS_NAME_UID) and a cgroup parent of ours.
pod_run() {
    local name=$1 ns=$2 handler=$3 uid
    shift 3
    uid=$(pod_uid "$name" "$ns")
    echo "$T/pods/${ns}_${name}_$uid" >"$CRI_DIR/pods/$name.logdir"
    cri_call "$CRI_DIR/pods/$name.id" runp --name "$name" --namespace "$ns" --uid "$uid" \
        --handler "$handler" --log-dir "$T/pods/${ns}_${name}_$uid" \
        --cgroup-parent "$CGROUP_PARENT/pod$uid" "$@"
}

# ctr_create POD NAME [create OPTION...] -- COMMAND...: CreateContainer of the app image,
# logging to $T/pods/.../NAME/0.log.
ctr_create() {
    local pod=$1 name=$2
    shift 2
    cri_call "$CRI_DIR/pods/$pod.$name.id" create "$(pod_id "$pod")" --name "$name" \
        --image "$APP_IMAGE" --log-path "$name/0.log" "$@"
}

# ctr_run POD NAME [create OPTION...] -- COMMAND...: CreateContainer and StartContainer (one
# call of cri.py).
ctr_run() {
    ctr_create "$1" "$2" --start "${@:3}"
}

# ctr_wait POD NAME [SECONDS]: until the container has exited; prints exit=N, returns N.
ctr_wait() {
    cri wait "$(ctr_id "$1" "$2")" --timeout "${3:-30}"
}

# ctr_pid POD NAME: the host pid of the container's init (from ContainerStatus's info).
ctr_pid() {
    cri inspect "$(ctr_id "$1" "$2")" |
        "$PY" -c 'import json, sys; print(json.loads(json.load(sys.stdin)["info"]["info"])["pid"])'
}

# pod_remove NAME...: StopPodSandbox and RemovePodSandbox (which removes its containers) of
# each pod, in one call of cri.py.
pod_remove() {
    local p ids=()
    for p in "$@"; do
        ids+=("$(pod_id "$p")")
    done
    cri_call /dev/null rmp --stop "${ids[@]}"
}

# pod_log_dir NAME: the pod's log directory.
pod_log_dir() {
    cat "$CRI_DIR/pods/$1.logdir"
}

# ctr_out POD NAME [STREAM]: what the container wrote to stdout (or STREAM), partial lines
# joined.
ctr_out() {
    awk -v want="${3:-stdout}" '
        { n = length($1) + length($2) + length($3) + 3
          if ($2 != want) next
          acc = acc substr($0, n + 1)
          if ($3 == "F") { print acc; acc = "" } }
        END { if (acc != "") print acc }' "$(pod_log_dir "$1")/$2/0.log" 2>/dev/null
}

# ctr_value POD NAME KEY: what lbx-testapp printed as KEY=... (the first such line).
ctr_value() {
    ctr_out "$1" "$2" | awk -v k="$3=" 'index($0, k) == 1 {print substr($0, length(k) + 1); exit}'
}

# bundle_of_cri ID: the OCI bundle containerd made for a sandbox or container.
bundle_of_cri() {
    echo "$CRI_DIR/state/io.containerd.runtime.v2.task/k8s.io/$1"
}

# sa_volume POD NAMESPACE TOKEN: the pod's projected service-account volume as the kubelet
# writes it (its AtomicWriter): /var/lib/kubelet/pods/<uid>/volumes/kubernetes.io~projected/
# kube-api-access-lbx (here under $T/kubelet) holding a timestamped directory with token,
# namespace and ca.crt (0644), "..data" linked to it, and each name a symlink into ..data.
# Prints the directory: mount it with --mount "DIR:/var/run/secrets/kubernetes.io/serviceaccount:ro".
sa_volume() {
    local dir ts=..2026_01_01_00_00_00.000000001
    dir=$T/kubelet/pods/$(pod_uid "$1" "$2")/volumes/kubernetes.io~projected/kube-api-access-lbx
    rm -rf "$dir"
    mkdir -p "$dir/$ts"
    printf '%s' "$3" >"$dir/$ts/token"
    printf '%s' "$2" >"$dir/$ts/namespace"
    printf 'not a certificate\n' >"$dir/$ts/ca.crt"
    chmod 0644 "$dir/$ts"/*
    ln -s "$ts" "$dir/..data"
    ln -s ..data/token "$dir/token"
    ln -s ..data/namespace "$dir/namespace"
    ln -s ..data/ca.crt "$dir/ca.crt"
    echo "$dir"
}
SA_MOUNT=/var/run/secrets/kubernetes.io/serviceaccount

# ctr_state POD NAME: CONTAINER_CREATED, _RUNNING, _EXITED or _UNKNOWN.
ctr_state() {
    cri inspect "$(ctr_id "$1" "$2")" |
        "$PY" -c 'import json, sys; print(json.load(sys.stdin)["status"].get("state", "CONTAINER_CREATED"))'
}

# mounted_in PID PATH: PATH's mount entries in the mount table of process PID; fails (and the
# test with it) when that table cannot be read, so that an exited process never passes for
# one without mounts.
mounted_in() {
    if [ -z "$1" ] || [ "$1" -le 0 ] || [ ! -r "/proc/$1/mountinfo" ]; then
        echo "no process $1"
        return 1
    fi
    awk -v p="$2" '$5 == p' "/proc/$1/mountinfo"
}

# cri_audit ID: the audit log's lines about one container.
cri_audit() {
    grep -F "\"container\":\"$1\"" "$AUDIT" 2>/dev/null || true
}

# cri_normalise FILE: a config.json containerd wrote, with this run's paths and ids replaced by
# a node's (/var/lib/containerd, /run/containerd, /var/log/pods, /var/lib/kubelet, the kubelet's
# cgroup parent, /usr/local/bin, /etc/lockbox, /run/lockbox) and the sandbox's and containers'
# ids by fixed ones, so that the shapes recorded under tests/unit/data/cri/ stay comparable.
cri_normalise() {
    "$PY" - "$1" "$T" "$CRI_DIR" "$CGROUP_PARENT" "$LOCKBOX_BUILD" "$CFG" "$STATE" "${@:2}" <<'PYEOF'
import json, re, sys
path, t, cri, cgroup, build, cfg, state = sys.argv[1:8]
ids = sys.argv[8:]
text = open(path).read()
# Paths under $T first: the cgroup parent is $T's name too.
for old, new in ((cfg, "/etc/lockbox/broker.json"), (state, "/run/lockbox"),
                 (cri + "/state/io.containerd.runtime.v2.task", "/run/containerd/io.containerd.runtime.v2.task"),
                 (cri + "/state", "/run/containerd"), (cri + "/root", "/var/lib/containerd"),
                 (t + "/pods", "/var/log/pods"), (t + "/kubelet", "/var/lib/kubelet"),
                 (build + "/", "/usr/local/bin/"), (cgroup + "/", "/kubepods/besteffort/")):
    text = text.replace(old, new)
for i, ident in enumerate(ids):
    text = text.replace(ident, "%x" % (0xa + i) * 64)
# A container joins its sandbox's namespaces through the sandbox's pid.
text = re.sub(r"/proc/[0-9]+/ns/", "/proc/1234/ns/", text)
json.dump(json.loads(text), sys.stdout, indent=1, sort_keys=True)
print()
PYEOF
}
