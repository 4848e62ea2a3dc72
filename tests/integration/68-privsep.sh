#!/bin/bash
# 68-privsep.sh — the fetch runs in a child without privileges (broker/fetch/privsep.h): under
# strace -f of a real hook, the process that opens the store's key and sealed file has emptied
# its bounding set and kept only CAP_SETUID and CAP_SETGID (to drop its uid next), set
# no_new_privs, and is not the process that creates and attaches the tmpfs; the process that
# talks to Vault runs as uid 65534 with no capability and a seccomp filter, and could not
# open root's credential files by path (they were opened before the drop); lease revocation
# runs so too. The values reach the root half, which places them. A failing fetch still fails
# with one line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-sec.sh"
. "$(dirname "$0")/lib-vault.sh"
# The hook's own fetch child under strace; the warm fetch agent's confinement is 74-agent's.
AGENT_JSON='{"enabled": false}'
command -v strace >/dev/null 2>&1 || skip "strace is not installed (make deps)"

# traced_hook ID ANNOTATIONS TRACE SYSCALLS: a fake container (CPID, bundle $T/ID) asking for
# ANNOTATIONS, and the createRuntime hook for it under strace -f -e trace=SYSCALLS into TRACE.
# strace follows the watcher, which lives until revoke: the tracer runs in the background
# (its pid in tracer) and this returns once the tmpfs is attached, or after 10 s.
traced_hook() {
    local id=$1 bundle=$T/$1 i
    fake_bundle "$bundle" "$2"
    mkdir -p "$bundle/rootfs/run"
    fake_container "$bundle/rootfs"
    printf '{"ociVersion":"1.0.2","id":"%s","status":"creating","pid":%s,"bundle":"%s"}' \
        "$id" "$CPID" "$bundle" >"$T/$id.state.json"
    timeout 60 strace -f -qq -s 256 -e trace="$4" -e signal=none -o "$3" "$BROKER" \
        --config "$CFG" --state-dir "$STATE" hook createRuntime <"$T/$id.state.json" \
        >"$T/hook.out" 2>&1 &
    tracer=$!
    for ((i = 0; i < 500; i++)); do
        [ -z "$(lockbox_mounts "$CPID")" ] || break
        sleep 0.02
    done
}

S=$(new_secret)
put_secret db "$S"
bundle=$T/p1
traced_hook p1 '{"io.lockbox.secret.db": "store:db"}' "$T/trace" \
    capset,prctl,seccomp,openat,fsopen,move_mount,setresuid,connect
assert_eq "the hook placed the secret: the tmpfs is attached" "$bundle/rootfs/run/secrets" \
    "$(lockbox_mounts "$CPID")"
assert_eq "the values reached the root half (the file on the tmpfs holds them)" "$S" \
    "$(cat "/proc/$CPID/root$bundle/rootfs/run/secrets/db" 2>/dev/null || true)"
broker revoke p1 >/dev/null 2>&1 || true
wait_gone "$tracer" 20 || true
wait "$tracer" || true

fetcher=$(awk '/openat\(.*db\.sealed/ {print $1; exit}' "$T/trace")
placer=$(awk '/fsopen\("tmpfs"/ {print $1; exit}' "$T/trace")
assert_true "a process opened the sealed file" test -n "$fetcher"
assert_true "the fetcher is not the process that mounts" test "$fetcher" != "$placer"
# Everything the fetcher did before it opened the sealed file (one awk: a sed that quits early
# could leave awk writing to a closed pipe, SIGPIPE under pipefail).
before=$(awk -v p="$fetcher" '$1 == p {print} $1 == p && /db\.sealed/ {exit}' "$T/trace")
# A filter loaded: the call that succeeded with a program (libseccomp probes the kernel's
# flags first with calls that fail with EFAULT).
FILTER_LOADED='(seccomp\(SECCOMP_SET_MODE_FILTER, [^,]*, \{len=[0-9]+, filter=0x[0-9a-f]+\}\)|prctl\(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, .*\)) += 0'
# libcap-ng names the process by its pid in capset, where the old code said 0 (itself).
capset_re() {
    printf 'capset\\(\\{version=_LINUX_CAPABILITY_VERSION_3, pid=(0|%s)\\}, \\{%s\\}\\) += 0' "$1" "$2"
}
assert_match "the store's reader kept no capability but the uid change's" "$before" \
    "$(capset_re "$fetcher" "effective=1<<CAP_SETGID\\|1<<CAP_SETUID, permitted=1<<CAP_SETGID\\|1<<CAP_SETUID, inheritable=0")"
