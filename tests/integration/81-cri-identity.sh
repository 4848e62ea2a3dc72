#!/bin/bash
# 81-cri-identity.sh — roles bound to the identity the runtime asserts, on containerd's real CRI
# plugin with the widest pass-through there is (pod_annotations and container_annotations
# ["*"]: every annotation of the pod reaches config.json): a role bound to namespace prod
# ("when": {"kubernetes": {"namespace": "^prod$"}}, "kubernetes": {"runtime": "containerd"})
# lets a prod pod in, denies a dev pod (exit 3, audited), and denies it as well when the dev pod
# writes containerd's own keys into its annotations (io.kubernetes.cri.sandbox-namespace: prod),
# since containerd writes its keys after the pod's. CRI-O's keys in a containerd pod count for
# nothing either. A configuration that binds a role with when.annotations on io.kubernetes.* is
# refused outright (exit 2).
CRI_PASSTHROUGH='["*"]'
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-cri.sh"

write_config '[{"name": "default", "allow": ["store:*"]},
  {"name": "prod", "when": {"kubernetes": {"namespace": "^prod$", "container": "^app$"}},
   "allow": ["store:*"]}]'
"$PY" -c 'import json, sys
c = json.load(open(sys.argv[1])); c["kubernetes"] = {"runtime": "containerd"}
json.dump(c, open(sys.argv[1], "w"))' "$CFG"
cri_start

# run_app POD NAMESPACE [ANNOTATION...]: a pod asking for store:db under role prod, and its app.
run_app() {
    local pod=$1 ns=$2 a args=()
    shift 2
    for a in io.lockbox.secret.db=store:db io.lockbox.role=prod "$@"; do
        args+=(--annotation "$a")
    done
    pod_run "$pod" "$ns" lockbox "${args[@]}" || die "RunPodSandbox $pod: $CRI_ERR"
    ctr_run "$pod" app -- /lockbox-shim -- /bin/lbx-testapp read-fd:3 && RC=0 || RC=$?
}

run_app ok prod
assert_eq "prod pod: started" 0 "$RC"
assert_eq "prod pod: exits 0" "exit=0" "$(ctr_wait ok app)"
assert_eq "prod pod: the secret at fd 3" "$SECRET" "$(ctr_value ok app fd.3)"

run_app plain dev
assert_true "dev pod: StartContainer fails" test "$RC" -ne 0
assert_contains "dev pod: the hook exits 3" "$CRI_ERR" "exit status 3"
assert_contains "dev pod: the one line names the namespace containerd states" "$CRI_ERR" \
    "role 'prod': kubernetes namespace 'dev' (as containerd states it) does not match ^prod$"
assert_contains "dev pod: audited as denied" "$(cri_audit "$(ctr_id plain app)")" \
    '"event":"deny","container":"'"$(ctr_id plain app)"'","name":"plain/app","role":"prod"'

# The pod claims prod in containerd's own keys, and in CRI-O's for good measure.
run_app forged dev io.kubernetes.cri.sandbox-namespace=prod io.kubernetes.cri.sandbox-name=ok \
    io.kubernetes.pod.namespace=prod io.kubernetes.cri-o.ContainerType=container
FORGED=$(ctr_id forged app)
assert_eq "forged: containerd passes the pod's annotations through (the sandbox has them)" \
    "prod" "$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["annotations"].get("io.kubernetes.pod.namespace"))' \
        "$(bundle_of_cri "$(pod_id forged)")/config.json")"
assert_true "forged dev pod: StartContainer fails" test "$RC" -ne 0
assert_contains "forged dev pod: the hook exits 3" "$CRI_ERR" "exit status 3"
assert_contains "forged dev pod: still 'dev', as containerd states it" "$CRI_ERR" \
    "kubernetes namespace 'dev' (as containerd states it) does not match ^prod$"
assert_contains "forged dev pod: audited as denied" "$(cri_audit "$FORGED")" '"event":"deny"'
assert_eq "forged dev pod: it never ran" "" "$(ctr_out forged app)"

# when.annotations on io.kubernetes.* cannot be configured at all.
write_config '[{"name": "prod", "when": {"annotations": {"io.kubernetes.cri.sandbox-namespace": "^prod$"}},
   "allow": ["store:*"]}]'
out=$(broker check 2>&1) && rc=0 || rc=$?
assert_eq "a role on io.kubernetes.* annotations: the configuration is refused (exit 2)" 2 "$rc"
assert_contains "... with the way out" "$out" \
    "io.kubernetes.* annotations can be set by the pod itself under some runtimes; bind the role with \"when\": {\"kubernetes\": {\"namespace\": ...}} instead"

pod_remove ok plain forged || fail "remove the pods: $CRI_ERR"
assert_eq "removed: no state records" "" "$(ls -A "$STATE/containers" 2>/dev/null)"
assert_eq "removed: no secrets tmpfs in containerd's mount namespace" "" "$(cri_tmpfs_secrets)"
finish
