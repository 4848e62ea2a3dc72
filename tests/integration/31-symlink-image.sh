#!/bin/bash
# 31-symlink-image.sh — an image whose /run/secrets, or /run, is a symlink to a host path (or
# climbs out of the rootfs with ..) gets nothing placed outside its rootfs (DESIGN §10.3): the
# host directory is untouched, nothing lockbox mounts appears outside the rootfs in the host's
# table or in the container's own mount namespace, and the container either fails at the hook
# with the broker's line or starts with nothing at /run/secrets. Under real runc; the hook-level
# variants (devices, loops, /proc) are 60-symlink-target's.
. "$(dirname "$0")/lib.sh"

S=$(new_secret)
put_secret db "$S"

HOST=$T/host
mkdir -p "$HOST/dir" "$HOST/run/secrets"
echo keep >"$HOST/dir/keep"
echo keep >"$HOST/run/secrets/keep"
host_state() {
    find "$HOST" -printf '%p %y %m %U:%G %s %T@\n' | sort
}
before=$(host_state)

# A second createRuntime hook, after the broker's: the container's mount table before
# pivot_root, where a mount outside the rootfs would still be visible.
cat >"$T/dump-mounts" <<'EOF2'
#!/bin/sh
pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
cat "/proc/$pid/mountinfo" >"$1"
EOF2
chmod 0755 "$T/dump-mounts"

# The rootfs's depth below /, for a relative link that climbs out of it.
up=$(printf '%s' "$T/c/xx/rootfs/run" | tr -cd / | sed 's|/|../|g')

n=0
# case DESCRIPTION DIR SETUP: SETUP runs in the rootfs before the container starts.
case_run() {
    local desc=$1 dir=$2 setup=$3 id rootfs ns
    n=$((n + 1))
    id=s$n
    make_bundle "$id" /bin/lbx-testapp "ls:$dir" "mounted:$dir"
    rootfs=$(bundle_of "$id")/rootfs
    (cd "$rootfs" && eval "$setup") || die "$desc: setup"
    annotate "$id" io.lockbox.secret.db=store:db "io.lockbox.dir=$dir"
    add_hooks "$id"
    add_hook "$id" createRuntime "$T/dump-mounts" dump-mounts "$T/ns-$id"
    run_container "$id"
    if [ "$RC" -ne 0 ]; then
        assert_contains "$desc: the container fails at the broker's hook" "$(errors "$id")" \
            "stderr: lockbox-broker: "
        assert_eq "$desc: the application never ran" "" "$(output "$id")"
    else
        assert_eq "$desc: or it starts with nothing mounted at $dir" no \
            "$(out_value "$id" "mounted.$dir")"
    fi
    if [ -e "$T/ns-$id" ]; then
        # Any tmpfs the container's namespace has that runc did not mount (/dev, /dev/shm...)
        # must lie inside the rootfs.
        ns=$(awk -v r="$rootfs" '{ for (i = 7; $i != "-"; i++) ;
            if ($(i + 1) == "tmpfs" && index($5, r "/") != 1) print $5 }' "$T/ns-$id")
        assert_eq "$desc: no tmpfs outside the rootfs in the container's namespace" "" "$ns"
    fi
    assert_eq "$desc: the host directory is untouched" "$before" "$(host_state)"
    assert_clean "$id"
}

case_run "/run/secrets -> host dir" /run/secrets "ln -s '$HOST/dir' run/secrets"
case_run "/run -> host dir" /run/secrets "rmdir run && ln -s '$HOST/run' run"
case_run "/run/secrets -> ../.. out of the rootfs" /run/secrets \
    "ln -s '${up}${HOST#/}/dir' run/secrets"
case_run "/data -> host dir, io.lockbox.dir=/data" /data "ln -s '$HOST/dir' data"
case_run "/data/x with /data -> host dir" /data/x "ln -s '$HOST/run' data"

# Control: the same harness sees a placement when there is one to see.
make_bundle ctl /bin/lbx-testapp mounted:/run/secrets
annotate ctl io.lockbox.secret.db=store:db
add_hooks ctl
add_hook ctl createRuntime "$T/dump-mounts" dump-mounts "$T/ns-ctl"
run_container ctl
assert_eq "control: a plain /run/secrets is mounted" yes "$(out_value ctl mounted./run/secrets)"
assert_contains "control: the dump hook sees it in the container's namespace" \
    "$(cat "$T/ns-ctl")" "$(bundle_of ctl)/rootfs/run/secrets "
assert_clean ctl
assert_no_secret_anywhere "$S"
finish
