# shellcheck shell=bash
# shellcheck disable=SC2034 # STORE_ANN, VAULT_ANN: set here for the files run.sh sources with this one
# tests/bench/rows/start.sh — 1. container start: `runc run` of a busybox container running
# `true`, bare (twice: the A/A pair), with two hooks that do nothing (the floor of any hook),
# with those and the command started through one more exec (the floor of a hook and an
# entrypoint wrapper, which is how lockbox's shim runs), with lockbox's hooks asking for nothing, 10 store
# secrets, 1 and 10 Vault secrets from the Python test server and from the same behind nginx's
# HTTP/2 front, 10 from nginx's recorded replies, and the naive hook; references that show
# what bounds a hook. These hooks run with the agent off (lib/servers.sh); the agent's variants
# (rows/agent.sh) run in the same rounds.

start_setup() {
    local store_ann vault_ann vault1_ann h2_ann h2_1_ann nginx_ann naive_ann
    store_ann=$(annotations io.lockbox.secret 'store:s%02d' 10)
    vault_ann=$(annotations io.lockbox.secret 'vault:secret/bench/s%03d#value' 10)
    vault1_ann=$(annotations io.lockbox.secret 'vault:secret/bench/s%03d#value' 1)
    h2_ann=$(annotations io.lockbox.secret 'vault_h2:secret/bench/s%03d#value' 10)
    h2_1_ann=$(annotations io.lockbox.secret 'vault_h2:secret/bench/s%03d#value' 1)
    nginx_ann=$(annotations io.lockbox.secret 'nginx:secret/bench/s%03d#value' 10)
    naive_ann=$(annotations naive.secret 'secret/bench/s%03d#value' 10)
    STORE_ANN=$store_ann
    VAULT_ANN=$vault_ann

    bundle plain '{}' '{}' /bin/true
    bundle floor "$(hooks_noop)" '{}' /bin/true
    bundle floor_exec "$(hooks_noop)" '{}' /bin/env /bin/true
    bundle norequest "$LOCKBOX_HOOKS" '{}' /bin/true
    bundle store "$LOCKBOX_HOOKS" "$store_ann" /lockbox-shim -- /bin/true
    bundle vault1 "$LOCKBOX_HOOKS" "$vault1_ann" /lockbox-shim -- /bin/true
    bundle vault "$LOCKBOX_HOOKS" "$vault_ann" /lockbox-shim -- /bin/true
    bundle h2_1 "$LOCKBOX_HOOKS" "$h2_1_ann" /lockbox-shim -- /bin/true
    bundle h2 "$LOCKBOX_HOOKS" "$h2_ann" /lockbox-shim -- /bin/true
    bundle nginx "$LOCKBOX_HOOKS" "$nginx_ann" /lockbox-shim -- /bin/true
    bundle naive "$(hooks_naive)" "$naive_ann" /bin/true

    say "checking that every variant delivers its secrets"
    run_ctr plain plain-check || die "runc run without lockbox failed: $(tail -n 3 "$T/out/plain-check.err")"
    run_ctr floor floor-check || die "runc run with two /bin/true hooks failed: $(tail -n 3 "$T/out/floor-check.err")"
    run_ctr floor_exec floor_exec-check ||
        die "runc run of /bin/env /bin/true with two /bin/true hooks failed: $(tail -n 3 "$T/out/floor_exec-check.err")"
    check_variant store 10 "$store_ann"
    check_variant vault1 1 "$vault1_ann"
    check_variant vault 10 "$vault_ann"
    check_variant h2_1 1 "$h2_1_ann"
    check_variant h2 10 "$h2_ann"
    check_variant nginx 10 "$nginx_ann"
    # shellcheck disable=SC2016 # the container's sh expands it
    bundle naive-check "$(hooks_naive)" "$naive_ann" /bin/sh -c \
        'n=3; for f in /run/secrets/s*; do printf "fd.%d=" $n; cat "$f"; echo; n=$((n + 1)); done'
    run_ctr naive-check naive-check || die "naive: runc run failed: $(tail -n 3 "$T/out/naive-check.err")"
    expect_fds "$T/out/naive-check.out" 1 10 || die "naive: the container did not get its 10 secrets"
    [ -z "$(ls "$STATE/containers" 2>/dev/null)" ] || die "the broker left a container record behind"
}

