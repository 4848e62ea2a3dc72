#!/bin/bash
# 27-unmount-fails.sh — DESIGN §7: the shim refuses to start the command while the secrets
# tmpfs is still mounted (or its files are still there). Here the unmount cannot happen: a
# second createRuntime hook kills the broker's watcher (SIGKILL, its pid from the record) after
# the placement, and runc's default capabilities give the shim no CAP_SYS_ADMIN. The shim must
# exit 125 with one line after its bounded wait, and the command must never run, as uid 1000
# (which may not even remove the files) and as root (which may, but still cannot unmount).
# A control with the watcher alive shows the harness can pass.
. "$(dirname "$0")/lib.sh"

S=$(new_secret)
put_secret db "$S"

# kill_watcher_hook ID: a createRuntime hook, after lockbox's, that kills the container's
# watcher (the pid its record names).
kill_watcher_hook() {
    cat >"$T/kill-watcher-$1" <<EOF
#!/bin/sh
pid=\$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["watcher_pid"])' \
    "$STATE/containers/$1.json") || exit 1
kill -KILL "\$pid"
EOF
    chmod 0755 "$T/kill-watcher-$1"
    add_hook "$1" createRuntime "$T/kill-watcher-$1" "$T/kill-watcher-$1"
}

# case ID UID KILL: the shim, then lbx-testapp, as UID; the watcher killed when KILL is yes.
case_run() {
    make_bundle "$1" /lockbox-shim -- /bin/lbx-testapp read-fd:3
    set_user "$1" "$2" "$2"
    annotate "$1" io.lockbox.secret.db=store:db
    add_hooks "$1"
    [ "$3" = no ] || kill_watcher_hook "$1"
    run_container "$1"
}

case_run control 1000 no
assert_eq "control: runc run exits 0" 0 "$RC"
assert_eq "control: the application has the secret" "$S" "$(out_value control fd.3)"

for uid in 1000 0; do
    id=user$uid
    case_run "$id" "$uid" yes
    assert_eq "uid $uid, no watcher: the shim exits 125" 125 "$RC"
    assert_eq "uid $uid, no watcher: the command never ran" "" "$(output "$id")"
    assert_eq "uid $uid, no watcher: one line from the shim" 1 \
        "$(grep -c '^lockbox-shim: ' "$T/out/$id.err" || true)"
    assert_contains "uid $uid, no watcher: it says why" "$(errors "$id")" \
        "/run/secrets: the secrets tmpfs is still mounted after 5 s (umount: Operation not permitted; the broker's watcher did not unmount it either); refusing to start the command"
    assert_not_contains "uid $uid, no watcher: and quotes no value" "$(errors "$id")" "$S"
    delete_container "$id"
done

for id in control user1000 user0; do assert_clean "$id"; done
assert_no_secret_anywhere "$S"
finish
