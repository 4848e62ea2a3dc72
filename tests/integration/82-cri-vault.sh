#!/bin/bash
# 82-cri-vault.sh — per-pod Vault identity on containerd's real CRI plugin: a Vault backend with
# kubernetes auth and no jwt_file logs in, for each pod's container, with that pod's projected
# service-account token (the kubelet's volume, symlinks and all, mounted at
# /var/run/secrets/kubernetes.io/serviceaccount), and the Vault fake's kubernetes auth (bound
# service accounts and namespaces, signatures checked as a TokenReview would) decides:
# dev/web's secret reaches dev/web pods, prod's is refused to them, a prod pod cannot log in.
# With pem_keys_file the login is cached under the service account (three pods, one login); a
# token of the pod's own making that claims dev/web is never handed that cached login. Without
# it every token logs in for itself. A token that is not a regular file, is too large, or a
# container without the volume stops the container with one line naming the pod. Leases are
# revoked at the container's end; pod removal leaves no state, mount or watcher.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-cri.sh"
. "$(dirname "$0")/lib-vault.sh"

DEV=$(new_secret)
PROD=$(new_secret)
k8s_keys
"$PY" "$FAKES/mkjwt.py" keygen "$T/other-cluster" || die "mkjwt.py keygen failed"
PUB=$("$PY" -c 'import json, sys; print(json.dumps(open(sys.argv[1]).read()))' "$T/k8s/sa.pub")
start_vault_fake "{
 \"kv\": {\"secret/dev/web/db\": {\"pw\": \"$DEV\"}, \"secret/prod/web/db\": {\"pw\": \"$PROD\"}},
 \"policies\": {\"dev-web\": [\"secret/data/dev/web/*\", {\"path\": \"database/creds/dev-web\", \"capabilities\": [\"read\"]},
                            {\"path\": \"sys/leases/revoke\", \"capabilities\": [\"update\"]}]},
 \"database\": {\"roles\": {\"dev-web\": {\"default_ttl\": \"1h\"}}},
 \"kubernetes\": {\"config\": {\"kubernetes_host\": \"https://k8s.test:6443\", \"pem_keys\": [$PUB]},
                \"tokenreview\": {\"public_keys\": [$PUB]},
                \"roles\": {\"pods\": {\"bound_service_account_names\": [\"web\"],
                                     \"bound_service_account_namespaces\": [\"dev\"],
                                     \"token_policies\": [\"dev-web\"], \"token_ttl\": \"1h\"}}}}"
install -m 0644 "$T/k8s/sa.pub" "$T/etc/k8s-sa.pub"
AUTH_KEYS="{\"method\": \"kubernetes\", \"role\": \"pods\", \"pem_keys_file\": \"$T/etc/k8s-sa.pub\"}"
AUTH_PLAIN='{"method": "kubernetes", "role": "pods"}'
write_vault_config "$AUTH_KEYS" "" '[{"name": "default", "allow": ["vault:*"]}]'
cri_start

logins() { vault_counter 'c["logins"].get("kubernetes", 0)'; }

# pod_app POD NAMESPACE TOKEN REF...: a pod asking for each REF (names a, b, ...), its app
# with the pod's service-account volume holding TOKEN (or none when TOKEN is "-"), printing
# fds 3, 4, ...; RC is StartContainer's status.
pod_app() {
    local pod=$1 ns=$2 token=$3 ref n=3 args=() ops=() name=a mount=()
    shift 3
    for ref in "$@"; do
        args+=(--annotation "io.lockbox.secret.$name=$ref")
        ops+=("read-fd:$n")
        n=$((n + 1))
        name=$(echo "$name" | tr a-y b-z)
    done
    pod_run "$pod" "$ns" lockbox "${args[@]}" || die "RunPodSandbox $pod: $CRI_ERR"
    [ "$token" = - ] || mount=(--mount "$(sa_volume "$pod" "$ns" "$token"):$SA_MOUNT:ro")
    ctr_run "$pod" app "${mount[@]}" -- /lockbox-shim -- /bin/lbx-testapp "${ops[@]}" && RC=0 || RC=$?
}

# ---- dev/web pods get dev/web's secret and a lease; one login for the service account --------
for i in 1 2 3; do
    pod_app "web$i" dev "$(k8s_jwt dev web --pod "web$i")" vault:secret/dev/web/db#pw \
        vault:database/creds/dev-web#password
    assert_eq "dev/web pod $i: started" 0 "$RC"
    assert_eq "dev/web pod $i: exits 0" "exit=0" "$(ctr_wait "web$i" app)"
    assert_eq "dev/web pod $i: dev/web's secret at fd 3" "$DEV" "$(ctr_value "web$i" app fd.3)"
    assert_match "dev/web pod $i: a database password at fd 4" "$(ctr_value "web$i" app fd.4)" '^[A-Za-z0-9-]{8,}$'
done
assert_eq "three pods of one service account: one kubernetes login (pem_keys_file)" 1 "$(logins)"

# ---- what Vault's policies and bindings refuse ------------------------------------------------
pod_app p2 dev "$(k8s_jwt dev web --pod p2)" vault:secret/prod/web/db#pw
assert_true "dev/web asks for prod's secret: refused" test "$RC" -ne 0
assert_contains "... one line naming the pod and the service account" "$CRI_ERR" \
    "secret 'a' (vault:secret/prod/web/db#pw): permission denied (403) (pod dev/p2, service account dev/web)"

pod_app p3 prod "$(k8s_jwt prod web --pod p3)" vault:secret/prod/web/db#pw
assert_true "a prod pod: its login is refused" test "$RC" -ne 0
assert_contains "... one line naming the pod and the service account" "$CRI_ERR" \
    "vault login (kubernetes as pod prod/p3, service account prod/web): permission denied (403)"

# A token the pod made itself (another key), claiming dev/web, whose login is in the cache.
pod_app evil dev "$("$PY" "$FAKES/mkjwt.py" mint "$T/other-cluster/sa.key" --namespace dev \
    --service-account web --pod evil)" vault:secret/dev/web/db#pw
assert_true "a forged dev/web token: refused, the cached dev/web login is not handed out" \
    test "$RC" -ne 0
assert_contains "... Vault refused the token itself" "$CRI_ERR" \
    "vault login (kubernetes as pod dev/evil, service account dev/web): permission denied (403)"

# ---- the token file itself (one pod, a container each) --------------------------------------
# bad_token NAME: a container of pod "bad" with its own copy of the volume, where the token is
# what the caller then makes of $V/token.
pod_run bad dev lockbox --annotation io.lockbox.secret.a=vault:secret/dev/web/db#pw ||
    die "RunPodSandbox bad: $CRI_ERR"
V=$(sa_volume bad dev x)
rm "$V/token" && mkdir "$V/token"
ctr_run bad dir --mount "$V:$SA_MOUNT:ro" -- /lockbox-shim -- /bin/lbx-testapp read-fd:3 && RC=0 || RC=$?
assert_true "token is a directory: refused" test "$RC" -ne 0
assert_contains "... one line naming the pod and the file" "$CRI_ERR" \
    "vault login (kubernetes as pod dev/bad, service account ?): service-account token $V/token: not a regular file"
rmdir "$V/token" && head -c 20000 /dev/zero | tr '\0' a >"$V/token"
ctr_run bad big --mount "$V:$SA_MOUNT:ro" -- /lockbox-shim -- /bin/lbx-testapp read-fd:3 && RC=0 || RC=$?
assert_contains "token larger than a JWT can be: refused in one line" "$CRI_ERR" \
    "vault login (kubernetes as pod dev/bad, service account ?): service-account token $V/token: larger than 16384 bytes (not a JWT)"
ln -sf /etc/hostname "$V/token"
ctr_run bad out --mount "$V:$SA_MOUNT:ro" -- /lockbox-shim -- /bin/lbx-testapp read-fd:3 && RC=0 || RC=$?
assert_contains "token a symlink out of its volume: refused in one line" "$CRI_ERR" \
    "service-account token $V/token: leaves its volume (refused)"
ctr_run bad nomount -- /lockbox-shim -- /bin/lbx-testapp read-fd:3 && RC=0 || RC=$?
assert_contains "no service-account volume and no jwt_file: refused in one line" "$CRI_ERR" \
    "vault login (kubernetes): no jwt_file, and the container has no service-account token mount"

# ---- without pem_keys_file: a login per token, never a cached one for a new token -------------
write_vault_config "$AUTH_PLAIN" "" '[{"name": "default", "allow": ["vault:*"]}]'
before=$(logins)
for i in 4 5; do
    pod_app "web$i" dev "$(k8s_jwt dev web --pod "web$i")" vault:secret/dev/web/db#pw
    assert_eq "no pem_keys_file, dev/web pod $i: dev/web's secret" "$DEV" \
        "$( [ "$RC" = 0 ] && ctr_wait "web$i" app >/dev/null; ctr_value "web$i" app fd.3)"
done
assert_eq "no pem_keys_file: one login per token" $((before + 2)) "$(logins)"
pod_app evil2 dev "$("$PY" "$FAKES/mkjwt.py" mint "$T/other-cluster/sa.key" --namespace dev \
    --service-account web --pod evil2)" vault:secret/dev/web/db#pw
assert_contains "no pem_keys_file, a forged dev/web token: refused by Vault" "$CRI_ERR" \
    "vault login (kubernetes as pod dev/evil2, service account dev/web): permission denied (403)"

# ---- the end of the pods ----------------------------------------------------------------------
pod_remove web1 web2 web3 p2 p3 evil bad web4 web5 evil2 || fail "remove the pods: $CRI_ERR"
leases=$(vault_ctl GET /leases)
assert_eq "three leases were issued" 3 "$(printf '%s' "$leases" | "$PY" -c 'import json, sys; print(len(json.load(sys.stdin)))')"
assert_eq "every lease was revoked at its container's end (by the pod's own login)" "revoked revoked revoked" \
    "$(printf '%s' "$leases" | "$PY" -c 'import json, sys; print(" ".join(l["how"] or "live" for l in json.load(sys.stdin)))')"
assert_eq "removed: no state records" "" "$(ls -A "$STATE/containers" 2>/dev/null)"
assert_eq "removed: no secrets tmpfs in containerd's mount namespace" "" "$(cri_tmpfs_secrets)"
assert_eq "removed: no watcher" "" "$(our_watchers)"
assert_no_secret_anywhere "$DEV" "dev/web's secret"
assert_no_secret_anywhere "$PROD" "prod's secret"
finish
