#!/bin/bash
# 73-keywhiz-rotate.sh — rotation applies Keywhiz's file metadata as the first placement does
# (71-keywhiz-metadata.sh): the new generation's "mode" (read bits only) and "owner"/"group"
# (looked up in the container's /etc/passwd and /etc/group), taken from the new fetch, and the
# request's io.lockbox.mode.NAME, uid and gid still win over them. Both paths: the shim consumed
# the tmpfs (a fresh tmpfs; checked on the memfd the restarted application gets, whose owner
# is the file's and whose mode is the manifest's) and no shim (files replaced in place; checked
# on the file and in the manifest). A record written before the broker kept mode_set, uid_set
# and gid_set still rotates, with its recorded mode and owner.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-keywhiz.sh"
. "$LBX_IT_DIR/lib-rotate.sh"

M1=$(new_secret)
P1=$(new_secret)
M2=$(new_secret)
P2=$(new_secret)
start_keywhiz_fake "{\"secrets\": {
    \"meta\": {\"content\": \"$M1\", \"metadata\": {\"mode\": \"0750\", \"owner\": \"kwapp\",
                                                \"group\": \"kwgrp\", \"filename\": \"meta.pw\"}},
    \"plain\": {\"content\": \"$P1\"}},
  \"clients\": {\"lockbox-client\": {\"secrets\": [\"meta\", \"plain\"]}}}"
write_keywhiz_config client

# start_meta ID [ANNOTATION...]: ID's bundle (made) asks for meta and plain; started with -v.
start_meta() {
    local id=$1
    shift
    kw_add_users "$id"
    annotate "$id" io.lockbox.secret.meta=keywhiz:meta io.lockbox.secret.plain=keywhiz:plain "$@"
    add_hooks "$id" -v
    start_container "$id"
    assert_eq "$id: runc run -d exits 0" 0 "$RC"
}

# shim_container ID [ANNOTATION...]: under the shim as root, with CAP_CHOWN, CAP_DAC_OVERRIDE
# and CAP_FOWNER as Docker and Podman give root by default (runc's own default has none of
# them), so that the shim reads a file of any owner and gives each memfd the file's owner and
# then the manifest's mode; meta at fd 3 and plain at fd 4. Each start prints both memfds'
# owner, mode and seals, then both values.
shim_container() {
    make_bundle "$1" /lockbox-shim -- /bin/lbx-testapp fdstat:3 fdstat:4 read-fd:3 read-fd:4 \
        sleep:300
    edit_config "$1" '
for k in ("bounding", "effective", "permitted"):
    c["process"]["capabilities"][k] += ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER"]'
    start_meta "$@"
    assert_true "$1: the application holds generation 1" wait_out "$1" "fd.4=$P1"
    assert_true "$1: the record says consumed" wait_record "$1" consumed true
}

# files_container ID [ANNOTATION...]: no shim, user 1000:1000; the tmpfs stays mounted.
files_container() {
    make_bundle "$1" /bin/lbx-testapp sleep:300
    set_user "$1" 1000 1000
    start_meta "$@"
}

# last_out ID KEY: the last value ID printed for KEY (the restarted application's).
last_out() {
    out_values "$1" "$2" | tail -n 1
}

# on_tmpfs ID FILE: uid:gid:mode of FILE on ID's tmpfs, and the mode the manifest gives it.
on_tmpfs() {
    local dir
    dir=/proc/$(container_field "$1" pid)/root/run/secrets
    printf '%s manifest=' "$(stat -c '%u:%g:%04a' "$dir/$2")"
    "$PY" -c '
import json, sys
m = json.load(open(sys.argv[1]))
print(*[e["mode"] for e in m["secrets"] if e["file"] == sys.argv[2]])' "$dir/.lockbox.json" "$2"
}

# Generation 1. Metadata mode 0750 gives 0440; kwapp:kwgrp is 2001:3001.
shim_container shim
assert_eq "shim: meta's memfd is kwapp:kwgrp, mode 0440, at start" 2001:3001:0440:15 \
    "$(last_out shim fdstat.3)"
# Only the mode from the request: the owner still from the metadata.
shim_container shim-mode io.lockbox.mode.meta=0400
assert_eq "shim-mode: the request's mode, the metadata's owner, at start" 2001:3001:0400:15 \
    "$(last_out shim-mode fdstat.3)"
# Only the owner from the request: the mode still from the metadata.
shim_container shim-owner io.lockbox.uid=1000 io.lockbox.gid=1000
assert_eq "shim-owner: the request's owner, the metadata's mode, at start" 1000:1000:0440:15 \
    "$(last_out shim-owner fdstat.3)"
files_container files
assert_eq "files: meta.pw is kwapp:kwgrp, mode 0440, at start" "2001:3001:0440 manifest=0440" \
    "$(on_tmpfs files meta.pw)"
