#!/bin/bash
# 16-userns.sh — a user-namespaced container (ids 0-65535 mapped to 100000-165535 on the host):
# the files belong to the mapped host ids (DESIGN §2.4, §6), so that inside the container they
# show the requested owner (an unmapped owner would show as 65534) and the container user can
# read them; the directory belongs to host root (unmapped: 65534 inside, so that not even the
# container's root may write it) with the mapped group, which lists it. The shim then hands the
# secret over as usual.
. "$(dirname "$0")/lib.sh"

S=$(new_secret)
put_secret db "$S"
HOSTID=100000

# The application alone, held running, so that the host can look at the files too.
make_bundle c1 /bin/lbx-testapp stat:/run/secrets stat:/run/secrets/db cat:/run/secrets/db \
    id sleep:20
use_userns c1 "$HOSTID"
set_user c1 1000 1000
annotate c1 io.lockbox.secret.db=store:db
add_hooks c1
start_container c1
assert_eq "runc run -d exits 0" 0 "$RC"
pid=$(container_field c1 pid)
for _ in $(seq 100); do
    grep -q '^id=' "$T/out/c1.out" && break
    sleep 0.05
done
assert_eq "inside: the process is 1000:1000" 1000:1000 "$(out_value c1 id)"
assert_eq "inside: the file belongs to 1000:1000, mode 0400" 1000:1000:0400 \
    "$(out_value c1 stat./run/secrets/db)"
assert_eq "inside: the directory belongs to unmapped root, group 1000, 0750" 65534:1000:0750 \
    "$(out_value c1 stat./run/secrets)"
assert_eq "inside: the container user reads it" "$S" "$(out_value c1 file./run/secrets/db)"
assert_eq "host: the file belongs to the mapped ids" "$((HOSTID + 1000)):$((HOSTID + 1000))" \
    "$(stat -c %u:%g "/proc/$pid/root/run/secrets/db" 2>&1)"
runc --root "$RUNC_ROOT" kill c1 KILL
wait_stopped c1 || true
delete_container c1
assert_clean c1

# With the shim: container root (host 100000) reads, unlinks; the tmpfs ends up unmounted.
make_bundle c2 /lockbox-shim -- /bin/lbx-testapp id read-fd:3 mounted:/run/secrets fds
use_userns c2 "$HOSTID"
annotate c2 io.lockbox.secret.db=store:db
add_hooks c2
run_container c2
assert_eq "shim: runc run exits 0" 0 "$RC"
assert_eq "shim: the application runs as (mapped) root" 0:0 "$(out_value c2 id)"
assert_eq "shim: the application read the secret from fd 3" "$S" "$(out_value c2 fd.3)"
assert_eq "shim: /run/secrets is no longer mounted" no "$(out_value c2 mounted./run/secrets)"
assert_eq "shim: fds" 0,1,2,3 "$(out_value c2 fds)"
assert_clean c2
assert_no_secret_anywhere "$S"
finish
