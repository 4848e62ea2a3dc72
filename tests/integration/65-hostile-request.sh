#!/bin/bash
# 65-hostile-request.sh — DESIGN §10.2 and §10.5 for what a container asks: hostile values in
# annotations and in process.env (overlong, NUL, newline, "../", an unknown backend, a mode of
# 7777, a uid of -1, ...) each fail with one clear line from the broker and exit 1, 2 or 3 —
# never a crash (134, 139) — with nothing left behind (no tmpfs, state or watcher) and no value
# printed. And a broker config that is a symlink, a FIFO or a directory is refused likewise
# (39-bad-config.sh covers ownership, modes and content).
#
# The real createRuntime hook runs against a fake container (lib-sec.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-sec.sh"

S=$(new_secret)
put_secret db "$S"
# Two values that fit the store but not together in the 1 MiB tmpfs.
head -c 700000 /dev/zero | tr '\0' a | broker store put big1 >/dev/null
head -c 700000 /dev/zero | tr '\0' b | broker store put big2 >/dev/null

long() { head -c "$1" /dev/zero | tr '\0' "${2:-a}"; }
n=0
# try NAME WANT_RC ANNOTATIONS_JSON [ENV_JSON]: WANT_RC is a list like "2" or "1 2 3".
try() {
    local name=$1 want=$2 bundle out
    n=$((n + 1))
    bundle=$T/req/$n
    fake_bundle "$bundle" "$3" "${4:-}"
    mkdir -p "$bundle/rootfs/run"
    fake_container "$bundle/rootfs"
    hook_run "r$n" "$CPID" "$bundle"
    out=$(head -c 300 "$T/hook.out")
    if [[ " $want " != *" $HOOK_RC "* ]]; then
        fail "$name: exit $HOOK_RC (want $want): $out"
    elif [ "$HOOK_RC" -ne 0 ] && ! one_line "$T/hook.out"; then
        fail "$name: not one line from the broker: $(head -c 600 "$T/hook.out")"
    elif grep -qF -- "$S" "$T/hook.out"; then
        fail "$name: the value was printed"
    elif ! nothing_left "r$n" "$CPID"; then
        fail "$name: left a tmpfs, state or watcher"
    elif [ "$HOOK_RC" -eq 0 ]; then
        pass "$name: exit 0, nothing placed"
    else
        pass "$name: exit $HOOK_RC: $out"
    fi
    fake_stop
}
a() { printf '{"io.lockbox.secret.db": "store:db", %s}' "$1"; }

# Control: the same harness places a plain request.
fake_bundle "$T/ctl" '{"io.lockbox.secret.db": "store:db"}'
mkdir -p "$T/ctl/rootfs/run"
fake_container "$T/ctl/rootfs"
hook_run ctl "$CPID" "$T/ctl"
assert_eq "control: a plain request is placed" "0 $T/ctl/rootfs/run/secrets" \
    "$HOOK_RC $(lockbox_mounts "$CPID")"
broker revoke ctl >/dev/null 2>&1 || true

