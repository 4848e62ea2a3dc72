#!/bin/bash
# 67-seccomp-shim.sh — contrib/seccomp/lockbox-shim.json (derived by contrib/seccomp/derive.sh)
# is enough for the shim: real runc containers whose seccomp profile is that list plus what
# lbx-testapp calls (traced here) get their secret, supervised and with --exec, with and
# without waiting for the watcher. A control that takes memfd_create out of the list must make
# the shim fail, which proves the profile was applied.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-sec.sh"
command -v strace >/dev/null 2>&1 || skip "strace is not installed (make deps)"
PROFILE=$LBX_IT_DIR/../../contrib/seccomp/lockbox-shim.json
[ -r "$PROFILE" ] || die "$PROFILE is missing"

S=$(new_secret)
put_secret db "$S"
# What the application calls, from a trace of its operations here.
strace -f -qq -o "$T/app.trace" "$APP" fds read-fd:0 sleep:0.01 </dev/null >/dev/null
app_calls=$(sed -n 's/^[0-9]* *\([a-z_0-9]*\)(.*/\1/p' "$T/app.trace" | sort -u | tr '\n' ' ')

# runc loads the filter in its init (Go) shortly before exec'ing the shim: its runtime's threads
# keep calling these meanwhile. A real profile (Docker's default) has them all.
RUNC_CALLS="futex nanosleep clock_nanosleep sched_yield sigaltstack rt_sigaction rt_sigprocmask
rt_sigreturn gettid tgkill getpid mmap munmap madvise mprotect clone clone3 epoll_pwait
epoll_ctl epoll_create1 write read close fstat newfstatat openat fcntl exit exit_group capget
capset prctl getppid setresuid setresgid setgroups keyctl pipe2 dup3 getrandom sched_getaffinity"
app_calls="$app_calls $RUNC_CALLS"

# with_profile ID [DROP]: the container's linux.seccomp = the shim's list + the app's, less DROP.
with_profile() {
    edit_config "$1" '
import json as j
p = j.load(open(a[0]))
names = set(p["syscalls"][0]["names"]) | set(a[1].split())
names.discard(a[2])
c["linux"]["seccomp"] = {"defaultAction": p["defaultAction"], "architectures": p["architectures"],
                         "syscalls": [{"names": sorted(names), "action": "SCMP_ACT_ALLOW"}]}' \
        "$PROFILE" "$app_calls" "${2:-}"
}

# try ID DROP SHIM_OPTION...
try() {
    local id=$1 drop=$2
    shift 2
    make_bundle "$id" /lockbox-shim "$@" -- /bin/lbx-testapp fds read-fd:3
    annotate "$id" io.lockbox.secret.db=store:db
    add_hooks "$id"
    with_profile "$id" "$drop"
    run_container "$id"
    delete_container "$id"
    [ "$RC" -ne 1 ] || echo "  runc: $(grep -m1 -E 'fatal|error' "$T/out/$id.err")"
}

try sc1 ""
assert_eq "supervised under the profile: exit 0" 0 "$RC"
assert_eq "supervised under the profile: the secret at fd 3" "$S" "$(out_value sc1 fd.3)"
try sc2 "" --exec
assert_eq "--exec under the profile: exit 0" 0 "$RC" || true
[ "$RC" -eq 0 ] || errors sc2
assert_eq "--exec under the profile: the secret at fd 3" "$S" "$(out_value sc2 fd.3)"
# Without CAP_SYS_ADMIN (runc's default) the shim waits for the watcher: covered above; with
# it, the shim unmounts itself.
make_bundle sc3 /lockbox-shim -- /bin/lbx-testapp read-fd:3
edit_config sc3 'c["process"]["capabilities"]["bounding"].append("CAP_SYS_ADMIN")
c["process"]["capabilities"]["effective"].append("CAP_SYS_ADMIN")
c["process"]["capabilities"]["permitted"].append("CAP_SYS_ADMIN")'
annotate sc3 io.lockbox.secret.db=store:db
add_hooks sc3
with_profile sc3
run_container sc3
delete_container sc3
assert_eq "with CAP_SYS_ADMIN under the profile: the secret at fd 3" "$S" "$(out_value sc3 fd.3)"

try sc4 memfd_create
assert_eq "control: without memfd_create in the list the shim fails (125)" 125 "$RC"
finish
