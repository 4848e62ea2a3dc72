#!/bin/bash
# 69-coprocess.sh — a process that shares the container with the shim and runs before it (`runc
# exec` between `runc create` and `runc start`, as the container user) cannot decide what the
# application receives, nor keep a copy that outlives the consumption (issue 13, items 2-3):
#   - forge by rename: a file and a manifest with a matching BLAKE2b hash, renamed over the
#     broker's (so that the watcher sees no deletion): refused, the application gets the
#     broker's value;
#   - forge in place: the secret file rewritten by its owner, and the manifest as well where
#     the co-process may: the shim refuses with one line (exit 125), nothing runs;
#   - a hard link made to the secret file, and the co-process's cwd kept in the tmpfs: no link
#     can be made, and once the application runs nothing is left to read through that cwd;
#   - the consumption marker written early: the watcher empties and unmounts the tmpfs before
#     the shim reads it, which then fails closed (exit 125, the command never runs).
# Each case is a real runc container run as uid 1000 with the shim as its entrypoint.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-sec.sh"

S=$(new_secret)
FORGED=$(new_secret)
put_secret db "$S"

# create ID: `runc create` (the createRuntime hook places the secrets); the container's stdio
# go to $T/out/ID.{out,err}.
create() {
    RC=0
    timeout -k 5 30 runc --root "$RUNC_ROOT" create --bundle "$(bundle_of "$1")" "$1" \
        >"$T/out/$1.out" 2>"$T/out/$1.err" </dev/null || RC=$?
}

# as_user ID SCRIPT: a co-process of the container, uid 1000, in the foreground.
as_user() {
    timeout -k 5 30 runc --root "$RUNC_ROOT" exec --user 1000:1000 "$1" sh -c "$2" \
        >>"$T/out/$1.coproc" 2>&1 </dev/null || true
}

start_and_wait() {
    timeout -k 5 30 runc --root "$RUNC_ROOT" start "$1" >>"$T/out/$1.err" 2>&1 || true
    wait_stopped "$1" 20 || true
}

# app_bundle ID [OP...]: the shim, then lbx-testapp read-fd:3 OP..., as 1000:1000, with a
# world-writable /x for the co-process's files.
app_bundle() {
    make_bundle "$1" /lockbox-shim -- /bin/lbx-testapp read-fd:3 "${@:2}"
    set_user "$1" 1000 1000
    annotate "$1" io.lockbox.secret.db=store:db
    add_hooks "$1"
    mkdir -m 1777 "$(bundle_of "$1")/rootfs/x"
}

