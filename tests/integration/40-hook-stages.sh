#!/bin/bash
# 40-hook-stages.sh — `hook` works at each stage a runtime may use (DESIGN §3, §9): prestart
# instead of createRuntime, and no stage at all, where the state's status decides (creating:
# place, stopped: clean up).
. "$(dirname "$0")/lib.sh"

S=$(new_secret)
put_secret db "$S"

# hooks_at ID CREATE_STAGE POSTSTOP_STAGE: the broker at prestart or createRuntime, with the
# given stage argument ("" for none).
hooks_at() {
    edit_config "$1" '
broker, cfg, state, where, arg1, arg2 = a
def hook(arg):
    return {"path": broker, "args": [broker, "--config", cfg, "--state-dir", state, "hook"]
            + ([arg] if arg else []), "timeout": 20}
c["hooks"] = {where: [hook(arg1)], "poststop": [hook(arg2)]}' \
        "$BROKER" "$CFG" "$STATE" "$2" "$3" "$4"
}

n=0
for spec in "prestart prestart poststop" "createRuntime - -" "prestart - -"; do
    read -r where arg1 arg2 <<<"$spec"
    [ "$arg1" = - ] && arg1=
    [ "$arg2" = - ] && arg2=
    n=$((n + 1))
    id=h$n
    desc="$where hook ${arg1:-(no stage)}, poststop hook ${arg2:-(no stage)}"
    make_bundle "$id" /lockbox-shim -- /bin/lbx-testapp read-fd:3 mounted:/run/secrets
    annotate "$id" io.lockbox.secret.db=store:db
    hooks_at "$id" "$where" "$arg1" "$arg2"
    run_container "$id"
    assert_eq "$desc: runc run exits 0" 0 "$RC"
    assert_eq "$desc: the secret on fd 3" "$S" "$(out_value "$id" fd.3)"
    assert_eq "$desc: unmounted" no "$(out_value "$id" mounted./run/secrets)"
    assert_clean "$id"
done
assert_no_secret_anywhere "$S"
finish
