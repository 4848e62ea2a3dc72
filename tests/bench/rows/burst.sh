# shellcheck shell=bash
# tests/bench/rows/burst.sh — 4. $BURST containers started at once: bare (twice: the A/A pair),
# with two hooks that do nothing (the floor of any hook), and with 5 Vault secrets each from the
# Python test server and from the same behind nginx's HTTP/2 front, the agent off (rows/agent.sh
# adds the agent's bursts); the token cache emptied before each burst, so that each must log in
# itself.
# Counted per burst, exactly: failures, AppRole logins (the test server's counters), the TLS
# connections the server saw (the test server's handshakes; for the front, the distinct
# connection serials in nginx's access log) and requests.

burst_setup() {
    local i ann_v ann_h read5 noop
    ann_v=$(annotations io.lockbox.secret 'vault:secret/bench/s%03d#value' 5)
    ann_h=$(annotations io.lockbox.secret 'vault_h2:secret/bench/s%03d#value' 5)
    mapfile -t read5 < <(readfds 5)
    noop=$(hooks_noop)
    for ((i = 1; i <= BURST; i++)); do
        bundle "bp$i" '{}' '{}' /bin/true
        bundle "bf$i" "$noop" '{}' /bin/true
        bundle "bv$i" "$LOCKBOX_HOOKS" "$ann_v" /lockbox-shim -- /bin/lbx-testapp "${read5[@]}"
        bundle "bh$i" "$LOCKBOX_HOOKS" "$ann_h" /lockbox-shim -- /bin/lbx-testapp "${read5[@]}"
    done
}

# burst_of KIND ID_PREFIX ROUND: start the BURST containers of bundles bKIND1.. together and
# wait for them all; this is what is timed. The runc runs that did not exit 0 go to
# BURST_FAILED; burst_failures (untimed, after the sample) adds the lockbox applications that
# did not print their 5 values. (Checked inside the sample, the 250 awk and grep processes of
# that check had been timed as part of every lockbox burst: 5-6 s of a 10-s burst here.)
burst_of() {
    local kind=$1 pre=$2 r=$3 i pids=() failed=0
    for ((i = 1; i <= BURST; i++)); do
        run_ctr "b$kind$i" "$pre$i-r$r" &
        pids+=($!)
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || failed=$((failed + 1))
    done
    BURST_FAILED=$failed
    BURST_LAST=("$kind" "$pre" "$r")
}

# burst_check_outputs: the last burst's lockbox applications that did not print their values,
# added to BURST_FAILED.
burst_check_outputs() {
    local kind=${BURST_LAST[0]} pre=${BURST_LAST[1]} r=${BURST_LAST[2]} i f
    [ "$kind" != p ] && [ "$kind" != f ] || return 0
    for ((i = 1; i <= BURST; i++)); do
        f=$T/out/$pre$i-r$r.out
        [ -e "$f" ] && expect_fds "$f" 1 5 || BURST_FAILED=$((BURST_FAILED + 1))
    done
}

burst_p() { burst_of p bpa "$1"; }
burst_p_aa() { burst_of p bpb "$1"; }
burst_f() { burst_of f bf "$1"; }
burst_v() { burst_of v bv "$1"; }
burst_h() { burst_of h bh "$1"; }

# Untimed, around a lockbox burst: an empty token cache and the servers' counters before;
# the counts after.
burst_counters_before() {
    find "$STATE/tokens" -type f ! -name '*.lock' -delete 2>/dev/null || true
    read -r L0 C0 Q0 < <(vault_counters)
    U0=$(vault_cpu_ms)
    M0=$(h2_mark)
}
burst_v_before() { burst_counters_before; }
burst_h_before() { burst_counters_before; }
burst_p_after() { burst_failures p "$1"; }
burst_p_aa_after() { burst_failures p_aa "$1"; }
burst_f_after() { burst_failures f "$1"; }
burst_v_after() { burst_counts v "$1"; }
burst_h_after() { burst_counts h "$1"; }

burst_failures() {
    burst_check_outputs
    [ "$2" -lt 0 ] || echo "$BURST_FAILED" >>"$RES/burst.$1.failed"
}

