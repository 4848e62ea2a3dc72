#!/bin/bash
# 62-shim-tamper.sh — DESIGN §7 and §10.2: the shim verifies what it reads. A process in the
# container that runs before the shim replaces a secret file or the manifest with a symlink, a
# FIFO, a directory, a larger or changed file, or removes it; the shim must refuse with one
# line and exit 125 without starting the command, never hang (a FIFO would block a plain
# open), never follow the symlink, and never print the value.
#
# Real runc containers with the broker as their hooks: the entrypoint is lbx-adversary, which
# tampers and then execs the shim. A control case that tampers with nothing must deliver the
# secret, so that the harness cannot pass by breaking every container.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-sec.sh"

S=$(new_secret)
put_secret db "$S"
n=0

# tamper FILE HOW: a container that tampers with /run/secrets/FILE, then execs the shim, which
# should run lbx-testapp.
tamper() {
    local file=$1 how=$2 id what shim_lines
    n=$((n + 1))
    id=tamper-$n
    what="$file $how"
    adversary_bundle "$id" /bin/lbx-adversary tamper /run/secrets "$file" "$how" -- \
        /lockbox-shim -- /bin/lbx-testapp fds read-fd:3
    # A file outside the tmpfs for the symlink cases, of the secret's size.
    printf '%s' "$S" | tr '[:lower:]' '[:upper:]' >"$(bundle_of "$id")/rootfs/decoy"
    annotate "$id" io.lockbox.secret.db=store:db
    add_hooks "$id"
    run_container "$id"
    delete_container "$id"
    shim_lines=$(grep -c '^lockbox-shim: ' "$T/out/$id.err" || true)
    if [ "$how" = none ]; then
        if [ "$RC" -eq 0 ] && [ "$(out_value "$id" fd.3)" = "$S" ]; then
            pass "control: untouched secrets are delivered"
        else
            fail "control: rc=$RC: $(output "$id") $(errors "$id")"
        fi
    elif [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then
        fail "$what: the container hung (killed after 30 s)"
    elif [ "$(out_value "$id" tamper)" != "done" ]; then
        fail "$what: could not tamper: $(output "$id")"
    elif [ "$RC" -ne 125 ]; then
        fail "$what: container exit status $RC, want 125: $(output "$id") $(errors "$id")"
    elif grep -q '^fd\.' "$T/out/$id.out"; then
        fail "$what: the command ran: $(output "$id")"
    elif grep -qF -- "$S" "$T/out/$id.out" "$T/out/$id.err"; then
        fail "$what: the value was printed"
    elif [ "$shim_lines" -ne 1 ]; then
        fail "$what: $shim_lines lines from the shim, want 1: $(errors "$id")"
    elif [ -e "$STATE/containers/$id.json" ]; then
        fail "$what: state left after poststop"
    else
        pass "$what: $(grep '^lockbox-shim: ' "$T/out/$id.err")"
    fi
}

tamper db none
for how in symlink:/decoy symlink:/run/secrets/.lockbox.json fifo dir grow flip big:100000 gone; do
    tamper db "$how"
done
for how in symlink:/decoy symlink:db fifo dir grow flip big:300000 gone; do
    tamper .lockbox.json "$how"
done
assert_eq "host mount table holds no lockbox tmpfs" "" "$(lockbox_mounts self)"
assert_eq "no lockbox-watch process left" "" "$(our_watchers)"
finish
