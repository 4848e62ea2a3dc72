#!/bin/sh
# A quick self-check of lockbox-shim with a real tmpfs, run by hand as root:
#   tests/app/shim-selfcheck.sh [BUILD_DIR]
# Mounts a tmpfs on a temporary directory, lays down files and a manifest the way the broker
# does, and checks what the shim and lbx-testapp report. Not part of `make check` (the
# integration tests run the shim under real runtimes).
set -u
B=${1:-build}
SHIM=$B/lockbox-shim
APP=$B/lbx-testapp
[ "$(id -u)" = 0 ] || { echo "selfcheck: needs root (mount)"; exit 1; }
if [ ! -x "$SHIM" ] || [ ! -x "$APP" ]; then echo "selfcheck: build $SHIM and $APP first"; exit 1; fi

T=$(mktemp -d)
D=$T/secrets
mkdir -p "$D"
fail=0
cleanup() {
    umount "$D" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

check() { # NAME CONDITION...
    name=$1
    shift
    if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fail=1; fi
}
has() { printf '%s\n' "$OUT" | grep -qxF -- "$1"; }
lacks() { ! printf '%s\n' "$OUT" | grep -qF -- "$1"; }

# place NAME=VALUE...: a fresh tmpfs with one file per secret and the manifest written last.
place() {
    umount "$D" 2>/dev/null
    mount -t tmpfs -o size=1m,mode=0700 lockbox-selfcheck "$D" || exit 1
    entries=""
    for kv in "$@"; do
        n=${kv%%=*} v=${kv#*=}
        printf %s "$v" >"$D/$n"
        chmod 0400 "$D/$n"
        h=$(printf %s "$v" | b2sum -l 256 | cut -d' ' -f1)
        e=$(printf '{"name":"%s","file":"%s","size":%d,"mode":"0400","blake2b":"%s"}' \
            "$n" "$n" "${#v}" "$h")
        entries=${entries:+$entries,}$e
    done
    printf '{"version":1,"container":"selfcheck","generation":1,"secrets":[%s]}' \
        "$entries" >"$D/.lockbox.json"
}

place db=hunter2 api=s3cr3t-token
OUT=$(LOCKBOX_SECRET_db=store:db LOCKBOX_ROLE=web "$SHIM" --dir "$D" -- "$APP" fds read-fd:3 \
    read-fd:4 env "mounted:$D" argv fdstat:3 2>&1)
rc=$?
check "exit 0" [ $rc = 0 ]
check "fds are exactly 0,1,2,3,4" has "fds=0,1,2,3,4"
check "fd 3 holds db" has "fd.3=hunter2"
check "fd 4 holds api" has "fd.4=s3cr3t-token"
check "LOCKBOX_FDS set" has "env=LOCKBOX_FDS=db=3,api=4"
check "request variables removed" lacks "LOCKBOX_SECRET_db"
check "LOCKBOX_ROLE removed" lacks "LOCKBOX_ROLE"
check "tmpfs unmounted (inside)" has "mounted.$D=no"
check "tmpfs unmounted (after)" sh -c "! grep -q ' $D ' /proc/self/mountinfo"
check "memfd sealed (15) with mode 0400" has "fdstat.3=0:0:0400:15"

place db=hunter2 api=s3cr3t-token
OUT=$("$SHIM" --dir "$D" --fd api=7 --stdin db -- "$APP" fds stdin read-fd:7 argv \
    "--password-file={secret:api}" "cat:{secret:api}" 2>&1)
check "--fd and --stdin" has "fds=0,1,2,7"
check "stdin carries db" has "stdin=hunter2"
check "--fd api=7" has "fd.7=s3cr3t-token"
check "{secret:api} substituted" has "argv=--password-file=/proc/self/fd/7"

place db=hunter2
printf 'hunter3' >"$D/db.new" && mv "$D/db.new" "$D/db"
OUT=$("$SHIM" --dir "$D" -- "$APP" fds 2>&1)
rc=$?
check "tampered: exit 125" [ $rc = 125 ]
check "tampered: one line" [ "$(printf '%s\n' "$OUT" | wc -l)" = 1 ]
check "tampered: says why" has "lockbox-shim: secret 'db' ($D/db): BLAKE2b hash does not match the manifest (changed or tampered with)"
check "tampered: no value" lacks "hunter"
check "tampered: command not run" lacks "fds="

umount "$D"
OUT=$("$SHIM" --dir "$D" -- "$APP" fds 2>&1)
rc=$?
check "nothing mounted: 125" [ $rc = 125 ]
check "nothing mounted: message" has "lockbox-shim: no secrets at $D (not mounted); use --optional or --wait"
OUT=$("$SHIM" --dir "$D" --optional -- "$APP" fds env 2>&1)
check "--optional runs" has "fds=0,1,2"
check "--optional: empty LOCKBOX_FDS" has "env=LOCKBOX_FDS="

(sleep 0.3; place late=value) &
OUT=$("$SHIM" --dir "$D" --wait 5 -- "$APP" read-fd:3 2>&1)
wait
check "--wait sees a late mount" has "fd.3=value"

place db=x
OUT=$("$SHIM" --dir "$D" -- "$APP" exit:3 2>&1)
check "exit status passed on" [ $? = 3 ]
place db=x
OUT=$("$SHIM" --dir "$D" -- "$APP" kill-self:TERM 2>&1)
check "signal death is 128+15" [ $? = 143 ]
place db=x
OUT=$("$SHIM" --dir "$D" -- /nonexistent 2>&1)
check "not found is 127" [ $? = 127 ]
place db=x
OUT=$("$SHIM" --dir "$D" --exec -- "$APP" fds read-fd:3 2>&1)
check "--exec" has "fd.3=x"

place db=x
OUT=$(prlimit --memlock=0 setpriv --bounding-set -ipc_lock "$SHIM" --dir "$D" -- "$APP" read-fd:3 2>&1)
# ASan's mlock interceptor always succeeds: nothing to warn about in a SAN=1 build.
if ldd "$SHIM" 2>/dev/null | grep -q libasan; then echo "skip mlock failure: warned (ASan)"; else
check "mlock failure: warned" has "lockbox-shim: warning: mlock failed, secrets may be swapped out while the shim holds them; RLIMIT_MEMLOCK is probably too low"
fi
check "mlock failure: still runs" has "fd.3=x"

# Larger than a pipe's default 64 KiB (the helper path, beyond 1 MiB, is in the unit tests).
big=$(head -c 100000 /dev/zero | tr '\0' 'y')
place "big=$big" small=z
OUT=$("$SHIM" --dir "$D" --stdin big -- "$APP" fds stdin 2>&1)
got=$(printf '%s\n' "$OUT" | sed -n 's/^stdin=//p')
check "--stdin with a value larger than a pipe" [ "$got" = "$big" ]
check "--stdin only: no fd for it" has "fds=0,1,2,3"

[ $fail = 0 ] && echo "selfcheck: all ok" || echo "selfcheck: FAILED"
exit $fail