files_container files-override io.lockbox.mode.meta=0400 io.lockbox.uid=1000 io.lockbox.gid=1000
assert_eq "files-override: the request's mode and owner at start" "1000:1000:0400 manifest=0400" \
    "$(on_tmpfs files-override meta.pw)"
files_container files-old
assert_eq "files-old: meta.pw is kwapp:kwgrp, mode 0440, at start" "2001:3001:0440 manifest=0440" \
    "$(on_tmpfs files-old meta.pw)"

# A record as the broker wrote it before it kept whether the request set the mode and owner.
"$PY" - "$STATE/containers/files-old.json" <<'PYEOF'
import json, sys
path = sys.argv[1]
with open(path) as f:
    r = json.load(f)
for k in ("uid_set", "gid_set"):
    r.pop(k, None)
for s in r["secrets"]:
    s.pop("mode_set", None)
with open(path, "w") as f:
    json.dump(r, f)
PYEOF

# Generation 2: new values, and new metadata for meta (mode 0644 gives 0444; group kwgrp2).
# The seed holds values: it goes to the fake in a file, never on curl's command line.
(umask 077 && cat >"$T/seed2.json" <<EOF
{"secrets": {"meta": {"content": "$M2", "metadata": {"mode": "0644", "owner": "kwapp",
                                                      "group": "kwgrp2", "filename": "meta.pw"}},
             "plain": {"content": "$P2"}}}
EOF
)
kw_ctl POST /seed "@$T/seed2.json" >/dev/null || die "cannot seed generation 2"

for id in shim shim-mode shim-owner files files-override files-old; do
    rc=0
    out=$(broker rotate "$id" 2>>"$T/broker.err") || rc=$?
    assert_eq "$id: rotate exits 0" 0 "$rc"
    assert_eq "$id: both secrets rotated" "$id meta: rotated"$'\n'"$id plain: rotated" "$out"
done

# With the shim: the restarted application has the new values, and the file the shim read
# had the new metadata's owner and mode (the memfd takes the file's owner, the manifest's mode).
for id in shim shim-mode shim-owner; do
    assert_true "$id: the restarted application holds generation 2" wait_out "$id" "fd.4=$P2"
    assert_eq "$id: and meta's new value" "$M2" "$(last_out "$id" fd.3)"
done
assert_eq "shim: plain, without metadata, keeps the defaults" 0:0:0400:15 \
    "$(last_out shim fdstat.4)"
assert_eq "shim-owner: plain, without metadata, keeps the request's owner" 1000:1000:0400:15 \
    "$(last_out shim-owner fdstat.4)"
assert_eq "shim: after rotation, meta's file was kwapp:kwgrp2, mode 0444 (the new metadata)" \
    2001:3002:0444:15 "$(last_out shim fdstat.3)"
assert_eq "shim-mode: after rotation, the request's mode still wins; the owner is the metadata's" \
    2001:3002:0400:15 "$(last_out shim-mode fdstat.3)"
assert_eq "shim-owner: after rotation, the request's owner still wins; the mode is the metadata's" \
    1000:1000:0444:15 "$(last_out shim-owner fdstat.3)"

# In place: the replaced file, and the manifest's mode for it.
assert_eq "files: after rotation, meta.pw holds generation 2" "$M2" \
    "$(cat "/proc/$(container_field files pid)/root/run/secrets/meta.pw")"
assert_eq "files: after rotation, meta.pw is kwapp:kwgrp2, mode 0444, as the manifest says" \
    "2001:3002:0444 manifest=0444" "$(on_tmpfs files meta.pw)"
assert_eq "files: plain keeps the defaults" "1000:1000:0400 manifest=0400" \
    "$(on_tmpfs files plain)"
assert_eq "files-override: after rotation, the request's mode and owner still win" \
    "1000:1000:0400 manifest=0400" "$(on_tmpfs files-override meta.pw)"
assert_eq "files-old: an older record rotates with its recorded mode and owner" \
    "1000:1000:0400 manifest=0400" "$(on_tmpfs files-old meta.pw)"
assert_eq "files-old: with the new value" "$M2" \
    "$(cat "/proc/$(container_field files-old pid)/root/run/secrets/meta.pw")"
# shellcheck disable=SC2012 # the tmpfs holds lockbox's names only; ls -A sorts them
assert_eq "files: no file under the secret's name, nothing temporary" ".lockbox.consumed .lockbox.json meta.pw plain" \
    "$(ls -A "/proc/$(container_field files pid)/root/run/secrets" | tr '\n' ' ' | sed 's/ $//')"

for id in shim shim-mode shim-owner files files-override files-old; do
    runc --root "$RUNC_ROOT" kill "$id" KILL >/dev/null 2>&1 || true
    wait_stopped "$id" || true
    delete_container "$id"
done
for id in shim shim-mode shim-owner files files-override files-old; do
    assert_clean "$id"
done
for v in "$M1" "$P1" "$M2" "$P2"; do
    assert_no_secret_anywhere "$v"
done
finish
