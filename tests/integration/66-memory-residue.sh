#!/bin/bash
# 66-memory-residue.sh — DESIGN §10.1 and §10.4 in memory: after use, a secret's bytes are
# nowhere in the memory of a lockbox process, except in the sodium buffers that hold it while
# it is needed (locked, guard pages, excluded from core dumps).
#   - the broker: a core image taken by gdb at exit_group of a real hook (gcore honours
#     MADV_DONTDUMP, so sodium buffers are left out by construction; anything found is a copy);
#   - the watcher the hook leaves running: all of its readable memory (a fork of the broker
#     taken while the values were held);
#   - the shim, supervising, after it started the command: all of its readable memory;
#   - the application, apart from its memfds: all of its readable memory (a value in its argv,
#     environment or inherited heap would be found there).
# Each scan also looks for a string that must be there (the container id), so that an empty
# or unreadable image cannot pass. (33-no-residue.sh covers logs, audit, state, bundle,
# mount table, environ and cmdline.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-sec.sh"
command -v gdb >/dev/null 2>&1 || skip "gdb is not installed (make deps)"

S=$(new_secret)
put_secret db "$S"
NEEDLE=$T/.needle
printf '%s' "$S" >"$NEEDLE"
chmod 0600 "$NEEDLE"

# scan PID NEEDLE_FILE [skip-memfd]: the mappings of PID whose bytes contain the needle.
scan() {
    "$PY" - "$@" <<'EOF'
import sys
pid, needle = sys.argv[1], open(sys.argv[2], "rb").read()
skip_memfd = len(sys.argv) > 3
hits = []
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        parts = line.split(None, 5)
        lo, hi = (int(x, 16) for x in parts[0].split("-"))
        name = parts[5].strip() if len(parts) > 5 else ""
        if "r" not in parts[1] or name in ("[vvar]", "[vsyscall]"):
            continue
        if skip_memfd and name.startswith("/memfd:"):
            continue
        try:
            mem.seek(lo)
            data = mem.read(hi - lo)
        except OSError:
            continue
        if needle in data:
            hits.append(f"{parts[0]} {parts[1]} {name}")
print(" | ".join(hits))
EOF
}
# found FILE_OR_PID_SCAN STRING: does a scan for STRING find anything?
marker_in() {
    printf '%s' "$2" >"$T/.marker"
    [ -n "$(scan "$1" "$T/.marker" ${3:+skip-memfd})" ]
}

# 1. The broker's core at exit, from a real hook into a fake container.
bundle=$T/fake
fake_bundle "$bundle" '{"io.lockbox.secret.db": "store:db"}'
mkdir -p "$bundle/rootfs/run"
fake_container "$bundle/rootfs"
printf '{"ociVersion":"1.0.2","id":"core-c1","status":"creating","pid":%s,"bundle":"%s"}' \
    "$CPID" "$bundle" >"$T/state.json"
timeout 60 gdb -batch -nx -q -ex 'catch syscall exit_group' \
    -ex "run --config $CFG --state-dir $STATE -v -v hook createRuntime <$T/state.json 2>$T/gdb-broker.err" \
    -ex "gcore $T/broker.core" -ex kill --args "$BROKER" >"$T/gdb.out" 2>&1 || true
if [ ! -s "$T/broker.core" ]; then
    fail "broker: no core image from gdb: $(tail -n 5 "$T/gdb.out")"
else
    assert_true "broker: the core image is the broker's (holds the container id)" \
        grep -qaF core-c1 "$T/broker.core"
    assert_true "broker: the hook placed the secret (the run was real)" \
        test -e "$STATE/containers/core-c1.json"
    assert_eq "broker: no copy of the value in its core at exit" "0" \
        "$(grep -caF -f "$NEEDLE" "$T/broker.core" || true)"
fi

# 2. The watcher that hook left running.
w=$(our_watchers | head -n 1)
if [ -z "$w" ]; then
    fail "watcher: none running"
else
    assert_true "watcher: its memory was read (holds the container id)" marker_in "$w" core-c1
    assert_eq "watcher: no copy of the value in its memory" "" "$(scan "$w" "$NEEDLE")"
fi
broker revoke core-c1 >/dev/null 2>&1 || true
fake_stop

# 3 and 4. A real runc container: the supervising shim and the application it started. The
# application does not read its secret, so any copy in its memory would be lockbox's doing.
make_bundle app /lockbox-shim -- /bin/lbx-testapp sleep:4 fds
annotate app io.lockbox.secret.db=store:db
add_hooks app
start_container app
shim=$(container_field app pid)
app=
for ((i = 0; i < 200; i++)); do
    app=$(cut -d' ' -f1 "/proc/$shim/task/$shim/children" 2>/dev/null || true)
    [ -n "$app" ] && [ "$(cat "/proc/$app/comm" 2>/dev/null || true)" = lbx-testapp ] && break
    sleep 0.02
done
if [ -z "$app" ]; then
    fail "the application did not start: $(errors app)"
else
    assert_true "application: it holds a memfd (the secret was delivered)" \
        grep -q memfd: <<<"$(ls -l "/proc/$app/fd/")"
    assert_true "shim: its memory was read (holds its directory)" marker_in "$shim" /run/secrets
    assert_eq "shim: no copy of the value in its memory once the command runs" "" \
        "$(scan "$shim" "$NEEDLE")"
    assert_true "application: its memory was read (holds LOCKBOX_FDS)" marker_in "$app" LOCKBOX_FDS=db=3
    assert_eq "application: no copy of the value in its memory outside memfds" "" \
        "$(scan "$app" "$NEEDLE" skip-memfd)"
fi
wait_stopped app 10 || true
delete_container app
assert_no_secret_anywhere "$S"
finish
