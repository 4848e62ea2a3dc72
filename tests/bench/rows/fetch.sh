# shellcheck shell=bash
# tests/bench/rows/fetch.sh — 2. 100 Vault KV v2 secrets: lockbox's fetch (lbx-bench-fetch,
# the broker's own code, in process and in its privsep child as the hook runs it) against
# `curl --parallel --http2` (twice: the A/A pair) and a python3-hvac script, from nginx's
# recorded replies; the same against the HTTP/2 front of the test server and the test server
# itself. The agent's variants (rows/agent.sh) run in the same rounds.

fetch_setup() {
    local i u addr
    for u in nginx h2; do
        addr=$NGINX_ADDR
        [ "$u" = h2 ] && addr=$H2_ADDR
        {
            echo "header = \"@$T/etc/root.hdr\""
            for i in $(seq -w 1 100); do
                echo "url = \"$addr/v1/secret/data/bench/s$i\""
                echo "output = \"/dev/null\""
            done
        } >"$T/etc/fetch-$u.curl"
    done
    local f out
    for f in "${FETCH_VARIANTS[@]}"; do
        out=$(FETCH_SHOW=1 "fetch_$f" 2>"$T/log/fetch.err") || die "fetch $f failed: $(tail -n 3 "$T/log/fetch.err")"
        case $f in
        curl*) ;;
        *) [[ $out == "fetched 100 "* ]] || die "fetch $f: $out" ;;
        esac
    done
}

# quiet COMMAND...: a timed run discards the output; FETCH_SHOW=1 (fetch_setup) keeps it.
quiet() {
    if [ -n "${FETCH_SHOW:-}" ]; then "$@"; else "$@" >/dev/null 2>"$T/log/fetch.err"; fi
}
fetch_lockbox() { quiet "$FETCH" "$T/etc/fetch-nginx.json" "${REFS100[@]}"; }
fetch_lockbox_privsep() { quiet "$FETCH" --privsep "$T/etc/fetch-nginx.json" "${REFS100[@]}"; }
fetch_curl() { quiet curl --parallel --parallel-max 100 --http2 -sS --fail --cacert "$CA" -K "$T/etc/fetch-nginx.curl"; }
fetch_curl_aa() { fetch_curl; }
fetch_hvac() { quiet "$PY" "$HERE/hvac_fetch.py" "$NGINX_ADDR" "$CA" "$T/etc/root-token" 100; }
fetch_lockbox_h2() { quiet "$FETCH" "$T/etc/fetch-h2.json" "${REFS100[@]}"; }
fetch_curl_h2() { quiet curl --parallel --parallel-max 100 --http2 -sS --fail --cacert "$CA" -K "$T/etc/fetch-h2.curl"; }
fetch_lockbox_fake() { quiet "$FETCH" "$T/etc/fetch-fake.json" "${REFS100[@]}"; }
fetch_hvac_fake() { quiet "$PY" "$HERE/hvac_fetch.py" "$VAULT_ADDR" "$CA" "$T/etc/root-token" 100; }
FETCH_VARIANTS=(lockbox lockbox_privsep curl curl_aa hvac lockbox_h2 curl_h2 lockbox_fake hvac_fake)

fetch_run() {
    say "2/5 fetching 100 secrets: $ROUNDS rounds of ${#FETCH_VARIANTS[@]} fetchers (+ ${#AGENT_FETCH_VARIANTS[@]} of the agent)"
    interleave fetch "$ROUNDS" "${FETCH_VARIANTS[@]}" "${AGENT_FETCH_VARIANTS[@]}"
}

fetch_table() {
    section "2. Fetching 100 Vault KV v2 secrets (ms, process start to exit)" "× curl (per round)"
    line "\`curl --parallel --http2\` → nginx's recorded replies (HTTP/2, TLS; the reference)" fetch.curl 1 ms "1.00" "" ""
    aa_row "A/A: the same curl again (the noise floor)" fetch curl_aa curl
    ratio_row "lockbox's fetch (lbx-bench-fetch: the broker's backend code) → nginx" fetch lockbox curl "" "<=" 1.0
    ratio_row "lockbox's fetch in its privsep child, as the hook runs it → nginx" fetch lockbox_privsep curl "" "" "" "(as the hook)"
    ratio_row "python3-hvac script, sequential → nginx (HTTP/1.1 keep-alive)" fetch hvac curl "" "" "" "(comparison)"
    agent_fetch_rows
    part_row "whole/part: the privsep child's fetch ÷ the fetch alone" fetch lockbox_privsep lockbox
    ratio_row "\`curl --parallel --http2\` → nginx HTTP/2 front of the test server" fetch curl_h2 curl "" "" "" "(comparison)"
    ratio_row "lockbox's fetch → nginx HTTP/2 front of the test server" fetch lockbox_h2 curl "" "" "" "(comparison)"
    ratio_row "lockbox's fetch → Python test server (HTTP/1.1)" fetch lockbox_fake curl "" "" "" "(comparison)"
    ratio_row "python3-hvac script → Python test server (HTTP/1.1)" fetch hvac_fake curl "" "" "" "(comparison)"
    local hv hf
    hv=$(med "$(per_round per fetch.hvac fetch.lockbox)")
    hf=$(med "$(per_round per fetch.hvac_fake fetch.lockbox_fake)")
    note "nginx serves the replies recorded from the Vault test server as static files, one worker; lockbox reads with a token file and \`kv_version: 2\` (no login, no mount lookup), as curl and hvac do. Through the HTTP/2 front every read reaches the Python test server, which bounds those rows. hvac takes $(fmt 1 "$hv")× lockbox's time against nginx and $(fmt 1 "$hf")× against the Vault test server. Through the agent: lbx-bench-fetch --agent sends the request a hook sends (the same 100 references, the same server and token file) to the agent of its configuration and checks the reply as a hook does; its time is the process's, start to exit, as curl's is, but the warm agent has its TLS connection open already, which curl must make. The agent checks that its clients run its own executable, so this one is lbx-bench-fetch started as a hook starts the agent, running the broker's \`agent\` command from the same objects; the cold row stops it first, so that the fetch starts it and it connects."
}
