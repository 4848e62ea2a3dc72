#!/bin/bash
# 59-rotate-hostile.sh — a container that tampers with what rotation writes into (DESIGN §10.3,
# SECURITY.md): its tmpfs is its own to write to, and its target directory too. Acting as the
# container's root (through /proc/PID/root): a symlink where a secret was is replaced, not
# followed; a directory in a secret's place, a FIFO as the manifest, a lock held on the tmpfs, a
# full tmpfs each fail the rotation promptly with one line and change nothing; after the shim
# consumed, a symlink in place of the target directory is refused and nothing is mounted.
. "$(dirname "$0")/lib.sh"
. "$LBX_IT_DIR/lib-rotate.sh"

put_secret db "$(new_secret)"
put_secret api "$(new_secret)"

# rotate_rc ARG...: OUT and RC; within 10 s, or it counts as hung (RC 124).
rotate_rc() {
    RC=0
    OUT=$(timeout 10 "$BROKER" --config "$CFG" --state-dir "$STATE" rotate "$@" 2>"$T/rotate.err") || RC=$?
}
# entries DIR: the names in DIR, dot files included, on one line.
entries() {
    (
        shopt -s dotglob nullglob
        cd "$1" && echo *
    )
}
# change: new values for both secrets.
change() {
    put_secret db "$(new_secret)"
    put_secret api "$(new_secret)"
}
# consistent DIR: do the files match the manifest's hashes?
consistent() {
    "$PY" - "$1" <<'PYEOF'
import hashlib, json, os, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, ".lockbox.json")))
for e in m["secrets"]:
    data = open(os.path.join(d, e["file"]), "rb").read()
    if hashlib.blake2b(data, digest_size=32).hexdigest() != e["blake2b"]:
        sys.exit(1)
PYEOF
}

make_bundle k1 /bin/lbx-testapp sleep:300
annotate k1 io.lockbox.secret.db=store:db io.lockbox.secret.api=store:api
add_hooks k1
start_container k1
pid=$(container_field k1 pid)
root=/proc/$pid/root
dir=$root/run/secrets

# A symlink in db's place, to a file of the container's: replaced, never written through.
printf canary >"$root/canary"
rm -f "$dir/db"
ln -s /canary "$dir/db"
change
rotate_rc k1
assert_eq "symlink: rotate exits 0" 0 "$RC"
assert_true "symlink: db is a regular file again" test -f "$dir/db" -a ! -L "$dir/db"
assert_eq "symlink: the file it pointed to is untouched" canary "$(cat "$root/canary")"
assert_true "symlink: the set matches its manifest" consistent "$dir"

# Each of these must fail at once, say why in one line, and leave the set as it was.
# check_untouched WHAT [MANIFEST]: generation, manifest (at MANIFEST, .lockbox.json by default)
# as before; no temporary file.
check_untouched() {
    assert_eq "$1: the record keeps its generation" "$gen" "$(record k1 generation)"
    assert_eq "$1: the manifest is the same file" "$manifest" "$(stat -c %i "$dir/${2:-.lockbox.json}")"
    assert_not_contains "$1: no temporary file left" "$(entries "$dir")" lockbox-new
    assert_contains "$1: the audit log records the failure" "$(tail -n 1 "$AUDIT")" '"result":"failed"'
}
gen=$(record k1 generation)
manifest=$(stat -c %i "$dir/.lockbox.json")

cp -p "$dir/api" "$T/api.saved"
rm -f "$dir/api"
mkdir -p "$dir/api/x"
change
rotate_rc k1
assert_eq "a directory in api's place: exit 1" 1 "$RC"
assert_match "a directory in api's place: said" "$OUT" "k1 api: failed: .*a directory is in its place on the tmpfs \\(refused\\)"
check_untouched "a directory in api's place"
rm -rf "$dir/api"
cp -p "$T/api.saved" "$dir/api"
assert_true "a directory in api's place: the set is whole again" consistent "$dir"

mv "$dir/.lockbox.json" "$dir/.saved"
mkfifo -m 0600 "$dir/.lockbox.json"
rotate_rc k1
assert_eq "a FIFO as the manifest: exit 1, not hung" 1 "$RC"
assert_match "a FIFO as the manifest: said" "$OUT" "k1 db: failed: .*manifest on its tmpfs is missing or not lockbox's"
check_untouched "a FIFO as the manifest" .saved
# Renamed back over the FIFO: deleting the manifest's name is what tells the watcher that the
# shim consumed the set, and it would unmount the tmpfs.
mv -f "$dir/.saved" "$dir/.lockbox.json"

# Held by this shell (its fd is inherited by the broker, but the broker's flock is on an open of
# its own, which this one excludes).
exec {held}<"$dir"
flock "$held"
# It gives up (rotate_rc's timeout would say otherwise) and says after how long: no clock here.
rotate_rc k1
assert_eq "a lock held on the tmpfs: exit 1" 1 "$RC"
assert_match "a lock held on the tmpfs: said" "$OUT" "k1 db: failed: .*locked for 2000 ms \\(by a process in the container\\)"
check_untouched "a lock held on the tmpfs"
exec {held}<&-

dd if=/dev/zero of="$dir/junk" bs=64k count=32 2>/dev/null || true
rotate_rc k1
assert_eq "a full tmpfs: exit 1" 1 "$RC"
assert_match "a full tmpfs: said" "$OUT" "k1 [a-z]+: failed: .*No space left on device"
check_untouched "a full tmpfs"
assert_true "a full tmpfs: the set still matches its manifest" consistent "$dir"
rm -f "$dir/junk"

rotate_rc k1
assert_eq "cleaned up: rotate exits 0" 0 "$RC"
assert_true "cleaned up: the set matches its manifest" consistent "$dir"
assert_eq "cleaned up: the files are the manifest's and nothing else" ".lockbox.consumed .lockbox.json api db" \
    "$(entries "$dir")"

# With the shim, after it consumed: a symlink in place of the target directory.
make_bundle s1 /lockbox-shim -- /bin/lbx-testapp fds watch-fd:4:USR2:1000
annotate s1 io.lockbox.secret.db=store:db io.lockbox.secret.api=store:api
add_hooks s1
start_container s1
spid=$(container_field s1 pid)
assert_true "s1: consumed" wait_record s1 consumed true
rmdir "/proc/$spid/root/run/secrets"
ln -s /tmp "/proc/$spid/root/run/secrets"
change
rotate_rc s1
assert_eq "a symlinked target: exit 1" 1 "$RC"
assert_match "a symlinked target: refused, said" "$OUT" \
    "s1 db: failed: container s1: target /run/secrets: a component is a symlink or not a directory \\(refused\\)"
assert_eq "a symlinked target: nothing mounted on /tmp" "" "$(mounts_in "$spid" /tmp)"
assert_eq "a symlinked target: nor at /run/secrets" "" "$(mounts_in "$spid" /run/secrets)"
assert_eq "a symlinked target: the record keeps generation 1" 1 "$(record s1 generation)"
assert_eq "a symlinked target: and says consumed" true "$(record s1 consumed)"
assert_eq "a symlinked target: no watcher of s1 left" "" \
    "$(for p in $(our_watchers); do [ "$p" = "$(record k1 watcher_pid)" ] || echo "$p"; done)"
assert_eq "a symlinked target: the application was not restarted" 1 "$(count_out s1 "fds=0,1,2,3,4")"

for id in k1 s1; do
    runc --root "$RUNC_ROOT" kill "$id" KILL
    wait_stopped "$id" || true
    delete_container "$id"
done
assert_clean k1
assert_clean s1
finish
