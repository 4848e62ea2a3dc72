#!/bin/bash
# 17-no-request.sh — a container that asks for no secret runs exactly as without lockbox's hooks
# (DESIGN §3: "No request: exit 0 at once"): same output, nothing created in its rootfs, no
# state, no mount, no watcher, and no measurable cost on its start.
. "$(dirname "$0")/lib.sh"

ops=(fds mounted:/run/secrets ls:/run ls:/ env id)
make_bundle plain /bin/lbx-testapp "${ops[@]}"
make_bundle hooked /bin/lbx-testapp "${ops[@]}"
# Annotations of other tools (and none of lockbox's).
annotate hooked org.opencontainers.image.title=demo io.kubernetes.pod.namespace=prod
annotate plain org.opencontainers.image.title=demo io.kubernetes.pod.namespace=prod
add_hooks hooked

run_container plain
assert_eq "without hooks: runc run exits 0" 0 "$RC"
run_container hooked
assert_eq "with hooks: runc run exits 0" 0 "$RC"
assert_eq "the same output with and without the hooks" "$(output plain)" "$(output hooked)"
assert_eq "nothing mounted at /run/secrets" no "$(out_value hooked mounted./run/secrets)"
assert_true "no /run/secrets created in the rootfs" test ! -e "$(bundle_of hooked)/rootfs/run/secrets"
assert_eq "no state recorded" "" "$(ls -A "$STATE/containers" 2>/dev/null)"
assert_eq "no audit line" "" "$(cat "$AUDIT" 2>/dev/null || true)"
assert_clean hooked

# Start time. Any OCI hook costs runc a fork and exec and a wait (several ms here); what
# lockbox adds on top is the broker reading config.json and leaving. So: the broker's hooks
# against the same hooks running /bin/true, best of 7 runs each, interleaved, so that a noisy
# neighbour does not decide. The time without any hook is printed for the record.
make_bundle truehooks /bin/lbx-testapp "${ops[@]}"
add_hook truehooks createRuntime /bin/true true
add_hook truehooks poststop /bin/true true
declare -A best=([plain]=999999999 [truehooks]=999999999 [hooked]=999999999)
for ((i = 0; i < 7; i++)); do
    for id in plain truehooks hooked; do
        t0=$(date +%s%N)
        run_container "$id"
        t1=$(date +%s%N)
        [ "$RC" -eq 0 ] || die "$id: runc run exited $RC"
        (((t1 - t0) / 1000 < best[$id])) && best[$id]=$(((t1 - t0) / 1000))
    done
done
echo "start time, best of 7: no hooks ${best[plain]} us, /bin/true as hooks" \
    "${best[truehooks]} us, lockbox-broker as hooks ${best[hooked]} us"
assert_true "without a request, the broker's hooks cost no more than /bin/true's (+20 %, +3 ms)" \
    test "${best[hooked]}" -le $((best[truehooks] * 120 / 100 + 3000))
finish
