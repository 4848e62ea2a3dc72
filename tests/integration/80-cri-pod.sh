#!/bin/bash
# 80-cri-pod.sh — a Kubernetes pod on containerd's real CRI plugin, driven as the kubelet drives
# it, on the runtime handler "lockbox" (BinaryName lockbox-runtime, io.lockbox.* passed through):
# the app (lockbox-shim) gets its secret by fd and the tmpfs is gone before it runs; the
# sandbox (pause) container gets nothing, not even hooks; a sidecar that does not run the shim
# never holds a tmpfs (nothing placed, audited), and one named in io.lockbox.containers is
# refused (exit 3); io.lockbox.containers leaves out who it does not name; pod removal leaves
# no state, mount or watcher. Also checks that the config.json shapes recorded under
# tests/unit/data/cri/ for the unit tests are what this containerd writes (RECORD=1 rewrites
# them).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-cri.sh"

cri_start

# ---- one pod: the sandbox, a sidecar without the shim, the app -----------------------------
pod_run web dev lockbox --annotation io.lockbox.secret.db=store:db ||
    die "RunPodSandbox: $CRI_ERR"
SB=$(pod_id web)
SB_CONFIG=$(bundle_of_cri "$SB")/config.json
assert_true "sandbox: running on the lockbox handler with the pod's lockbox annotation" \
    grep -qF '"io.lockbox.secret.db":"store:db"' "$SB_CONFIG"
assert_true "sandbox: lockbox-runtime added no hooks to its config.json" \
    "$PY" -c 'import json, sys; sys.exit(1 if json.load(open(sys.argv[1])).get("hooks") else 0)' \
    "$SB_CONFIG"

# The sidecar lives until it is stopped: its mount table is looked at while it runs.
ctr_run web side -- /bin/lbx-testapp mounted:/run/secrets wait-signal:TERM:60 \
    mounted:/run/secrets || die "sidecar: $CRI_ERR"
ctr_run web app -- /lockbox-shim -- /bin/lbx-testapp read-fd:3 mounted:/run/secrets ||
    die "app: $CRI_ERR"
assert_eq "app: exits 0" "exit=0" "$(ctr_wait web app)"
assert_eq "app: the secret at fd 3" "$SECRET" "$(ctr_value web app fd.3)"
assert_eq "app: /run/secrets is no mount point when it runs" "no" "$(ctr_value web app mounted./run/secrets)"
APP=$(ctr_id web app)
SIDE=$(ctr_id web side)
assert_contains "app: placed (an inject line)" "$(cri_audit "$APP")" '"event":"inject"'

assert_eq "sidecar: still running" "CONTAINER_RUNNING" "$(ctr_state web side)"
SIDE_PID=$(ctr_pid web side)
assert_eq "sidecar: no tmpfs at /run/secrets in its mount table while it runs" "" \
    "$(mounted_in "$SIDE_PID" /run/secrets)"
assert_contains "sidecar: nothing placed, audited" "$(cri_audit "$SIDE")" \
    '"event":"skip","container":"'"$SIDE"'","name":"web/side","role":"default","result":"skipped","reason":"its command is not lockbox-shim'
assert_eq "sandbox: no audit line (no hook ran for it)" "" "$(cri_audit "$SB")"
SB_PID=$(cri inspectp "$SB" | "$PY" -c 'import json, sys; print(json.loads(json.load(sys.stdin)["info"]["info"])["pid"])')
assert_eq "sandbox: no tmpfs at /run/secrets in its mount table" "" \
    "$(mounted_in "$SB_PID" /run/secrets)"
cri stop "$SIDE" --timeout 10 || fail "StopContainer sidecar"
assert_eq "sidecar: exits 0 when stopped" "exit=0" "$(ctr_wait web side)"
assert_eq "sidecar: /run/secrets never mounted, before and after" "no no" \
    "$(ctr_out web side | sed -n 's/^mounted.\/run\/secrets=//p' | tr '\n' ' ' | sed 's/ $//')"

# ---- the shapes the unit tests read (a container that lives long enough to be looked at) ----
SA=$(sa_volume web dev not-a-token)
ctr_run web shape --mount "$SA:$SA_MOUNT:ro" -- /lockbox-shim -- /bin/lbx-testapp sleep:3 ||
    die "shape: $CRI_ERR"
SHAPE=$(ctr_id web shape)
cri_normalise "$SB_CONFIG" "$SB" "$SHAPE" >"$T/sandbox.json"
cri_normalise "$(bundle_of_cri "$SHAPE")/config.json" "$SB" "$SHAPE" >"$T/container.json"
DATA=$LBX_IT_DIR/../unit/data/cri
if [ -n "${RECORD:-}" ]; then
    cp "$T/sandbox.json" "$DATA/containerd-sandbox.json"
    cp "$T/container.json" "$DATA/containerd-container.json"
fi
assert_eq "the recorded sandbox config.json is what containerd writes" "" \
    "$(diff "$DATA/containerd-sandbox.json" "$T/sandbox.json" | head -n 5)"
assert_eq "the recorded container config.json is what containerd writes" "" \
    "$(diff "$DATA/containerd-container.json" "$T/container.json" | head -n 5)"
ctr_wait web shape >/dev/null

# ---- io.lockbox.containers: who it names gets secrets; a named sidecar is refused -----------
pod_run named dev lockbox --annotation io.lockbox.secret.db=store:db \
    --annotation io.lockbox.containers=app,side || die "RunPodSandbox named: $CRI_ERR"
ctr_run named other -- /lockbox-shim -- /bin/lbx-testapp read-fd:3 || die "other: $CRI_ERR"
assert_eq "not named: the shim finds no secrets (exit 125)" "exit=125" "$(ctr_wait named other)"
assert_eq "not named: no audit line" "" "$(cri_audit "$(ctr_id named other)")"
ctr_run named app -- /lockbox-shim -- /bin/lbx-testapp read-fd:3 || die "named app: $CRI_ERR"
assert_eq "named app: exits 0" "exit=0" "$(ctr_wait named app)"
assert_eq "named app: the secret at fd 3" "$SECRET" "$(ctr_value named app fd.3)"
ctr_run named side -- /bin/lbx-testapp mounted:/run/secrets && RC=0 || RC=$?
assert_true "named sidecar without the shim: StartContainer fails" test "$RC" -ne 0
assert_contains "named sidecar: the hook exits 3" "$CRI_ERR" "exit status 3"
assert_contains "named sidecar: one line that says why" "$CRI_ERR" \
    "('side' of pod dev/named): named in io.lockbox.containers, but its command is not lockbox-shim: it would hold the secrets' tmpfs for its life (refused)"
assert_contains "named sidecar: audited as denied" "$(cri_audit "$(ctr_id named side)")" \
    '"event":"deny"'
assert_eq "named sidecar: it never ran" "" "$(ctr_out named side)"

# ---- pod removal: nothing of lockbox's left -------------------------------------------------
pod_remove web named || fail "remove the pods: $CRI_ERR"
assert_eq "removed: no state records" "" "$(ls -A "$STATE/containers" 2>/dev/null)"
assert_eq "removed: no secrets tmpfs in containerd's mount namespace" "" "$(cri_tmpfs_secrets)"
assert_eq "removed: no watcher" "" "$(our_watchers)"
assert_contains "removed: poststop ran for the app (a revoke line)" "$(cri_audit "$APP")" \
    '"event":"revoke"'
assert_no_secret_anywhere "$SECRET"
finish
