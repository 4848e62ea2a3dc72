#!/bin/bash
# 25-audit.sh — issue 14: every audit event has one schema (README "Audit log"): the same
# fields in the same order, null where there is none, never a value. With "audit_syslog" the
# same line goes to the system log, facility LOG_AUTHPRIV (info when ok, warning otherwise),
# one message an event: here to listener sockets of the test's own (datagram, then stream),
# never the machine's /dev/log. A socket that is not there costs a warning, not the start.
. "$(dirname "$0")/lib.sh"

S=$(new_secret)
S2=$(new_secret)
put_secret db "$S"

# listen TYPE PATH OUT: a syslog listener (dgram or stream) writing one message a line.
listen() {
    "$PY" - "$@" <<'EOF' &
import os, socket, sys
kind, path, out = sys.argv[1:4]
t = socket.SOCK_DGRAM if kind == "dgram" else socket.SOCK_STREAM
s = socket.socket(socket.AF_UNIX, t)
s.bind(path)
os.chmod(path, 0o600)
if kind == "stream":
    s.listen(8)
with open(out, "ab", buffering=0) as f:
    while True:
        if kind == "dgram":
            msg = s.recv(1 << 20)
        else:
            c, _ = s.accept()
            msg = b""
            while not msg.endswith(b"\0"):
                chunk = c.recv(65536)
                if not chunk:
                    break
                msg += chunk
            c.close()
            msg = msg.rstrip(b"\0")
        f.write(msg.replace(b"\n", b"\\n") + b"\n")
EOF
    BG_PIDS+=($!)
    local i
    for ((i = 0; i < 100; i++)); do
        [ -S "$2" ] && return 0
        sleep 0.05
    done
    die "the listener did not start"
}

# config_with_syslog VALUE: the test's configuration with "audit_syslog": VALUE (JSON).
config_with_syslog() {
    "$PY" - "$CFG" "$1" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["audit_syslog"] = json.loads(sys.argv[2])
json.dump(c, open(sys.argv[1], "w"))
EOF
}

listen dgram "$T/log.sock" "$T/syslog.txt"
config_with_syslog "\"$T/log.sock\""

# inject (db placed, opt skipped), rotate (db rotated), revoke; a deny; a failure. c1 is a
# pod's container, so it runs the shim (a pod's container without it gets nothing).
make_bundle c1 /lockbox-shim -- /bin/lbx-testapp sleep:30
annotate c1 io.lockbox.secret.db=store:db io.lockbox.secret.opt=store:nothing \
    io.lockbox.optional.opt=true io.kubernetes.cri.container-type=container \
    io.kubernetes.cri.sandbox-name=web io.kubernetes.cri.container-name=app
add_hooks c1
start_container c1
assert_eq "c1 starts" 0 "$RC"
put_secret db "$S2"
broker rotate c1 >/dev/null
broker revoke c1 >/dev/null
runc --root "$RUNC_ROOT" kill c1 KILL
wait_stopped c1 || true
delete_container c1
make_bundle c2 /lockbox-shim -- /bin/lbx-testapp read-fd:3
annotate c2 io.lockbox.secret.db=store:db io.lockbox.role=restricted
add_hooks c2
run_container c2
make_bundle c3 /lockbox-shim -- /bin/lbx-testapp read-fd:3
annotate c3 io.lockbox.secret.gone=store:gone
add_hooks c3
run_container c3

wait_lines() {
    local i
    for ((i = 0; i < 100; i++)); do
        [ "$(grep -c . "$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
        sleep 0.05
    done
    return 1
}
wait_lines "$T/syslog.txt" 5 || true
summary=$("$PY" - "$AUDIT" "$T/syslog.txt" <<'EOF'
import json, re, sys
audit = [l.rstrip("\n") for l in open(sys.argv[1])]
syslog = [l.rstrip("\n") for l in open(sys.argv[2])]
TOP = ["time", "event", "container", "name", "role", "result", "reason", "secrets"]
SEC = ["name", "ref", "version", "lease_id", "outcome"]
out = []
for line in audit:
    e = json.loads(line)
    ok = list(e) == TOP and all(list(s) == SEC for s in e["secrets"])
    secs = ",".join("%s:%s" % (s["name"], s["outcome"]) for s in e["secrets"])
    out.append("%s %s %s %s %s [%s] schema=%s" % (e["event"], e["container"], e["name"],
               e["result"], e["reason"] is not None, secs, ok))
out.append("syslog=%d audit=%d" % (len(syslog), len(audit)))
pat = re.compile(r"^<(\d+)>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d lockbox-broker\[\d+\]: (.*)$")
for msg, line in zip(syslog, audit):
    m = pat.match(msg)
    ev = json.loads(line)
    want = 10 * 8 + (6 if ev["result"] == "ok" else 4)
    out.append("syslog %s pri=%s same=%s" % (ev["event"], m and int(m.group(1)) == want,
                                             m and m.group(2) == line))
print("\n".join(out))
EOF
)
assert_contains "inject: db placed, opt skipped, every field" "$summary" \
    "inject c1 web/app ok False [db:placed,opt:skipped] schema=True"
assert_contains "rotate: db rotated, the same fields" "$summary" "rotate c1 web/app ok False [db:rotated"
assert_match "rotate's schema" "$summary" "rotate c1 [^"$'\n'"]* schema=True"
assert_contains "revoke: the same fields, outcome null" "$summary" \
    "revoke c1 web/app ok False [db:None,opt:None] schema=True"
assert_contains "deny: the same fields" "$summary" "deny c2 None denied True [db:None] schema=True"
assert_contains "failure: the same fields, with its reason" "$summary" \
    "failure c3 None failed True [gone:None] schema=True"
assert_contains "one syslog message an audit line" "$summary" "syslog=5 audit=5"
assert_eq "each message: <AUTHPRIV.info> (or .warning), the tag, the very same line" "" \
    "$(grep '^syslog ' <<<"$summary" | grep -v 'pri=True same=True' || true)"

# A stream socket (rsyslog may offer one) works the same; "audit_syslog": true would be
# /dev/log, which this test does not touch.
listen stream "$T/stream.sock" "$T/stream.txt"
config_with_syslog "\"$T/stream.sock\""
make_bundle c4 /lockbox-shim -- /bin/lbx-testapp read-fd:3
annotate c4 io.lockbox.secret.db=store:db io.lockbox.role=restricted
add_hooks c4
run_container c4
wait_lines "$T/stream.txt" 1 || true
assert_match "a stream socket gets the deny too" "$(cat "$T/stream.txt" 2>/dev/null)" \
    "^<84>[^\"]*lockbox-broker\\[[0-9]+\\]: \\{\"time\":\"[^\"]*\",\"event\":\"deny\",\"container\":\"c4\""

# No socket: a warning, and the container still gets its secret.
config_with_syslog "\"$T/nothing.sock\""
make_bundle c5 /lockbox-shim -- /bin/lbx-testapp read-fd:3
annotate c5 io.lockbox.secret.db=store:db
add_hooks c5 -v
run_container c5
assert_eq "no syslog socket: the container still runs" "0 $S2" "$RC $(out_value c5 fd.3)"
assert_contains "and the broker warns, naming the socket" "$(cat "$T/broker.err")" \
    "lockbox-broker: audit: syslog socket $T/nothing.sock: cannot send: No such file or directory"
assert_clean c5

assert_true "the audit log never holds a value" \
    test -z "$(grep -aF -e "$S" -e "$S2" "$AUDIT" "$T/syslog.txt" "$T/stream.txt" || true)"
assert_no_secret_anywhere "$S"
assert_no_secret_anywhere "$S2"
finish
