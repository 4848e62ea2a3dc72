# shellcheck shell=bash
# tests/integration/lib-vault.sh — sourced after lib.sh by the Vault tests (4N-vault-*.sh):
#
#   . "$(dirname "$0")/lib.sh"; . "$(dirname "$0")/lib-vault.sh"
#   start_vault_fake            # or use_real_vault (LOCKBOX_TEST_VAULT_ADDR, _TOKEN)
#   vault_api POST secret/data/app/db '{"data": {"pw": "..."}}'
#   write_vault_config "$(auth_token)"
#   vault_run c1 db=vault:secret/app/db#pw      # a container that prints fd.3, fd.4, ...
#
# Secrets are written through Vault's own API (the fake implements it), so that the same checks
# run against the fake and against a real Vault. The fake's control API (tests/fakes/README.md)
# arms faults and reads counters.

FAKES=$LBX_IT_DIR/../fakes
VAULT_ADDR=
VAULT_CTL=
VAULT_CA=
KV1=kv1 # a KV v1 mount (the fake has one; on a real Vault use_real_vault enables one)
VAULT_TIMEOUT_MS=${VAULT_TIMEOUT_MS:-5000}

command -v curl >/dev/null 2>&1 || skip "curl is not installed (make deps)"
command -v openssl >/dev/null 2>&1 || skip "openssl is not installed (make deps)"

# cred NAME CONTENT: a credential file under $T/etc, 0600 root; prints its path.
cred() {
    (umask 077 && printf '%s\n' "$2" >"$T/etc/$1")
    echo "$T/etc/$1"
}

# start_vault_fake [SEED_JSON]: the fake on a free port with a fresh PKI in $T/pki and a root
# token of its own in $T/etc/vault-root-token (random: finding it in a log means a leak). Sets
# VAULT_ADDR, VAULT_CTL, VAULT_CA.
start_vault_fake() {
    local i seed=${1:-} root
    [ -n "$seed" ] || seed='{}'
    root=hvs.$(new_secret)
    "$FAKES/mkcerts.sh" "$T/pki" || die "mkcerts.sh failed"
    # In the seed, not on the fake's command line (which assert_no_secret_anywhere reads).
    "$PY" -c 'import json, sys; d = json.loads(sys.argv[1]); d.setdefault("root_token", sys.argv[2]); print(json.dumps(d))' \
        "$seed" "$root" >"$T/vault-seed.json" || die "bad seed"
    "$PY" "$FAKES/vault_fake.py" --port 0 --cert "$T/pki/server.pem" --key "$T/pki/server.key" \
        --client-ca "$T/pki/client-cas.pem" --port-file "$T/vault.port" \
        --control-port-file "$T/vault.ctl" --seed "$T/vault-seed.json" \
        --die-with-parent 2>"$T/vault.log" &
    BG_PIDS+=($!)
    for ((i = 0; i < 200; i++)); do
        [ -s "$T/vault.port" ] && break
        kill -0 "${BG_PIDS[-1]}" 2>/dev/null || die "the Vault fake did not start: $(tail -n 3 "$T/vault.log")"
        sleep 0.05
    done
    [ -s "$T/vault.port" ] || die "the Vault fake did not start within 10 s"
    VAULT_ADDR=https://127.0.0.1:$(cat "$T/vault.port")
    VAULT_CTL=http://127.0.0.1:$(cat "$T/vault.ctl")
    VAULT_CA=$T/pki/ca.pem
    cred vault-root-token "$root" >/dev/null
}

# use_real_vault: LOCKBOX_TEST_VAULT_ADDR (+ _TOKEN, optional _CACERT) instead of the fake;
# skips the test (exit 77) when they are not set. KV v1 gets a mount of its own.
use_real_vault() {
    if [ -z "${LOCKBOX_TEST_VAULT_ADDR:-}" ] || [ -z "${LOCKBOX_TEST_VAULT_TOKEN:-}" ]; then
        skip "LOCKBOX_TEST_VAULT_ADDR and LOCKBOX_TEST_VAULT_TOKEN are not set (no real Vault to test against)"
    fi
    VAULT_ADDR=${LOCKBOX_TEST_VAULT_ADDR%/}
    VAULT_CA=${LOCKBOX_TEST_VAULT_CACERT:-}
    cred vault-root-token "$LOCKBOX_TEST_VAULT_TOKEN" >/dev/null
    KV1=lbx-kv1-$$
    vault_api POST "sys/mounts/$KV1" '{"type": "kv", "options": {"version": "1"}}' >/dev/null ||
        die "cannot enable a KV v1 mount at $KV1 on $VAULT_ADDR"
    VAULT_CLEANUP+=("DELETE sys/mounts/$KV1")
    # shellcheck disable=SC2154 # rc is assigned inside the trap's own text
    trap 'rc=$?; vault_real_cleanup; (exit $rc); lbx_cleanup' EXIT
}
VAULT_CLEANUP=()

# Undo what a test wrote into a real Vault (before lib.sh's cleanup, from the EXIT trap).
vault_real_cleanup() {
    local c
    for c in "${VAULT_CLEANUP[@]}"; do
        # shellcheck disable=SC2086 # METHOD PATH, split on purpose
        vault_api $c >/dev/null 2>&1 || true
    done
}