# Names.
try "secret name of 129 characters" 2 "{\"io.lockbox.secret.$(long 129)\": \"store:db\"}"
try "secret name with ../" 2 '{"io.lockbox.secret.../x": "store:db"}'
try "secret name with a newline" 2 '{"io.lockbox.secret.d\nb": "store:db"}'
try "secret name with NUL (\\u0000)" 2 '{"io.lockbox.secret.d\u0000b": "store:db"}'
try "secret name starting with a dot" 2 '{"io.lockbox.secret..lockbox.json": "store:db"}'
try "empty secret name" 2 '{"io.lockbox.secret.": "store:db"}'
try "unknown io.lockbox key" 2 '{"io.lockbox.secret.db": "store:db", "io.lockbox.secrets.x": "y"}'
# References.
try "ref of 100 KiB" "2" "{\"io.lockbox.secret.db\": \"store:$(long 102400)\"}"
try "ref with NUL" 2 '{"io.lockbox.secret.db": "store:db\u0000x"}'
try "ref with a newline" 2 '{"io.lockbox.secret.db": "store:db\nx"}'
try "ref with ../" 2 '{"io.lockbox.secret.db": "store:../db"}'
try "ref with %2e%2e" 2 '{"io.lockbox.secret.db": "store:a/%2e%2e/db"}'
try "ref without a backend" 2 '{"io.lockbox.secret.db": "db"}'
try "ref that is not a string" 2 '{"io.lockbox.secret.db": 12}'
try "unknown backend" "2 3" '{"io.lockbox.secret.db": "nosuch:db"}'
try "store ref with a field" "1 2 3" '{"io.lockbox.secret.db": "store:db#pw"}'
try "missing secret" 1 '{"io.lockbox.secret.db": "store:nosuch"}'
# Modes, owners, flags.
try "mode 7777" 2 "$(a '"io.lockbox.mode.db": "7777"')"
try "mode 4755 (setuid)" 2 "$(a '"io.lockbox.mode.db": "4755"')"
try "mode 0800" 2 "$(a '"io.lockbox.mode.db": "0800"')"
try "mode -1" 2 "$(a '"io.lockbox.mode.db": "-1"')"
try "mode for a secret not asked for" 2 "$(a '"io.lockbox.mode.other": "0400"')"
try "uid -1" 2 "$(a '"io.lockbox.uid": "-1"')"
try "uid 4294967295 ((uid_t)-1)" 2 "$(a '"io.lockbox.uid": "4294967295"')"
try "uid 2^32" 2 "$(a '"io.lockbox.uid": "4294967296"')"
try "uid not a number" 2 "$(a '"io.lockbox.uid": "root"')"
try "gid -1" 2 "$(a '"io.lockbox.gid": "-1"')"
try "optional maybe" 2 "$(a '"io.lockbox.optional.db": "maybe"')"
try "rotate-signal 99" 2 "$(a '"io.lockbox.rotate-signal": "99"')"
try "rotate-signal SIGFOO" 2 "$(a '"io.lockbox.rotate-signal": "SIGFOO"')"
# Directories.
try "dir with ../" 2 "$(a '"io.lockbox.dir": "/run/../../etc"')"
try "dir relative" 2 "$(a '"io.lockbox.dir": "run/secrets"')"
try "dir with a newline" 2 "$(a '"io.lockbox.dir": "/run/sec\nrets"')"
try "dir of 8 KiB" "1 2" "$(a "\"io.lockbox.dir\": \"/$(long 8192)\"")"
try "dir component of 300 characters" "1 2" "$(a "\"io.lockbox.dir\": \"/run/$(long 300)\"")"
# Roles.
try "role with ../" "2 3" "$(a '"io.lockbox.role": "../default"')"
try "unknown role" 3 "$(a '"io.lockbox.role": "nosuch"')"
try "role of 4 KiB" "2 3" "$(a "\"io.lockbox.role\": \"$(long 4096)\"")"
# Sizes.
try "257 secrets" 2 "{$(for ((i = 0; i < 257; i++)); do printf '"io.lockbox.secret.s%d": "store:db",' $i; done) \"io.lockbox.dir\": \"/run/secrets\"}"
try "secrets larger than the tmpfs" 1 '{"io.lockbox.secret.a": "store:big1", "io.lockbox.secret.b": "store:big2"}'

# The same keys through process.env (Docker's channel).
try "env: name with ../" 2 '{}' '["PATH=/bin", "LOCKBOX_SECRET_../x=store:db"]'
try "env: ref with a newline" 2 '{}' '["LOCKBOX_SECRET_db=store:db\nLOCKBOX_DIR=/etc"]'
try "env: dir with ../" 2 '{}' '["LOCKBOX_SECRET_db=store:db", "LOCKBOX_DIR=/run/../etc"]'
try "env: uid -1" 2 '{}' '["LOCKBOX_SECRET_db=store:db", "LOCKBOX_UID=-1"]'
try "env: mode 7777" 2 '{}' '["LOCKBOX_SECRET_db=store:db", "LOCKBOX_MODE_db=7777"]'
# Skipped by design, as execve's consumers ignore it: no request, nothing placed.
try "env: entry without = is no request" 0 '{}' '["LOCKBOX_SECRET_db"]'
try "env: ref of 100 KiB" 2 '{}' "[\"LOCKBOX_SECRET_db=store:$(long 102400)\"]"
try "env and annotation disagree" 2 '{"io.lockbox.secret.db": "store:db"}' \
    '["LOCKBOX_SECRET_db=store:other"]'
try "env: the same key twice, different values" 2 '{}' \
    '["LOCKBOX_SECRET_db=store:db", "LOCKBOX_SECRET_db=store:other"]'

# The broker's own configuration: a symlink (to a good file), a FIFO, a directory.
good=$T/etc/good.json
cp -p "$CFG" "$good"
cfg_try() {
    local name=$1 rc=0
    timeout 10 "$BROKER" --config "$2" status >"$T/cfg.out" 2>&1 || rc=$?
    if [ $rc -eq 2 ] && one_line "$T/cfg.out" && grep -qF "$2" "$T/cfg.out"; then
        pass "config $name: $(cat "$T/cfg.out")"
    else
        fail "config $name: exit $rc: $(cat "$T/cfg.out")"
    fi
}
ln -s "$good" "$T/etc/link.json"
cfg_try "symlink to a good file" "$T/etc/link.json"
mkfifo -m 0600 "$T/etc/fifo.json"
cfg_try "FIFO (no writer: must not hang)" "$T/etc/fifo.json"
mkdir -m 0700 "$T/etc/dir.json"
cfg_try "directory" "$T/etc/dir.json"
cfg_try "missing, named explicitly" "$T/etc/nosuch.json"
finish