# The variants: one `runc run` each (the A/A pair: the same bundle, the same command).
start_bare() { run_ctr plain "bare1-r$1"; }
start_bare_aa() { run_ctr plain "bare2-r$1"; }
start_floor() { run_ctr floor "floor-r$1"; }
start_floor_exec() { run_ctr floor_exec "floorx-r$1"; }
start_norequest() { run_ctr norequest "norequest-r$1"; }
start_store() { run_ctr store "store-r$1"; }
start_vault1() { run_ctr vault1 "vault1-r$1"; }
start_vault() { run_ctr vault "vault-r$1"; }
start_h2_1() { run_ctr h2_1 "h2_1-r$1"; }
start_h2() { run_ctr h2 "h2-r$1"; }
start_nginx() { run_ctr nginx "nginx-r$1"; }
start_naive() { run_ctr naive "naive-r$1"; }
# References: a process's start and exit with libc alone, with the broker's libraries, with
# libcurl too (which the fetch child loads for a network backend), the broker itself; lockbox's
# fetch of the same 10 Vault secrets alone, from the test server and from nginx.
start_x_libc() { "$PROBE-libc" none; }
start_x_nocurl() { "$PROBE-nocurl" none; }
start_x_curl() { "$PROBE" none; }
start_x_broker() { "$BROKER" --help >/dev/null; }
start_x_fetch_fake() { "$FETCH" "$T/etc/fetch-fake.json" "${REFS10[@]}" >/dev/null; }
start_x_fetch_nginx() { "$FETCH" "$T/etc/fetch-nginx.json" "${REFS10[@]}" >/dev/null; }
start_round_end() { rm -f "$T"/out/*-r"$1".*; }

START_VARIANTS=(bare bare_aa floor floor_exec norequest store vault1 vault h2_1 h2 nginx naive
    x_libc x_nocurl x_curl x_broker x_fetch_fake x_fetch_nginx)

start_run() {
    say "1/5 container start: $ROUNDS rounds of ${#START_VARIANTS[@]} variants (+ ${#AGENT_START_VARIANTS[@]} of the agent)"
    interleave start "$ROUNDS" "${START_VARIANTS[@]}" "${AGENT_START_VARIANTS[@]}"
}

start_table() {
    section "1. Container start: \`runc run\` of a busybox container running \`true\` (ms)" "× bare (per round)"
    line "bare \`runc run\`, no hooks (the reference)" start.bare 1 ms "1.00" "" ""
    aa_row "A/A: bare \`runc run\` again, the same command (the noise floor)" start bare_aa bare
    ratio_row "floor: two hooks that do nothing (\`/bin/true\` as createRuntime and poststop): the least an OCI-hook injector adds here" \
        start floor bare 1 "" "" "(floor)"
    ratio_row "floor with an entrypoint: the same two hooks, the command started through one more exec (\`/bin/env /bin/true\`: busybox, static as the shim is): the least a hook with an entrypoint wrapper adds here" \
        start floor_exec bare 1 "" "" "(floor)"
    ratio_row "lockbox's hooks, no secret asked for (the broker reads config.json and leaves)" \
        start norequest bare 1 "" "" "(comparison)"
    ratio_row "lockbox, 10 store secrets (shim as entrypoint)" start store bare 1 "<=" 1.10
    ratio_row "lockbox, no agent (the hook's fetch child), 1 Vault secret, nginx HTTP/2 front of the test server (AppRole, token cached)" \
        start h2_1 bare 1 "" "" "(no agent)"
    ratio_row "lockbox, no agent, 10 Vault secrets, nginx HTTP/2 front of the test server" start h2 bare 1 "" "" "(no agent)"
    ratio_row "lockbox, no agent, 1 Vault secret, Python test server (HTTP/1.1, TLS; AppRole, token cached)" \
        start vault1 bare 1 "" "" "(comparison)"
    ratio_row "lockbox, no agent, 10 Vault secrets, Python test server" start vault bare 1 "" "" "(comparison)"
    ratio_row "lockbox, no agent, 10 Vault-shaped secrets, nginx's recorded replies (HTTP/2; token file)" \
        start nginx bare 1 "" "" "(comparison)"
    ratio_row "naive hook: bash + curl + jq + tmpfs, same 10 Vault secrets (test server), no shim" \
        start naive bare 1 "" "" "(comparison)"
    agent_start_rows
    part_row "whole/part: 10 store secrets ÷ hooks with no secret" start store norequest
    part_row "whole/part: hooks with no secret ÷ two hooks that do nothing" start norequest floor
    part_row "whole/part: 10 store secrets ÷ the floor with an entrypoint" start store floor_exec
    part_row "whole/part: 1 Vault secret, warm agent ÷ the floor with an entrypoint" start agent_warm_1 floor_exec
    part_row "whole/part: the floor with an entrypoint ÷ two hooks that do nothing" start floor_exec floor
    part_row "whole/part: 10 Vault secrets ÷ 1 (HTTP/2 front, no agent)" start h2 h2_1
    part_row "whole/part: 10 Vault secrets ÷ 1 (test server, no agent)" start vault vault1
    ref_row "reference: start and exit of a C program linked with libc alone" start.x_libc
    ref_row "reference: the same linked with jansson and libsodium (as the broker is)" start.x_nocurl
    ref_row "reference: the same with Debian's libcurl too (35 libraries; what the fetch child loads)" start.x_curl
    ref_row "reference: \`lockbox-broker --help\`" start.x_broker
    ref_row "reference: lockbox's fetch of the 10 Vault secrets alone → test server (token file)" start.x_fetch_fake
    ref_row "reference: lockbox's fetch of the 10 secrets alone → nginx's recorded replies" start.x_fetch_nginx
    note "Each \`runc run\` includes create, the hooks (createRuntime, and poststop at delete), start, the process and delete. The lockbox containers run \`/lockbox-shim -- /bin/true\`, the others \`/bin/true\`. A lockbox container runs the broker twice (createRuntime, poststop). The Vault targets of DESIGN §12 are stated for a warm fetch agent and judge the agent's rows; the rows marked \"no agent\" run with \`\"agent\": {\"enabled\": false}\`, their hooks fetching in a child of their own (libcurl loaded, a TLS connection, the token from the cache file). Warm agent: running and connected to the backend, its token in memory (started untimed when it is not); cold: stopped (untimed) before the sample, so that the sample's hook starts it and it connects and logs in. The HTTP/2 front is nginx terminating TLS (ALPN h2) and passing the requests to the Python test server over kept-alive connections: the connection pattern of a real Vault, the test server's answers; the Python test server alone speaks only HTTP/1.1."
}