# burst_counts KIND ROUND: KIND v is the test server's burst; any other, a burst through the
# HTTP/2 front (h, and the agent's of rows/agent.sh).
burst_counts() {
    local k=$1 r=$2 l1 c1 q1 u1 conns resumed logins reqs h2
    u1=$(vault_cpu_ms)
    read -r l1 c1 q1 < <(vault_counters)
    read -r conns resumed logins reqs h2 < <(h2_counts "$M0")
    burst_failures "$k" "$r"
    [ "$r" -ge 0 ] || return 0
    echo $((l1 - L0)) >>"$RES/burst.$k.logins"
    echo $((q1 - Q0)) >>"$RES/burst.$k.requests"
    echo $((u1 - U0)) >>"$RES/burst.$k.vault_cpu"
    if [ "$k" = v ]; then
        echo $((c1 - C0)) >>"$RES/burst.v.connections"
    else
        [ "$h2" = "$reqs" ] || die "the HTTP/2 front answered $((reqs - h2)) of $reqs requests of a burst in HTTP/1"
        [ "$logins" = $((l1 - L0)) ] || die "nginx logged $logins logins, the test server counted $((l1 - L0))"
        echo "$conns" >>"$RES/burst.$k.connections"
        echo "$resumed" >>"$RES/burst.$k.resumed"
        echo "$reqs" >>"$RES/burst.$k.front_requests"
        echo $((c1 - C0)) >>"$RES/burst.$k.upstream"
    fi
}

burst_round_end() { rm -f "$T"/out/b[pfvha]*-r"$1".*; }

burst_run() {
    say "4/5 $BURST containers at once: $BURST_ROUNDS rounds of bare, bare, two no-op hooks, test server, HTTP/2 front (5 secrets each)"
    burst_setup
    interleave burst "$BURST_ROUNDS" p p_aa f v h "${AGENT_BURST_VARIANTS[@]}"
    [ -z "$(ls "$STATE/containers" 2>/dev/null)" ] || die "the bursts left container records behind"
}

# burst_sum KEY: the sum over the rounds.
burst_sum() {
    awk '{ s += $1 } END { print s + 0 }' "$RES/$1"
}

burst_table() {
    section "4. $BURST containers started at once, 5 Vault secrets each ($BURST_ROUNDS rounds; wall time in ms)" "× bare (per round)"
    line "wall time, $BURST bare \`runc run\` (the reference)" burst.p 0 ms "1.00" "" ""
    aa_row "A/A: the same bare burst again (the noise floor)" burst p_aa p ratio 0
    ratio_row "floor: the same burst with two hooks that do nothing (\`/bin/true\` as createRuntime and poststop)" \
        burst f p 1 "" "" "(floor)" 0
    ratio_row "wall time with lockbox, no agent, nginx HTTP/2 front of the test server" burst h p 1 "" "" "(no agent)" 0
    ratio_row "wall time with lockbox, no agent, Python test server (HTTP/1.1)" burst v p 1 "" "" "(comparison)" 0
    agent_burst_rows
    count_row "failed containers per burst, no agent, HTTP/2 front ($(burst_sum burst.h.failed) in all rounds; bare: $(burst_sum burst.p.failed))" \
        burst.h.failed "" "<=" 0
    count_row "failed containers per burst, no agent, test server ($(burst_sum burst.v.failed) in all rounds)" burst.v.failed "" "<=" 0
    count_row "AppRole logins per burst, no agent, HTTP/2 front (one role; the token cache file)" burst.h.logins 1 "" "" "(no agent)"
    count_row "AppRole logins per burst, no agent, test server (one role)" burst.v.logins 1 "" "" "(no agent)"
    count_row "TLS connections to the HTTP/2 front per burst, no agent (nginx's connection serials)" burst.h.connections 1 "" "" "(no agent: one a hook)"
    count_row "… of which resumed a TLS session" burst.h.resumed "" "" "" "(reference)"
    count_row "requests to the HTTP/2 front per burst (all over HTTP/2)" burst.h.front_requests "" "" "" "(reference)"
    count_row "TLS connections from nginx to the test server per burst (kept alive)" burst.h.upstream "" "" "" "(reference)"
    count_row "TLS connections to the test server per burst, no agent (its handshakes; HTTP/1.1)" burst.v.connections 1 "" "" "(no agent)"
    count_row "requests the test server answered per burst, direct" burst.v.requests "" "" "" "(reference)"
    ref_row "CPU time the test server (Python) used per burst, direct" burst.v.vault_cpu 0
    ref_row "CPU time the test server (Python) used per burst, behind the front" burst.h.vault_cpu 0
    note "A failure is a \`runc run\` that did not exit 0 or an application that did not print its 5 values. The token cache is emptied before each lockbox burst, so that each burst must log in itself: fewer than one login is a measurement error. nginx numbers every connection it accepts (\`\$connection\`) and logs it with each request: the distinct numbers of a burst are its TLS connections. DESIGN §12's targets (1 login, at most 2 TLS connections per backend) are stated for the fetch agent and judge its rows; the rows marked \"no agent\" run with the agent off, each hook fetching in a child of its own. The agent's burst stops it first (untimed), so that the burst's first hook starts it and the burst pays its start, its login and its connection; the warm agent's burst finds them made."
}