assert_contains "the store's reader set no_new_privs" "$before" "prctl(PR_SET_NO_NEW_PRIVS, 1"
assert_contains "the store's reader dropped its bounding set" "$before" "prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN"
after=$(awk -v p="$fetcher" '$1 == p' "$T/trace" | sed '1,/db\.sealed/d')
assert_match "then it switched to uid 65534" "$after" "setresuid\\(65534, 65534, 65534\\) += 0"
assert_match "then it emptied its capability sets" "$after" \
    "$(capset_re "$fetcher" "effective=0, permitted=0, inheritable=0")"
# libcap-ng drops what the running kernel has, 0 to cap_last_cap, and nothing past it (the
# old loop to 63 failed with EINVAL for each capability this kernel lacks).
assert_eq "each of the kernel's capabilities dropped from the bounding set" \
    "$(($(cat /proc/sys/kernel/cap_last_cap) + 1))" \
    "$(printf '%s\n' "$before" | grep -cE 'PR_CAPBSET_DROP, [^)]*\) += 0$' || true)"
assert_eq "no capability the kernel does not have (no EINVAL)" "" \
    "$(printf '%s\n' "$before" | grep 'PR_CAPBSET_DROP.*EINVAL' || true)"
assert_match "then it installed its seccomp filter" "$after" \
    "$FILTER_LOADED"
fake_stop

# The filter's opt-out, "fetcher": {"seccomp": false}: check and status say so (status on
# stderr, its --json output unchanged); a hook still places the secret, and its fetcher installs
# no filter.
assert_contains "check: the fetcher's filter for this architecture" "$(broker check 2>&1)" \
    "seccomp filter for $(uname -m): ok"
sed -i 's|^{"state_dir": |{"fetcher": {"seccomp": false}, "state_dir": |' "$CFG"
assert_contains "opt-out: check says so" "$(broker check 2>&1)" \
    'fetcher: uid 65534 gid 65534, WITHOUT a seccomp filter ("fetcher": {"seccomp": false})'
assert_contains "opt-out: status says so" "$(broker status 2>&1 >/dev/null)" \
    'fetcher: runs WITHOUT a seccomp filter'
assert_true "opt-out: status --json is still JSON" \
    "$PY" -c 'import json, sys; json.load(sys.stdin)' < <(broker status --json 2>/dev/null)
traced_hook p3 '{"io.lockbox.secret.db": "store:db"}' "$T/otrace" prctl,seccomp,openat,setresuid
assert_eq "opt-out: the hook placed the secret" "$S" \
    "$(cat "/proc/$CPID/root$T/p3/rootfs/run/secrets/db" 2>/dev/null || true)"
broker revoke p3 >/dev/null 2>&1 || true
wait_gone "$tracer" 20 || true
wait "$tracer" || true
ofetcher=$(awk '/openat\(.*db\.sealed/ {print $1; exit}' "$T/otrace")
assert_true "opt-out: a process read the store" test -n "$ofetcher"
assert_match "opt-out: it still dropped its uid" "$(awk -v p="$ofetcher" '$1 == p' "$T/otrace")" \
    "setresuid\\(65534, 65534, 65534\\) += 0"
assert_eq "opt-out: it installed no filter" "" \
    "$(awk -v p="$ofetcher" '$1 == p' "$T/otrace" | grep -E 'SECCOMP_SET_MODE_FILTER|SECCOMP_MODE_FILTER' || true)"
fake_stop
write_config "$DEFAULT_ROLES"

