#!/bin/bash
# 64-fd-cloexec.sh — DESIGN §10.4: every fd the broker creates is close-on-exec. The broker,
# its children (the namespace helpers) and its watcher run under strace -f through hook
# (place and poststop), inject, status, revoke, check and the store commands; every syscall
# that returns a new fd must have asked for close-on-exec (O_CLOEXEC, SOCK_CLOEXEC,
# MFD_CLOEXEC, F_DUPFD_CLOEXEC, FSOPEN_CLOEXEC, ...), or set FD_CLOEXEC on it before the next
# fd of that number (libsodium and glibc's fdopendir do that). The only other exceptions are the
# watcher putting /dev/null on its own stdin, stdout and stderr (dup2 onto 0-2), and libcap-ng
# reading /proc/sys/kernel/cap_last_cap before main (see leaks).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-sec.sh"
command -v strace >/dev/null 2>&1 || skip "strace is not installed (make deps)"

S=$(new_secret)
put_secret db "$S"
TRACE=open,openat,openat2,creat,socket,socketpair,accept,accept4,pipe,pipe2,dup,dup2,dup3,fcntl,memfd_create,inotify_init,inotify_init1,epoll_create,epoll_create1,eventfd,eventfd2,signalfd,signalfd4,timerfd_create,fsopen,fsmount,fspick,open_tree,pidfd_open,pidfd_getfd,userfaultfd

# traced NAME BROKER_ARG...: the broker under strace -f (stdin is the caller's); the trace is
# in $T/NAME.trace, the status in TRC.
traced() {
    local name=$1
    shift
    TRC=0
    strace -f -qq -s 0 -e trace="$TRACE" -e signal=none -o "$T/$name.trace" \
        "$BROKER" --config "$CFG" --state-dir "$STATE" "$@" >"$T/$name.out" 2>&1 || TRC=$?
}

# leaks TRACE: the lines where a new fd was made that never became close-on-exec.
leaks() {
    "$PY" - "$1" <<'EOF'
import re, sys
ok_flag = re.compile(r"O_CLOEXEC|SOCK_CLOEXEC|MFD_CLOEXEC|IN_CLOEXEC|EPOLL_CLOEXEC|EFD_CLOEXEC|"
                     r"SFD_CLOEXEC|TFD_CLOEXEC|FSOPEN_CLOEXEC|FSMOUNT_CLOEXEC|OPEN_TREE_CLOEXEC|"
                     r"F_DUPFD_CLOEXEC")
call = re.compile(r"^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+)")
unfinished, pending, leaked = {}, {}, []
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    # strace -f splits a call that another process interrupted: join the two halves.
    m = re.match(r"^(\d+)\s+(.*) <unfinished \.\.\.>$", line)
    if m:
        unfinished[m.group(1)] = m.group(2)
        continue
    m = re.match(r"^(\d+)\s+<\.\.\. \w+ resumed>(.*)$", line)
    if m and m.group(1) in unfinished:
        line = m.group(1) + " " + unfinished.pop(m.group(1)) + m.group(2)
    m = call.match(line)
    if not m or int(m.group(4)) < 0:
        continue
    pid, name, args, fd = m.group(1), m.group(2), m.group(3), m.group(4)
    if name == "fcntl":
        # libsodium opens /dev/urandom, then sets FD_CLOEXEC before anything can fork:
        # close-on-exec in time, if not atomically.
        f = re.match(r"(\d+), F_SETFD, FD_CLOEXEC", args)
        if f:
            pending.pop((pid, f.group(1)), None)
        if "F_DUPFD" not in args:
            continue  # F_GETFD, F_SETFL, F_ADD_SEALS...: no new fd
    if name == "pidfd_open":
        continue  # always close-on-exec (pidfd_open(2))
    if name == "openat" and args.startswith('AT_FDCWD, "/proc/sys/kernel/cap_last_cap", O_RDONLY'):
        # libcap-ng's constructor (0.8.3 and upstream alike) reads the kernel's last capability
        # without O_CLOEXEC and closes it at once, before main: one thread, no fork, no exec.
        continue
    if name in ("dup2", "dup3") and re.search(r",\s*[012](,|$)", args):
        continue  # stdio onto /dev/null: stdio is meant to stay open
    # The same number again: the earlier fd was closed without ever being close-on-exec.
    if (pid, fd) in pending:
        leaked.append(pending.pop((pid, fd)))
    if not ok_flag.search(args):
        pending[(pid, fd)] = line
for line in leaked + list(pending.values()):
    print(line)
EOF
}

verdict() {
    local name=$1 l calls
    l=$(leaks "$T/$name.trace")
    calls=$(grep -cE '= [0-9]+$' "$T/$name.trace" || true)
    if [ "$TRC" -ne 0 ]; then
        fail "$name: exit $TRC: $(cat "$T/$name.out")"
    elif [ "$calls" -lt 3 ]; then
        fail "$name: the trace saw no fds at all (strace broken?)"
    elif [ -n "$l" ]; then
        fail "$name: fds without close-on-exec:"
        printf '%s
' "$l" | head -n 20
    else
        pass "$name: $calls fds created, all close-on-exec"
    fi
}

# hook: place into a fake container (createRuntime), then poststop. strace -f follows the
# watcher, which lives until poststop: trace the hook in the background, go on once its state
# is recorded, and judge its trace after poststop ended the watcher.
bundle=$T/fake
fake_bundle "$bundle" '{"io.lockbox.secret.db": "store:db"}'
mkdir -p "$bundle/rootfs/run"
fake_container "$bundle/rootfs" proc
printf '{"ociVersion":"1.0.2","id":"h1","status":"creating","pid":%s,"bundle":"%s"}'     "$CPID" "$bundle" >"$T/state.json"
traced hook-place hook createRuntime <"$T/state.json" &
tracer=$!
for ((i = 0; i < 500; i++)); do
    [ ! -e "$STATE/containers/h1.json" ] || break
    sleep 0.02
done
placed_rc=1
[ -e "$STATE/containers/h1.json" ] && placed_rc=0
traced status status --json </dev/null
verdict status
printf '{"ociVersion":"1.0.2","id":"h1","status":"stopped","bundle":"%s"}' "$bundle"     >"$T/state.json"
traced hook-poststop hook poststop <"$T/state.json"
verdict hook-poststop
if wait_gone "$tracer" 10; then
    wait "$tracer" || true
    TRC=$placed_rc
    verdict hook-place
else
    kill "$tracer" || true
    fail "hook-place: the watcher outlived poststop"
fi

# inject into a running runc container; the shim consumes, the watcher unmounts and exits.
make_bundle inj /lockbox-shim --wait 20 -- /bin/lbx-testapp read-fd:3
start_container inj
pid=$(container_field inj pid)
traced inject inject --pid "$pid" --id inj db=store:db </dev/null
wait_stopped inj 20 || true
verdict inject
assert_eq "inject: the shim got the secret (the watcher's path was traced)" "$S"     "$(out_value inj fd.3)"
traced revoke revoke inj </dev/null
verdict revoke
delete_container inj

printf 'x' >"$T/value"
traced store-put store put other <"$T/value"
verdict store-put
traced store-ls store ls </dev/null
verdict store-ls
traced store-rm store rm other </dev/null
verdict store-rm
traced check check </dev/null
verdict check
finish
