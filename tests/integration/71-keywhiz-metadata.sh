#!/bin/bash
# 71-keywhiz-metadata.sh — Keywhiz's file metadata applied as keysync applied it (issue 7):
# "mode" with only its read bits, "owner" and "group" looked up in the container's own
# /etc/passwd and /etc/group (a name only the host has falls back to the request's default),
# "filename" as the file's name; the request's io.lockbox.mode.NAME, uid and gid win. Checked
# on the files a container without the shim sees (stat:) and on the memfd the shim delivers
# (fdstat:).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-keywhiz.sh"

M=$(new_secret)
H=$(new_secret)
P=$(new_secret)
# "daemon" exists on the host (Debian: uid 1), not in the test rootfs: never looked up there.
start_keywhiz_fake "{\"secrets\": {
    \"meta\": {\"content\": \"$M\", \"metadata\": {\"mode\": \"0750\", \"owner\": \"kwapp\",
                                               \"group\": \"kwgrp\", \"filename\": \"meta.pw\"}},
    \"hostonly\": {\"content\": \"$H\", \"metadata\": {\"owner\": \"daemon\", \"group\": \"daemon\",
                                                   \"mode\": \"0444\"}},
    \"plain\": {\"content\": \"$P\"}},
  \"clients\": {\"lockbox-client\": {\"secrets\": [\"meta\", \"hostonly\", \"plain\"]}}}"
write_keywhiz_config client

# Without the shim: the files on the tmpfs, as the application sees them (user 1000:1000).
make_bundle files /bin/lbx-testapp stat:/run/secrets/meta.pw stat:/run/secrets/meta \
    stat:/run/secrets/hostonly stat:/run/secrets/plain cat:/run/secrets/plain \
    cat:/run/secrets/.lockbox.json
kw_add_users files
set_user files 1000 1000
annotate files io.lockbox.secret.meta=keywhiz:meta io.lockbox.secret.hostonly=keywhiz:hostonly \
    io.lockbox.secret.plain=keywhiz:plain
add_hooks files -v
run_container files
assert_eq "files: runc run exits 0" 0 "$RC"
assert_eq "meta: owner kwapp:kwgrp from the container's files, mode 0750 & 0444 = 0440" \
    2001:3001:0440 "$(out_value files stat./run/secrets/meta.pw)"
assert_match "meta: the file has the metadata's name, not the secret's" \
    "$(out_value files stat./run/secrets/meta)" "error"
assert_eq "hostonly: names the container lacks fall back to process.user; mode 0444" \
    1000:1000:0444 "$(out_value files stat./run/secrets/hostonly)"
assert_eq "plain: no metadata, the defaults" 1000:1000:0400 \
    "$(out_value files stat./run/secrets/plain)"
assert_eq "plain: readable by its owner" "$P" "$(out_value files file./run/secrets/plain)"
manifest=$(out_value files file./run/secrets/.lockbox.json)
assert_contains "the manifest names meta's file" "$manifest" '"name":"meta","file":"meta.pw"'
assert_contains "the manifest has the applied mode" "$manifest" '"mode":"0440"'
assert_contains "the broker says why hostonly has the default owner" "$(cat "$T/broker.err")" \
    "owner 'daemon' is not in the container's /etc/passwd"
assert_clean files

# With the shim, running as kwapp: it reads the file (its owner), and the memfd it delivers
# keeps the file's owner and mode.
make_bundle shim /lockbox-shim -- /bin/lbx-testapp read-fd:3 fdstat:3
kw_add_users shim
set_user shim 2001 3001
annotate shim io.lockbox.secret.meta=keywhiz:meta
add_hooks shim
run_container shim
assert_eq "shim: runc run exits 0" 0 "$RC"
assert_eq "shim: the value" "$M" "$(out_value shim fd.3)"
assert_match "shim: the memfd is kwapp:kwgrp, mode 0440, sealed" "$(out_value shim fdstat.3)" \
    '^2001:3001:0440:[0-9]+$'
assert_clean shim

# The request wins: io.lockbox.mode.meta, io.lockbox.uid, io.lockbox.gid (the file name stays).
make_bundle override /bin/lbx-testapp stat:/run/secrets/meta.pw cat:/run/secrets/meta.pw
kw_add_users override
set_user override 1000 1000
annotate override io.lockbox.secret.meta=keywhiz:meta io.lockbox.mode.meta=0400 \
    io.lockbox.uid=1000 io.lockbox.gid=1000
add_hooks override
run_container override
assert_eq "override: runc run exits 0" 0 "$RC"
assert_eq "override: mode and owner from the request" 1000:1000:0400 \
    "$(out_value override stat./run/secrets/meta.pw)"
assert_eq "override: the owner reads it" "$M" "$(out_value override file./run/secrets/meta.pw)"
assert_clean override

# Only the mode set by the request: the owner still comes from the metadata.
make_bundle modeonly /bin/lbx-testapp stat:/run/secrets/meta.pw
kw_add_users modeonly
annotate modeonly io.lockbox.secret.meta=keywhiz:meta io.lockbox.mode.meta=0444
add_hooks modeonly
run_container modeonly
assert_eq "mode only: runc run exits 0" 0 "$RC"
assert_eq "mode only: the request's mode, the metadata's owner" 2001:3001:0444 \
    "$(out_value modeonly stat./run/secrets/meta.pw)"
assert_clean modeonly

# Under a user namespace the metadata's owner is a container id, mapped to the host.
make_bundle userns /bin/lbx-testapp stat:/run/secrets/meta.pw
kw_add_users userns
use_userns userns 200000
annotate userns io.lockbox.secret.meta=keywhiz:meta
add_hooks userns
run_container userns
assert_eq "userns: runc run exits 0" 0 "$RC"
assert_eq "userns: kwapp:kwgrp inside the container" 2001:3001:0440 \
    "$(out_value userns stat./run/secrets/meta.pw)"
assert_clean userns

# Rotation in place (no shim) keeps the metadata's file name: the file is replaced, not joined
# by another under the secret's name.
make_bundle rot /bin/lbx-testapp sleep:300
kw_add_users rot
set_user rot 2001 3001
annotate rot io.lockbox.secret.meta=keywhiz:meta
add_hooks rot
start_container rot
assert_eq "rotation: runc run -d exits 0" 0 "$RC"
dir=/proc/$(container_field rot pid)/root/run/secrets
M2=$(new_secret)
kw_ctl POST /seed "{\"secrets\": {\"meta\": {\"content\": \"$M2\", \"metadata\": {
    \"mode\": \"0440\", \"owner\": \"kwapp\", \"group\": \"kwgrp\", \"filename\": \"meta.pw\"}}}}" >/dev/null
broker rotate rot >/dev/null 2>&1 || true
assert_eq "rotation: the new value in meta.pw" "$M2" "$(cat "$dir/meta.pw" 2>&1)"
assert_eq "rotation: no file under the secret's name" "meta.pw" \
    "$(cd "$dir" && ls)"
assert_contains "rotation: the manifest still names meta.pw" "$(cat "$dir/.lockbox.json")" \
    '"name":"meta","file":"meta.pw"'
runc --root "$RUNC_ROOT" kill rot KILL >/dev/null 2>&1 || true
wait_stopped rot || true
delete_container rot
assert_clean rot

for v in "$M" "$H" "$P" "$M2"; do
    assert_no_secret_anywhere "$v"
done
finish