# A fetch that fails in the child: one line from it, the hook fails, nothing left.
fake_bundle "$T/f2" '{"io.lockbox.secret.db": "store:nosuch"}'
mkdir -p "$T/f2/rootfs/run"
fake_container "$T/f2/rootfs"
hook_run p2 "$CPID" "$T/f2"
assert_eq "a missing secret: the hook exits 1" 1 "$HOOK_RC"
assert_true "a missing secret: one line" one_line "$T/hook.out"
assert_contains "a missing secret: the line names it" "$(cat "$T/hook.out")" "no such secret"
assert_true "a missing secret: nothing left" nothing_left p2 "$CPID"
fake_stop

# Vault over TLS with AppRole (credential files 0600 root, a CA file, the token cache) and a
# leased dynamic secret, revoked at poststop.
VS=$(new_secret)
start_vault_fake "{
 \"policies\": {\"app\": [\"secret/data/app/*\",
                         {\"path\": \"database/creds/app\", \"capabilities\": [\"read\"]},
                         {\"path\": \"sys/leases/revoke\", \"capabilities\": [\"update\"]}]},
 \"kv\": {\"secret/app/db\": {\"pw\": \"$VS\"}},
 \"approle\": {\"roles\": {\"app\": {\"role_id\": \"rid\", \"policies\": [\"app\"], \"token_ttl\": \"1h\"}},
             \"secret_ids\": [{\"role\": \"app\", \"secret_id\": \"sid\", \"num_uses\": 0}]},
 \"database\": {\"roles\": {\"app\": {\"default_ttl\": \"1h\", \"max_ttl\": \"24h\"}}}}"
write_vault_config "$(auth_approle rid sid)"
port=$(cat "$T/vault.port")
traced_hook pv '{"io.lockbox.secret.db": "vault:secret/app/db#pw",
                 "io.lockbox.secret.dyn": "vault:database/creds/app#password"}' \
    "$T/vtrace" capset,prctl,seccomp,setresuid,connect,openat
assert_eq "vault: the value reached the tmpfs" "$VS" \
    "$(cat "/proc/$CPID/root$T/pv/rootfs/run/secrets/db" 2>/dev/null || true)"
timeout 60 strace -f -qq -e trace=setresuid,connect,capset -e signal=none -o "$T/rtrace" \
    "$BROKER" --config "$CFG" --state-dir "$STATE" revoke pv >/dev/null 2>&1 || true
wait_gone "$tracer" 20 || true
wait "$tracer" || true
talker=$(awk -v port="$port" '/connect\(.*sin_port=htons\(/ && index($0, "htons(" port ")") {print $1; exit}' "$T/vtrace")
assert_true "vault: a process connected to Vault" test -n "$talker"
vbefore=$(awk -v p="$talker" '$1 == p' "$T/vtrace" | sed '/connect(.*htons('"$port"')/q')
assert_match "vault: it was uid 65534 first" "$vbefore" "setresuid\\(65534, 65534, 65534\\) += 0"
assert_match "vault: with no capability" "$vbefore" \
    "$(capset_re "$talker" "effective=0, permitted=0, inheritable=0")"
assert_match "vault: under its seccomp filter" "$vbefore" \
    "$FILTER_LOADED"
assert_contains "vault: the role id file was opened before the drop" \
    "$(printf '%s\n' "$vbefore" | sed '/setresuid/q')" "etc/role-id"
assert_eq "vault: it opened nothing under etc/ after the drop" "" \
    "$(printf '%s\n' "$vbefore" | sed '1,/setresuid/d' | grep "$T/etc/" || true)"
assert_eq "vault: the token cache is the fetcher's" "65534 700" "$(stat -c '%u %a' "$STATE/tokens")"
rtalker=$(awk -v port="$port" 'index($0, "htons(" port ")") {print $1; exit}' "$T/rtrace")
assert_true "revoke: a process connected to Vault" test -n "$rtalker"
assert_match "revoke: as uid 65534" "$(awk -v p="$rtalker" '$1 == p' "$T/rtrace")" \
    "setresuid\\(65534, 65534, 65534\\) += 0"
assert_eq "revoke: the lease was revoked" 1 "$(vault_counter 'c["leases_revoked"]')"
fake_stop
assert_no_secret_anywhere "$S"
assert_no_secret_anywhere "$VS"
finish
