# shellcheck shell=bash
# The busybox rootfs of the integration tests, sourced by run.sh (one template per run), by
# lib.sh (a test run on its own builds its own template) and by tests/bench/run.sh. Every
# bundle is a `cp -a` of the template: building it costs ~270 links, copying it a few
# milliseconds. Also the cleanup of the containers made from it (lbx_stop_all).

# our_watchers: the pids of the watchers (comm lockbox-watch) forked by a broker that ran with
# a configuration under $T.
our_watchers() {
    local c comm pid
    for c in /proc/[0-9]*/comm; do
        read -r comm 2>/dev/null <"$c" || continue
        [ "$comm" = lockbox-watch ] || continue
        pid=${c#/proc/}
        pid=${pid%/comm}
        if tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF "$T/"; then
            echo "$pid"
        fi
    done
}

# our_agents: the pids of the warm fetch agents (comm lockbox-agent) that serve a state
# directory under $T (a hook starts one for a network backend; it would outlive the test).
our_agents() {
    local c comm pid
    for c in /proc/[0-9]*/comm; do
        read -r comm 2>/dev/null <"$c" || continue
        [ "$comm" = lockbox-agent ] || continue
        pid=${c#/proc/}
        pid=${pid%/comm}
        if tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF "$T/"; then
            echo "$pid"
        fi
    done
}

# lbx_umount_under DIR: lazily unmount every mount at or below DIR/, innermost first.
lbx_umount_under() {
    local m
    awk -v p="$1/" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo | sort -r |
        while read -r m; do
            umount -l "$m" 2>/dev/null
        done
}

# lbx_stop_all RUNC_ROOT STATE_DIR BROKER CFG: kill and delete every container under RUNC_ROOT,
# then revoke each container record left in STATE_DIR (which stops its watcher).
lbx_stop_all() {
    local id f
    if [ -d "$1" ]; then
        for id in $(runc --root "$1" list -q 2>/dev/null); do
            runc --root "$1" kill "$id" KILL >/dev/null 2>&1
            timeout 10 runc --root "$1" delete -f "$id" >/dev/null 2>&1
        done
    fi
    for f in "$2"/containers/*.json; do
        [ -e "$f" ] || continue
        id=${f##*/}
        timeout 10 "$3" --config "$4" revoke "${id%.json}" >/dev/null 2>&1
    done
}

# lbx_make_rootfs DIR BUILD_DIR: busybox-static with its applets in /bin, lockbox-shim at
# /lockbox-shim, lbx-testapp at /bin/lbx-testapp; the mount points runc needs; /run without
# /run/secrets (the broker creates the target where the rootfs is writable).
lbx_make_rootfs() {
    local dir=$1 build=$2 busybox applet
    busybox=$(command -v busybox) || {
        echo "busybox is missing (make deps: busybox-static)" >&2
        return 1
    }
    mkdir -p "$dir"/{bin,dev,etc,proc,root,run,sys,tmp}
    chmod 1777 "$dir/tmp"
    cp "$busybox" "$dir/bin/busybox"
    for applet in $("$dir/bin/busybox" --list); do
        [ "$applet" = busybox ] || ln -sf busybox "$dir/bin/$applet"
    done
    cp "$build/lockbox-shim" "$dir/lockbox-shim"
    cp "$build/lbx-testapp" "$dir/bin/lbx-testapp"
    printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/tmp:/bin/sh\n' >"$dir/etc/passwd"
    printf 'root:x:0:\napp:x:1000:\n' >"$dir/etc/group"
}