# forged_manifest ID: the container's manifest with db's size and hash those of $FORGED.
forged_manifest() {
    "$PY" - "/proc/$(container_field "$1" pid)/root/run/secrets/.lockbox.json" "$FORGED" <<'EOF'
import hashlib, json, sys
m = json.load(open(sys.argv[1]))
v = sys.argv[2].encode()
for e in m["secrets"]:
    if e["name"] == "db":
        e["size"] = len(v)
        e["blake2b"] = hashlib.blake2b(v, digest_size=len(e["blake2b"]) // 2).hexdigest()
print(json.dumps(m, separators=(",", ":")), end="")
EOF
}

# 1. Forge by rename (write-and-rename, as the issue's attacker did).
app_bundle rename
create rename
assert_eq "rename: runc create exits 0" 0 "$RC"
rootfs=$(bundle_of rename)/rootfs
printf '%s' "$FORGED" >"$rootfs/x/db"
forged_manifest rename >"$rootfs/x/m"
as_user rename 'cd /run/secrets &&
    { cp /x/db .f && mv -f .f db && echo db=replaced || echo db=refused; } &&
    { cp /x/m .m && mv -f .m .lockbox.json && echo manifest=replaced || echo manifest=refused; }'
assert_contains "rename: the co-process could not replace db" "$(cat "$T/out/rename.coproc")" db=refused
assert_contains "rename: nor the manifest" "$(cat "$T/out/rename.coproc")" manifest=refused
start_and_wait rename
assert_eq "rename: the application gets the broker's value" "$S" "$(out_value rename fd.3)"
assert_not_contains "rename: never the forged one" "$(output rename)" "$FORGED"
delete_container rename

# 2. Forge in place: the owner of db rewrites it (chmod, write, chmod back), and the manifest
# too where it can.
app_bundle inplace
create inplace
rootfs=$(bundle_of inplace)/rootfs
printf '%s' "$FORGED" >"$rootfs/x/db"
forged_manifest inplace >"$rootfs/x/m"
as_user inplace 'cd /run/secrets &&
    { chmod 0600 db && cat /x/db >db && chmod 0400 db && echo db=rewritten || echo db=refused; }
    { chmod 0600 .lockbox.json 2>/dev/null && cat /x/m >.lockbox.json && echo manifest=rewritten ||
        echo manifest=refused; }'
assert_contains "in place: the owner rewrote db" "$(cat "$T/out/inplace.coproc")" db=rewritten
assert_contains "in place: not the manifest" "$(cat "$T/out/inplace.coproc")" manifest=refused
start_and_wait inplace
assert_eq "in place: the application did not run" "" "$(output inplace)"
assert_eq "in place: one line from the shim" 1 "$(grep -c '^lockbox-shim: ' "$T/out/inplace.err" || true)"
assert_contains "in place: which says why" "$(errors inplace)" \
    "secret 'db' (/run/secrets/db): BLAKE2b hash does not match the manifest"
assert_not_contains "in place: and quotes no value" "$(errors inplace)" "$FORGED"
delete_container inplace

# 3. A hard link, and a cwd held in the tmpfs until the application has its secret.
app_bundle link sleep:10
create link
# shellcheck disable=SC2016 # the container's shell expands it
timeout -k 5 30 runc --root "$RUNC_ROOT" exec -d --user 1000:1000 link sh -c '
    cd /run/secrets || exit 1
    if ln db keep 2>/dev/null; then echo link=made; else echo link=refused; fi >/x/report
    touch /x/ready
    while [ ! -e /x/go ]; do sleep 0.05; done
    { echo "ls=$(ls -A . | tr "\n" " ")"; cat ./keep ./db 2>/dev/null; echo; echo end; } >/x/found' \
    </dev/null >/dev/null 2>&1
rootfs=$(bundle_of link)/rootfs
for ((i = 0; i < 200; i++)); do
    [ -e "$rootfs/x/ready" ] && break
    sleep 0.05
done
assert_eq "link: the co-process holds its cwd in the tmpfs, the link refused" link=refused \
    "$(cat "$rootfs/x/report" 2>/dev/null)"
timeout -k 5 30 runc --root "$RUNC_ROOT" start link >>"$T/out/link.err" 2>&1 || true
for ((i = 0; i < 200; i++)); do
    [ -n "$(out_value link fd.3)" ] && break
    sleep 0.05
done
assert_eq "link: the application has its secret" "$S" "$(out_value link fd.3)"
# Only now, with the application running: what is left behind the held cwd?
touch "$rootfs/x/go"
for ((i = 0; i < 200; i++)); do
    grep -qx end "$rootfs/x/found" 2>/dev/null && break
    sleep 0.05
done
assert_true "link: the co-process looked" grep -qx end "$rootfs/x/found"
assert_eq "link: its cwd holds nothing any more" "ls=" "$(head -n 1 "$rootfs/x/found")"
assert_not_contains "link: no copy of the value reached it" "$(cat "$rootfs/x/found")" "$S"
delete_container link

# 4. The marker written before the shim ran.
app_bundle early
create early
as_user early 'printf 1 >/run/secrets/.lockbox.consumed && echo marker=written'
assert_contains "early: the co-process wrote the marker" "$(cat "$T/out/early.coproc")" marker=written
start_and_wait early
assert_eq "early: the application did not run" "" "$(output early)"
assert_contains "early: the shim found nothing and said so" "$(errors early)" \
    "lockbox-shim: no secrets at /run/secrets"
delete_container early

for id in rename inplace link early; do assert_clean "$id"; done
assert_eq "host mount table holds no lockbox tmpfs" "" "$(lockbox_mounts self)"
assert_no_secret_anywhere "$S"
finish
