#!/bin/bash
# 17-no-request.sh — a container that asks for no secret runs exactly as without lockbox's hooks
# (DESIGN §3: "No request: exit 0 at once"): same output, nothing created in its rootfs, no
# state, no mount, no watcher. What the hooks cost in time is measured by `make bench`, not
# asserted here: a timed assertion fails on a loaded machine, not on a broken feature.
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

finish
