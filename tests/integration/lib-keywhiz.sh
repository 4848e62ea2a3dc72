# shellcheck shell=bash
# tests/integration/lib-keywhiz.sh — sourced after lib.sh by the Keywhiz tests (7N-keywhiz-*.sh):
#
#   . "$(dirname "$0")/lib.sh"; . "$(dirname "$0")/lib-keywhiz.sh"
#   V=$(new_secret)
#   start_keywhiz_fake "{\"secrets\": {\"db\": {\"content\": \"$V\"}},
#                        \"clients\": {\"lockbox-client\": {\"secrets\": [\"db\"]}}}"
#   write_keywhiz_config client
#   keywhiz_run c1 db=keywhiz:db        # a container that prints fd.3, fd.4, ...
#
# The fake (tests/fakes/keywhiz_fake.py) trusts only mkcerts.sh's first CA for clients, as a
# Keywhiz's Jetty trusts its own: client2.pem (another CA, same CN) fails the handshake. Its
# control API arms faults and reads counters. hook_error and assert_fails_cleanly come from
# lib-vault.sh.

# shellcheck source=tests/integration/lib-vault.sh
. "$LBX_IT_DIR/lib-vault.sh"

KW_ADDR=
KW_CTL=
KW_TIMEOUT_MS=${KW_TIMEOUT_MS:-5000}

# start_keywhiz_fake SEED_JSON: the fake on a free port with a fresh PKI in $T/pki (the seed,
# which holds the values, goes in a file: never on a command line). Sets KW_ADDR and KW_CTL.
start_keywhiz_fake() {
    local i
    [ -e "$T/pki/ca.pem" ] || "$FAKES/mkcerts.sh" "$T/pki" || die "mkcerts.sh failed"
    (umask 077 && printf '%s\n' "$1" >"$T/keywhiz-seed.json")
    "$PY" "$FAKES/keywhiz_fake.py" --port 0 --cert "$T/pki/server.pem" --key "$T/pki/server.key" \
        --client-ca "$T/pki/ca.pem" --port-file "$T/keywhiz.port" \
        --control-port-file "$T/keywhiz.ctl" --seed "$T/keywhiz-seed.json" \
        --die-with-parent 2>"$T/keywhiz.log" &
    BG_PIDS+=($!)
    for ((i = 0; i < 200; i++)); do
        [ -s "$T/keywhiz.port" ] && break
        kill -0 "${BG_PIDS[-1]}" 2>/dev/null || die "the Keywhiz fake did not start: $(tail -n 3 "$T/keywhiz.log")"
        sleep 0.05
    done
    [ -s "$T/keywhiz.port" ] || die "the Keywhiz fake did not start within 10 s"
    KW_ADDR=https://localhost:$(cat "$T/keywhiz.port")
    KW_CTL=http://127.0.0.1:$(cat "$T/keywhiz.ctl")
}

# kw_ctl METHOD PATH [BODY]: the fake's control API.
kw_ctl() {
    curl -sS --fail-with-body -X "$1" ${3:+--data "$3"} "$KW_CTL$2"
}

# kw_counter EXPR: a Python expression over c = GET /counters, e.g. 'c["batch_requests"]'.
kw_counter() {
    kw_ctl GET /counters | "$PY" -c '
import json, sys
c = json.load(sys.stdin)
try:
    print(eval(sys.argv[1]))
except (KeyError, IndexError):
    print(0)' "$1"
}

# kw_fault JSON: arm a fault in the fake.
kw_fault() {
    kw_ctl POST /faults "$1" >/dev/null || die "cannot arm fault $1"
}

# kw_reset: counters zeroed, faults disarmed (the seed stays).
kw_reset() {
    if ! kw_ctl POST /counters/reset >/dev/null || ! kw_ctl DELETE /faults >/dev/null; then
        die "cannot reset the Keywhiz fake"
    fi
}

# kw_add_users ID: the owner and groups the metadata tests name, in the container's /etc/passwd
# and /etc/group only (never the host's): kwapp (2001), kwgrp (3001) and kwgrp2 (3002).
kw_add_users() {
    local root
    root=$(bundle_of "$1")/rootfs
    echo 'kwapp:x:2001:2001:kw:/tmp:/bin/sh' >>"$root/etc/passwd"
    printf '%s\n' 'kwgrp:x:3001:kwapp' 'kwgrp2:x:3002:kwapp' >>"$root/etc/group"
}

# write_keywhiz_config CLIENT: the broker's configuration with the store and a "keywhiz"
# backend whose client certificate is $T/pki/CLIENT.pem ("client", CN lockbox-client; "client2"
# has the same CN from another CA).
write_keywhiz_config() {
    local client=$1
    cat >"$CFG" <<EOF
{"state_dir": "$STATE",
 "audit_log": "$AUDIT",
 "defaults": {"timeout_ms": $KW_TIMEOUT_MS},
 "backends": {"store": {"type": "store", "dir": "$STORE", "key_file": "$KEY"},
              "keywhiz": {"type": "keywhiz", "url": "$KW_ADDR", "ca_file": "$T/pki/ca.pem",
                          "cert_file": "$T/pki/$client.pem", "key_file": "$T/pki/$client.key"}},
 "roles": [{"name": "default", "allow": ["store:*", "keywhiz:*"]}]}
EOF
    chown 0:0 "$CFG"
    chmod 0600 "$CFG"
}

# keywhiz_run ID NAME=REF...: a container asking for each NAME=REF (an annotation each) whose
# application, under the shim, prints its secrets (fd.3, fd.4, ... in name order); hooks at -v,
# the broker's stderr appended to $T/broker.err.
keywhiz_run() {
    vault_run "$@"
}

# keywhiz_fail_run ID NAME=REF... [KEY=VALUE annotations...]: as keywhiz_run, with the hooks
# at the default verbosity so that runc reports the broker's line (hook_error); for the checks
# of a container that must not start.
keywhiz_fail_run() {
    local id=$1 kv
    shift
    make_bundle "$id" /lockbox-shim -- /bin/lbx-testapp read-fd:3
    for kv in "$@"; do
        case $kv in
        io.lockbox.*) annotate "$id" "$kv" ;;
        *) annotate "$id" "io.lockbox.secret.${kv%%=*}=${kv#*=}" ;;
        esac
    done
    add_hooks "$id"
    run_container "$id"
}
