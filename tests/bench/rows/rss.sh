# shellcheck shell=bash
# tests/bench/rows/rss.sh — 5. peak RSS (wait4's ru_maxrss through /usr/bin/time): the broker
# as its hook runs it (the broker, or its fetch child when that is larger), the shim on a
# tmpfs of 10 secrets, and reference programs that show what bounds the broker's.

rss_setup() {
    local v
    for v in store vault; do
        cat >"$T/bin/broker-rss-$v" <<EOF
#!/bin/sh
exec /usr/bin/time -f %M -a -o "$RES/rss.raw.broker_$v" "$BROKER" "\$@"
EOF
        chmod 0755 "$T/bin/broker-rss-$v"
    done
    bundle rss-store "$(hooks_lockbox "$T/bin/broker-rss-store")" "$STORE_ANN" /lockbox-shim -- /bin/true
    bundle rss-vault "$(hooks_lockbox "$T/bin/broker-rss-vault")" "$VAULT_ANN" /lockbox-shim -- /bin/true
}

# rss KEY COMMAND...: one sample of COMMAND's peak RSS, in MiB, appended to $RES/rss.KEY
# (warm-up rounds too: memory does not warm up).
rss() {
    local key=$1 kib
    shift
    /usr/bin/time -f %M -o "$T/log/rss.one" "$@" >/dev/null 2>"$T/log/rss.err" ||
        die "$key: $* failed: $(tail -n 3 "$T/log/rss.err")"
    kib=$(tail -n 1 "$T/log/rss.one")
    calc "$kib / 1024" >>"$RES/rss.$key"
}
mem_broker_store() { run_ctr rss-store "rss-store-r$1"; }
mem_broker_vault() { run_ctr rss-vault "rss-vault-r$1"; }
mem_shim_before() { shim_place; }
mem_shim() { rss shim "$SHIM" --dir "$SDIR" -- /bin/true; }
mem_shim_after() { shim_consumed || die "the shim did not consume the tmpfs"; }
mem_libc() { rss libc "$PROBE-libc" none; }
mem_nocurl() { rss nocurl "$PROBE-nocurl" none; }
mem_curl_none() { rss curl_none "$PROBE" none; }
mem_curl_init() { rss curl_init "$PROBE" init; }
mem_curl_get() { rss curl_get "$PROBE" get "$NGINX_ADDR/v1/secret/data/bench/s001" "$CA"; }
mem_help() { rss help "$BROKER" --help; }
mem_fetch() { rss fetch "$FETCH" "$T/etc/fetch-nginx.json" "${REFS100[@]}"; }
mem_curl_cli() { rss curl_cli curl -sS --fail --http2 --cacert "$CA" -o /dev/null "$NGINX_ADDR/v1/secret/data/bench/s001"; }
mem_curl_100() { rss curl_100 curl --parallel --parallel-max 100 --http2 -sS --fail --cacert "$CA" -K "$T/etc/fetch-nginx.curl"; }
mem_round_end() { rm -f "$T"/out/rss-*-r"$1".*; }

rss_run() {
    say "5/5 peak RSS: $ROUNDS rounds"
    rss_setup
    local saved=$WARMUP
    WARMUP=0
    interleave mem "$ROUNDS" broker_store broker_vault shim libc nocurl curl_none curl_init curl_get \
        help fetch curl_cli curl_100 "${AGENT_RSS_VARIANTS[@]}"
    WARMUP=$saved
    local v
    for v in store vault; do
        grep -q '^[0-9][0-9]*$' "$RES/rss.raw.broker_$v" || die "no RSS recorded for the $v hook"
        [ "$(grep -vc '^[0-9][0-9]*$' "$RES/rss.raw.broker_$v" || true)" = 0 ] ||
            die "the $v hook failed under /usr/bin/time"
        awk '{ print $1 / 1024 }' "$RES/rss.raw.broker_$v" >"$RES/rss.broker_$v"
    done
}

rss_table() {
    section "5. Peak RSS (MiB; wait4's ru_maxrss through /usr/bin/time)" ""
    value_row "broker, hook with 10 store secrets" rss.broker_store 2 MiB "<=" 4
    value_row "broker, hook with 10 Vault secrets, no agent (its fetch child, libcurl loaded)" rss.broker_vault 2 MiB "" "" "(no agent)"
    agent_rss_rows
    local lim
    lim=$(calc "2 + $SECRET_BYTES / 1048576")
    value_row "lockbox-shim, 10 secrets ($SECRET_BYTES bytes), supervising \`/bin/true\`" rss.shim 2 MiB "<" "$(fmt 2 "$lim")"
    ref_row "reference: a C program linked with libc alone, exits at once" rss.libc 2 MiB
    ref_row "reference: linked with jansson and libsodium (as the broker is), exits at once" rss.nocurl 2 MiB
    ref_row "reference: the same with Debian's libcurl too (35 libraries), exits at once" rss.curl_none 2 MiB
    ref_row "reference: the same, after \`curl_global_init()\` (OpenSSL, nghttp2)" rss.curl_init 2 MiB
    ref_row "reference: the same, one HTTPS GET over HTTP/2 (nginx)" rss.curl_get 2 MiB
    ref_row "reference: \`curl\` (the tool), one HTTPS GET over HTTP/2 (nginx)" rss.curl_cli 2 MiB
    ref_row "reference: \`curl --parallel --http2\`, the 100 secrets of section 2 (nginx)" rss.curl_100 2 MiB
    ref_row "reference: \`lockbox-broker --help\`" rss.help 2 MiB
    ref_row "reference: lbx-bench-fetch, 100 Vault secrets from nginx" rss.fetch 2 MiB
    note "DESIGN §12: a hook at most 4 MiB when the agent fetches (without the agent the Vault hook's fetch child loads libcurl and OpenSSL, which alone take more), the agent no more than curl for the same 100 secrets (the reference row above), the shim under 2 MiB plus the secrets. A hook's peak is wait4's ru_maxrss: the broker's or a child's it waited for, whichever is larger (not the agent's: a detached process). The agent's is its VmHWM in /proc after a fresh agent (started by the hook of a container asking for the 100 secrets of section 2, from nginx) fetched them: the same quantity, as the kernel keeps it for a process that does not exit."
}
