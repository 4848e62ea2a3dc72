#!/bin/bash
# 68-privsep.sh — the fetch runs in a child without privileges (broker/privsep.h): under
# strace -f of a real hook, the process that opens the store's key and sealed file (and would
# talk to Vault or Keywhiz) has emptied its capability sets, set no_new_privs and installed
# its seccomp filter before, and is not the process that creates and attaches the tmpfs; the
# values reach the root half, which places them. A failing fetch still fails with one line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-sec.sh"
command -v strace >/dev/null 2>&1 || skip "strace is not installed (make deps)"

S=$(new_secret)
put_secret db "$S"
bundle=$T/fake
fake_bundle "$bundle" '{"io.lockbox.secret.db": "store:db"}'
mkdir -p "$bundle/rootfs/run"
fake_container "$bundle/rootfs"
printf '{"ociVersion":"1.0.2","id":"p1","status":"creating","pid":%s,"bundle":"%s"}' \
    "$CPID" "$bundle" >"$T/state.json"
# strace -f follows the watcher, which lives until revoke: trace in the background.
timeout 60 strace -f -qq -s 256 -e trace=capset,prctl,seccomp,openat,fsopen,move_mount \
    -e signal=none -o "$T/trace" "$BROKER" --config "$CFG" --state-dir "$STATE" \
    hook createRuntime <"$T/state.json" >"$T/hook.out" 2>&1 &
tracer=$!
for ((i = 0; i < 500; i++)); do
    [ -z "$(lockbox_mounts "$CPID")" ] || break
    sleep 0.02
done
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
# Everything the fetcher did before it opened the sealed file.
before=$(awk -v p="$fetcher" '$1 == p' "$T/trace" | sed '/db\.sealed/q')
assert_contains "the fetcher emptied its capability sets" "$before" \
    "capset({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, {effective=0, permitted=0, inheritable=0})"
assert_contains "the fetcher set no_new_privs" "$before" "prctl(PR_SET_NO_NEW_PRIVS, 1"
assert_match "the fetcher installed a seccomp filter" "$before" \
    "(seccomp\\(SECCOMP_SET_MODE_FILTER|prctl\\(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)"
assert_contains "the fetcher dropped its bounding set" "$before" "prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN"
fake_stop

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
assert_no_secret_anywhere "$S"
finish
