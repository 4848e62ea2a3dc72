#!/bin/bash
# contrib/seccomp/derive.sh BUILD_DIR [OUT]: derive the shim's seccomp allow-list
# (lockbox-shim.json, Docker/OCI seccomp format) from what the shim really calls: strace -f of
# lockbox-shim through each way it runs (supervised and --exec, with and without
# CAP_SYS_ADMIN so that it waits for the broker's watcher, --stdin small and large, --fd,
# {secret:NAME}, --wait for a late inject, --optional, a failure), on secrets the real broker
# placed. The command's own calls (after its execve) are not the shim's and are left out;
# execve itself is in. Run as root; prints the syscall names it found on stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?BUILD_DIR}" && pwd)
out=${2:-$here/lockbox-shim.json}
LOCKBOX_BUILD=$build
export LOCKBOX_BUILD
# lib.sh wants a test name and gives us $T, a config, a store and cleanup.
set -- "$build"
# shellcheck source=tests/integration/lib.sh
. "$here/../../tests/integration/lib.sh"
# shellcheck source=tests/integration/lib-sec.sh
. "$here/../../tests/integration/lib-sec.sh"
set +eE
trap - ERR
put_secret db "$(new_secret)"
head -c 200000 /dev/urandom | broker store put big >/dev/null
n=0
# scenario ANNOTATIONS CAPS SHIM_ARG...: place with the real hook into a fake container, then
# run the shim in its mount namespace under strace.
scenario() {
    local ann=$1 caps=$2 bundle
    shift 2
    n=$((n + 1))
    bundle=$T/s$n
    fake_bundle "$bundle" "$ann"
    mkdir -p "$bundle/rootfs/run"
    fake_container "$bundle/rootfs"
    [ "$ann" = '{}' ] || hook_run "s$n" "$CPID" "$bundle"
    local dir=$bundle/rootfs/run/secrets
    local -a pre=()
    [ "$caps" = nocap ] && pre=(setpriv --bounding-set=-sys_admin --inh-caps=-sys_admin)
    nsenter -t "$CPID" -m "${pre[@]}" strace -f -qq -o "$T/trace.$n" \
        "$SHIM" --dir "$dir" "$@" >"$T/out.$n" 2>&1
    echo "derive: scenario $n ($caps $*): exit $?: $(head -c 200 "$T/out.$n" | tr '\n' ' ')" >&2
    broker revoke "s$n" >/dev/null 2>&1
    fake_stop
}
ONE='{"io.lockbox.secret.db": "store:db"}'
TWO='{"io.lockbox.secret.db": "store:db", "io.lockbox.secret.big": "store:big"}'
scenario "$ONE" cap -- "$APP" read-fd:3
scenario "$ONE" nocap -- "$APP" read-fd:3
scenario "$ONE" cap --exec -- "$APP" read-fd:3
scenario "$ONE" nocap --exec -- "$APP" read-fd:3
scenario "$TWO" cap --stdin big --fd db=7 -- "$APP" stdin
scenario "$TWO" nocap --stdin db -- "$APP" 'cat:{secret:big}'
scenario "$ONE" cap --rotate-signal USR2 -- "$APP" kill-self:TERM
scenario '{}' cap --optional -- "$APP" fds
scenario '{}' cap --wait 0.2 -- "$APP" fds
scenario "$ONE" cap --fd nosuch=4 -- "$APP" fds
scenario "$ONE" cap -- /nonexistent
# SIGTERM to the supervising shim: forwarded to the command.
# shellcheck disable=SC2016 # $PPID is the inner shell's
scenario "$ONE" nocap -- /bin/sh -c 'kill -TERM $PPID; sleep 1'
"$PY" - "$out" "$T"/trace.* <<'EOF'
import json, re, sys
out, traces = sys.argv[1], sys.argv[2:]
names = set()
for path in traces:
    execd, started = set(), False
    for line in open(path):
        m = re.match(r"^(\d+)\s+(?:<\.\.\. )?(\w+)", line)
        if not m or " +++ " in line or " --- " in line:
            continue
        pid, name = m.group(1), m.group(2)
        ok = re.search(r"\) = 0$", line.rstrip()) is not None
        if not started:
            # Until its own execve, the process is strace's child getting ready.
            started = name == "execve" and ok
            continue
        if pid in execd:
            continue  # the command, after the shim exec'd it
        names.add(name)
        if name == "execve" and ok:
            execd.add(pid)
# A syscall the shim's libc may use instead, by kernel or path: keep them together.
for a, b in (("open", "openat"), ("stat", "newfstatat"), ("fstat", "newfstatat"),
             ("poll", "ppoll"), ("nanosleep", "clock_nanosleep"), ("dup2", "dup3"),
             ("rt_sigreturn", "rt_sigaction"), ("exit", "exit_group"), ("kill", "tgkill")):
    if a in names or b in names:
        names |= {a, b}
# The kernel restarts an interrupted sleep with it; blocking it breaks any signal handling.
names.add("restart_syscall")
# Rotation (the rotate signal), which these scenarios do not reach: consume's flock on the
# tmpfs (also taken at start), and --on-rotate signal:SIG's rewrite of a memfd in place.
names |= {"flock", "ftruncate"}
profile = {
    "comment": "lockbox-shim's system calls, derived by contrib/seccomp/derive.sh from strace of "
               "the shim in every way it runs. A container profile must also allow what the "
               "application calls: merge this list into it (Docker's default profile already "
               "has all of them).",
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 1,
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "syscalls": [{"names": sorted(names), "action": "SCMP_ACT_ALLOW"}],
}
with open(out, "w") as f:
    json.dump(profile, f, indent=2)
    f.write("\n")
print(" ".join(sorted(names)), file=sys.stderr)
EOF
finish