# vault_api METHOD PATH [BODY]: Vault's HTTP API as root (the token goes in a header file, not
# in curl's argv). Prints the body; fails on a status >= 400.
vault_api() {
    local hdr=$T/etc/vault-api.hdr
    (umask 077 && printf 'X-Vault-Token: %s\n' "$(cat "$T/etc/vault-root-token")" >"$hdr")
    curl -sS --fail-with-body ${VAULT_CA:+--cacert "$VAULT_CA"} -H @"$hdr" -X "$1" \
        ${3:+--data "$3"} "$VAULT_ADDR/v1/$2"
}

# vault_wrapped_secret_id ROLE: a new AppRole secret id for ROLE, response-wrapped (as an
# orchestrator hands one out); prints the wrapping token.
vault_wrapped_secret_id() {
    local hdr=$T/etc/vault-api.hdr
    (umask 077 && printf 'X-Vault-Token: %s\nX-Vault-Wrap-TTL: 300\n' "$(cat "$T/etc/vault-root-token")" >"$hdr")
    curl -sS --fail-with-body ${VAULT_CA:+--cacert "$VAULT_CA"} -H @"$hdr" -X POST --data '{}' \
        "$VAULT_ADDR/v1/auth/approle/role/$1/secret-id" |
        "$PY" -c 'import json, sys; print(json.load(sys.stdin)["wrap_info"]["token"])'
}

# k8s_keys: a service-account signing key pair of our own "cluster" ($T/k8s/sa.key, sa.pub,
# tests/fakes/mkjwt.py); k8s_jwt NAMESPACE SERVICE_ACCOUNT [mint OPTION...]: a token it signed,
# shaped as the kubelet's projected token.
k8s_keys() {
    [ -s "$T/k8s/sa.key" ] || "$PY" "$FAKES/mkjwt.py" keygen "$T/k8s" || die "mkjwt.py keygen failed"
}
k8s_jwt() {
    k8s_keys
    "$PY" "$FAKES/mkjwt.py" mint "$T/k8s/sa.key" --namespace "$1" --service-account "$2" "${@:3}" ||
        die "mkjwt.py mint failed"
}

# vault_ctl METHOD PATH [BODY]: the fake's control API.
vault_ctl() {
    curl -sS --fail-with-body -X "$1" ${3:+--data "$3"} "$VAULT_CTL$2"
}

# vault_counter EXPR: a Python expression over c = GET /counters, e.g. 'c["logins"]["approle"]'.
vault_counter() {
    vault_ctl GET /counters | "$PY" -c '
import json, sys
c = json.load(sys.stdin)
try:
    print(eval(sys.argv[1]))
except (KeyError, IndexError):
    print(0)' "$1"
}

# vault_fault JSON: arm a fault in the fake.
vault_fault() {
    vault_ctl POST /faults "$1" >/dev/null || die "cannot arm fault $1"
}

# Auth objects for write_vault_config.
auth_token() {
    echo "{\"method\": \"token\", \"token_file\": \"$(cred vault-token "$1")\"}"
}

# auth_approle ROLE_ID SECRET_ID [WRAPPED(true|false)]
auth_approle() {
    echo "{\"method\": \"approle\", \"role_id_file\": \"$(cred role-id "$1")\",
           \"secret_id_file\": \"$(cred secret-id "$2")\", \"secret_id_wrapped\": ${3:-false}}"
}

# write_vault_config AUTH_JSON [MORE_BACKEND_KEYS] [ROLES_JSON]: the broker's configuration
# with the store and a "vault" backend. MORE_BACKEND_KEYS is JSON text that goes inside the
# backend object (', "namespace": "ns1"'). AGENT_JSON, when set, is the "agent" object (a test
# of the hook's own fetch child sets '{"enabled": false}'; by default hooks start the agent).
AGENT_JSON=${AGENT_JSON:-}
write_vault_config() {
    local roles=${3:-'[{"name": "default", "allow": ["store:*", "vault:*"]}]'}
    cat >"$CFG" <<EOF
{"state_dir": "$STATE",
 "audit_log": "$AUDIT",${AGENT_JSON:+
 \"agent\": $AGENT_JSON,}
 "defaults": {"timeout_ms": $VAULT_TIMEOUT_MS},
 "backends": {"store": {"type": "store", "dir": "$STORE", "key_file": "$KEY"},
              "vault": {"type": "vault", "address": "$VAULT_ADDR"${VAULT_CA:+, \"ca_file\": \"$VAULT_CA\"},
                        "auth": $1 ${2:-}}},
 "roles": $roles}
EOF
    chown 0:0 "$CFG"
    chmod 0600 "$CFG"
}

# vault_run ID NAME=REF...: a container asking for each NAME=REF (an annotation each) whose
# application prints its secrets (fd.3, fd.4, ... in name order); hooks at -v, the broker's
# stderr appended to $T/broker.err (VAULT_HOOK_OPTS= for none: runc then reports the broker's
# stderr when the hook fails, see hook_error).
vault_run() {
    vault_bundle "$@"
    run_container "$1"
}

# vault_bundle ID NAME=REF...: vault_run's container, made and not run.
vault_bundle() {
    local id=$1 kv ops=() n=3
    shift
    for kv in "$@"; do
        ops+=("read-fd:$n")
        n=$((n + 1))
    done
    make_bundle "$id" /lockbox-shim -- /bin/lbx-testapp "${ops[@]}"
    for kv in "$@"; do
        annotate "$id" "io.lockbox.secret.${kv%%=*}=${kv#*=}"
    done
    # shellcheck disable=SC2086 # options, split on purpose
    add_hooks "$id" ${VAULT_HOOK_OPTS--v}
}

# vault_until EXPR N: until the fake's counter EXPR (as vault_counter takes it) reaches N, at
# most 10 s; false if it does not.
vault_until() {
    local i
    for ((i = 0; i < 200; i++)); do
        [ "$(vault_counter "$1")" -ge "$2" ] && return 0
        sleep 0.05
    done
    return 1
}

# vault_fault_fired: until the fake has fired a fault (at most 10 s); false if it has not.
vault_fault_fired() {
    vault_until 'c["faults_fired"]' 1
}

# hook_error ID: the broker's line, as runc reports a failed hook.
hook_error() {
    sed -n 's/.*error running hook[^"]*stderr: \(.*\)"$/\1/p' "$T/out/$1.err" | sed 's/\\n$//'
}

# assert_fails_cleanly ID DESCRIPTION ERE: the container did not start, the broker said one line
# matching ERE, and nothing is left behind.
assert_fails_cleanly() {
    local id=$1 err lines
    err=$(hook_error "$id")
    assert_true "$2: runc run fails" test "$RC" -ne 0
    assert_eq "$2: the application never ran" "" "$(output "$id")"
    lines=$(printf '%s' "$err" | sed 's/\\n/\n/g' | grep -c . || true)
    assert_eq "$2: one line from the broker" 1 "$lines"
    assert_match "$2: it says why" "$err" "$3"
    assert_clean "$id"
}

# vault_kv_suite: the KV checks, the same against the fake and a real Vault: KV v1, KV v2 latest,
# a pinned version, a field (a string, and a number written as its JSON), the whole object;
# the values in no log line at -v, nothing left behind.
vault_kv_suite() {
    local p=lbx-$$-$RANDOM a b v1 v2 whole
    a=$(new_secret)
    b=$(new_secret)
    v1=$(new_secret)
    v2=$(new_secret)
    vault_api POST "secret/data/$p/db" "{\"data\": {\"password\": \"$a\", \"user\": \"app\", \"port\": 5432}}" >/dev/null ||
        die "cannot write secret/$p/db"
    vault_api POST "$KV1/$p/api" "{\"key\": \"$b\"}" >/dev/null || die "cannot write $KV1/$p/api"
    vault_api POST "secret/data/$p/multi" "{\"data\": {\"v\": \"$v1\"}}" >/dev/null || die "cannot write version 1"
    vault_api POST "secret/data/$p/multi" "{\"data\": {\"v\": \"$v2\"}}" >/dev/null || die "cannot write version 2"
    VAULT_CLEANUP+=("DELETE secret/metadata/$p/db" "DELETE secret/metadata/$p/multi")
    write_vault_config "$(auth_token "$(cat "$T/etc/vault-root-token")")"

    # Names in order a..g are fds 3..9.
    vault_run kv a=vault:secret/$p/db#password b=vault:$KV1/$p/api#key c=vault:secret/$p/multi#v \
        d=vault:secret/$p/multi#v@1 e=vault:secret/$p/db f=vault:secret/$p/db#port g=vault:$KV1/$p/api
    assert_eq "KV: runc run exits 0" 0 "$RC"
    assert_eq "KV v2, a field" "$a" "$(out_value kv fd.3)"
    assert_eq "KV v1, a field" "$b" "$(out_value kv fd.4)"
    assert_eq "KV v2, the latest version" "$v2" "$(out_value kv fd.5)"
    assert_eq "KV v2, a pinned version (@1)" "$v1" "$(out_value kv fd.6)"
    whole=$("$PY" -c 'import json, sys; print(json.dumps(json.loads(sys.argv[1]), separators=(",", ":")))' "$(out_value kv fd.7)")
    assert_eq "KV v2, the whole data object as compact JSON" \
        "{\"password\":\"$a\",\"port\":5432,\"user\":\"app\"}" "$whole"
    assert_eq "KV v2, a field that is not a string: its JSON" 5432 "$(out_value kv fd.8)"
    assert_eq "KV v1, the whole object" "{\"key\":\"$b\"}" "$(out_value kv fd.9)"
    assert_contains "the audit log records KV v2 versions" "$(cat "$AUDIT")" '"version":"2"'
    assert_clean kv
    local s
    for s in "$a" "$b" "$v1" "$v2"; do
        assert_no_secret_anywhere "$s" "KV value"
    done
    assert_no_secret_anywhere "$(cat "$T/etc/vault-root-token")" "the Vault token"
}
