# shellcheck shell=bash
# shellcheck disable=SC2034 # the AGENT_*_VARIANTS: set here for the files run.sh sources with this one
# tests/bench/rows/agent.sh — the warm fetch agent's rows (issue 15, item 1: `lockbox-broker
# agent`, README "The agent"), interleaved with each group's own variants in the same shuffled
# rounds, judged against the group's reference and A/A noise.
#
# The other rows run with the agent off (lib/servers.sh: "agent": {"enabled": false}): their
# hooks fetch in their own child. These rows use a configuration of their own, $CFG_AGENT: the
# same backends and role, the agent on ("idle_s": 3600: it never idles out during the bench), its
# own state directory $STATE_AGENT (one agent serves one state directory and configuration).
#
# A variant NAME of group G is the function G_NAME ROUND, timed from call to return;
# G_NAME_before and G_NAME_after run untimed around it (lib/engine.sh, interleave). Warm: the
# agent runs and has served the variant's backend already (agent_ensure, untimed: when it does
# not, a container asking for one secret of that backend starts or warms it). Cold: the agent is
# stopped first (agent_stop, untimed), so that the variant's first hook starts it, which then
# connects and logs in. Every sample of a warm variant is checked to have been served by the
# agent it was given (the same pid before and after: an agent that refused, died or served
# another configuration would have exited, and the hook fallen back to its own fetch child);
# every cold one, by a new agent.
#
#   start: 1 and 10 Vault secrets through the HTTP/2 front, warm and cold; 10 from nginx's
#          recorded replies, warm (a server that answers at once: lockbox's own part).
#   fetch: 100 secrets from nginx's recorded replies through a warm agent (lbx-bench-fetch
#          --agent: the hook's own request to the agent, process start included, no container).
#   burst: $BURST containers at once, 5 Vault secrets each through the HTTP/2 front, with the
#          agent stopped before each burst (the first hook starts it: one login, its
#          connections) and with a warm agent; the same counters as burst.sh's rows.
#   rss:   the hook's peak RSS when a warm agent fetches its 10 Vault secrets; the agent's own
#          peak (VmHWM) after a fresh agent fetched the 100 secrets of the fetch row.

AGENT_START_VARIANTS=(agent_warm_1 agent_warm agent_cold_1 agent_cold agent_warm_nginx)
AGENT_FETCH_VARIANTS=(agent agent_cold)
AGENT_BURST_VARIANTS=(a aw)
AGENT_RSS_VARIANTS=(broker_agent agent_100)

# agent_pid [STATE_DIR]: the pid of the running agent of STATE_DIR (default $STATE_AGENT; comm
# lockbox-agent), or false.
agent_pid() {
    local pid comm
    read -r pid 2>/dev/null <"${1:-$STATE_AGENT}/agent/agent.pid" || return 1
    read -r comm 2>/dev/null <"/proc/$pid/comm" || return 1
    [ "$comm" = lockbox-agent ] || return 1
    echo "$pid"
}

# agent_stop [STATE_DIR]: end its running agent (TERM, KILL after 5 s), wait until it is gone.
agent_stop() {
    local pid i w kept=
    AGENT_PID=
    pid=$(agent_pid "$@") || return 0
    for w in $AGENT_WARM; do
        [ "${w%%:*}" = "$pid" ] || kept="$kept $w"
    done
    AGENT_WARM=$kept
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 500; i++)); do
        [ -e "/proc/$pid" ] || return 0
        sleep 0.01
    done
    kill -KILL "$pid" 2>/dev/null
    for ((i = 0; i < 500; i++)); do
        [ -e "/proc/$pid" ] || return 0
        sleep 0.01
    done
    die "the agent $pid does not exit"
}

# agent_ensure BACKEND: a running agent that has served BACKEND (vault_h2, nginx or vault) since it
# started: otherwise a container asking for one secret of BACKEND (starting the agent if none
# runs). Sets AGENT_PID, for agent_served.
AGENT_WARM=
AGENT_UPS=0
agent_ensure() {
    local pid id
    pid=$(agent_pid) || pid=
    if [ -z "$pid" ] || [[ " $AGENT_WARM " != *" $pid:$1 "* ]]; then
        [ -n "$pid" ] || AGENT_WARM=
        AGENT_UPS=$((AGENT_UPS + 1))
        id=agent-up-$AGENT_UPS
        run_ctr "agent-up-$1" "$id" || die "agent: starting or warming it failed: $(tail -n 3 "$T/out/$id.err")"
        expect_fds "$T/out/$id.out" 1 1 || die "agent: the warm-up container did not get its secret"
        rm -f "$T/out/$id".*
        pid=$(agent_pid) || die "agent: no agent runs after a hook asked for a $1 secret"
        AGENT_WARM="$AGENT_WARM $pid:$1"
    fi
    AGENT_PID=$pid
}

# agent_served WHAT [STATE_DIR]: the sample was served by the agent of agent_ensure (warm) or,
# after agent_stop, by a new one (cold), still running.
agent_served() {
    local pid
    pid=$(agent_pid "${@:2}") || die "agent: $1: no agent runs after the sample (the hook fell back?)"
    if [ "${AGENT_PID:-}" ]; then
        [ "$pid" = "$AGENT_PID" ] || die "agent: $1: served by agent $pid, not the warm $AGENT_PID"
    fi
    AGENT_PID=
}

# agent_config SRC DST STATE_DIR: SRC with the agent on (and never idle during the bench) and
# its own state directory.
agent_config() {
    "$PY" - "$@" <<'EOF'
import json, os, sys
src, dst, state = sys.argv[1:]
with open(src) as f:
    c = json.load(f)
c["state_dir"] = state
if "audit_log" in c:
    c["audit_log"] = state + "-audit.log"
c["agent"] = {"enabled": True, "idle_s": 3600}
fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
with os.fdopen(fd, "w") as f:
    json.dump(c, f, indent=1)
EOF
}

# agent_setup: the configuration, the bundles of the groups that run, each checked once.
agent_setup() {
    local b ann args h2_1_ann h2_ann nginx_ann
    CFG_AGENT=$T/etc/broker-agent.json
    STATE_AGENT=$T/run/lockbox-agent
    agent_config "$CFG" "$CFG_AGENT" "$STATE_AGENT"
    FETCH_AGENT_CFG=$T/etc/fetch-agent.json
    FETCH_AGENT_STATE=$T/run/fetch-agent
    agent_config "$T/etc/fetch-nginx.json" "$FETCH_AGENT_CFG" "$FETCH_AGENT_STATE"
    AGENT_HOOKS=$(CFG=$CFG_AGENT hooks_lockbox "$BROKER")
    mapfile -t args < <(readfds 1)
    for b in vault_h2 nginx vault; do
        ann=$(annotations io.lockbox.secret "$b:secret/bench/s%03d#value" 1)
        bundle "agent-up-$b" "$AGENT_HOOKS" "$ann" /lockbox-shim -- /bin/lbx-testapp "${args[@]}"
    done
    h2_1_ann=$(annotations io.lockbox.secret 'vault_h2:secret/bench/s%03d#value' 1)
    h2_ann=$(annotations io.lockbox.secret 'vault_h2:secret/bench/s%03d#value' 10)
    AGENT_VAULT_ANN=$(annotations io.lockbox.secret 'vault:secret/bench/s%03d#value' 10)
    nginx_ann=$(annotations io.lockbox.secret 'nginx:secret/bench/s%03d#value' 10)
    if [[ " $GROUPS_RUN " == *" start "* ]]; then
        bundle agent_1 "$AGENT_HOOKS" "$h2_1_ann" /lockbox-shim -- /bin/true
        bundle agent_10 "$AGENT_HOOKS" "$h2_ann" /lockbox-shim -- /bin/true
        bundle agent_nginx "$AGENT_HOOKS" "$nginx_ann" /lockbox-shim -- /bin/true
        say "checking that the agent starts and delivers"
        agent_stop
        check_variant agent_1 1 "$h2_1_ann" "$AGENT_HOOKS"
        AGENT_PID=$(agent_pid) || die "agent: a hook with a Vault secret did not start the agent"
        check_variant agent_10 10 "$h2_ann" "$AGENT_HOOKS"
        agent_served "checking 10 secrets"
        check_variant agent_nginx 10 "$nginx_ann" "$AGENT_HOOKS"
        agent_served "checking 10 secrets from nginx"
        [ -z "$(ls "$STATE_AGENT/containers" 2>/dev/null)" ] || die "the broker left a container record behind (agent)"
    fi
}

# agent_cleanup (run.sh's cleanup): the records of the agent's state, then the agent.
agent_cleanup() {
    [ -n "${CFG_AGENT:-}" ] || return 0
    lbx_stop_all "$RUNC_ROOT" "$STATE_AGENT" "$BROKER" "$CFG_AGENT"
    agent_stop
    agent_stop "$FETCH_AGENT_STATE"
}

# 1. Container start.
start_agent_warm_1_before() { agent_ensure vault_h2; }
start_agent_warm_1() { run_ctr agent_1 "aw1-r$1"; }
start_agent_warm_1_after() { agent_served "start, 1 secret, warm"; }
start_agent_warm_before() { agent_ensure vault_h2; }
start_agent_warm() { run_ctr agent_10 "aw10-r$1"; }
start_agent_warm_after() { agent_served "start, 10 secrets, warm"; }
start_agent_warm_nginx_before() { agent_ensure nginx; }
start_agent_warm_nginx() { run_ctr agent_nginx "awn-r$1"; }
start_agent_warm_nginx_after() { agent_served "start, 10 secrets from nginx, warm"; }
start_agent_cold_1_before() { agent_stop; }
start_agent_cold_1() { run_ctr agent_1 "ac1-r$1"; }
start_agent_cold_1_after() { agent_served "start, 1 secret, cold"; }
start_agent_cold_before() { agent_stop; }
start_agent_cold() { run_ctr agent_10 "ac10-r$1"; }
start_agent_cold_after() { agent_served "start, 10 secrets, cold"; }

agent_start_rows() {
    ratio_row "lockbox, 1 Vault secret, **warm agent**, nginx HTTP/2 front (AppRole; the agent's token and connection)" \
        start agent_warm_1 bare 1 "<=" 1.15
    ratio_row "lockbox, 10 Vault secrets, **warm agent**, nginx HTTP/2 front" start agent_warm bare 1 "<=" 1.25
    ratio_row "lockbox, 10 Vault secrets, warm agent, nginx's recorded replies (a server that answers at once, as Vault from memory: lockbox's own part; token file)" \
        start agent_warm_nginx bare 1 "" "" "(comparison)"
    part_row "whole/part: 10 Vault secrets, warm agent, nginx's recorded replies ÷ the floor with an entrypoint" \
        start agent_warm_nginx floor_exec
    ratio_row "lockbox, 1 Vault secret, cold agent (the hook starts it; it connects and logs in)" \
        start agent_cold_1 bare 1 "" "" "(comparison)"
    ratio_row "lockbox, 10 Vault secrets, cold agent" start agent_cold bare 1 "" "" "(comparison)"
    part_row "whole/part: 10 Vault secrets, cold agent ÷ warm agent" start agent_cold agent_warm
    ratio_row "10 Vault secrets, no agent ÷ warm agent (HTTP/2 front): what the agent saves a start" \
        start h2 agent_warm "" "" "" "(comparison)"
}

# 2. Fetching 100 secrets through the agent: lbx-bench-fetch --agent, a hook's request to the
# agent of its configuration (that of fetch-nginx.json with the agent on: the same server, token
# file and 100 references as the rows of fetch.sh). The agent checks that its clients run its
# executable, so this agent is lbx-bench-fetch started as a hook starts one, running the broker's
# `agent` command from the same objects (tests/bench/fetch.c).
fetch_agent_run() {
    quiet "$FETCH" --agent "$FETCH_AGENT_CFG" "${REFS100[@]}"
}
fetch_agent_before() {
    local pid
    pid=$(agent_pid "$FETCH_AGENT_STATE") || pid=
    if [ -z "$pid" ] || [[ " $AGENT_WARM " != *" $pid:fetch "* ]]; then
        "$FETCH" --agent -v "$FETCH_AGENT_CFG" "${REFS100[@]}" >"$T/log/fetch.out" 2>"$T/log/fetch.err" ||
            die "fetch through the agent failed: $(tail -n 3 "$T/log/fetch.err")"
        grep -q '^fetched 100 of 100 ' "$T/log/fetch.out" || die "fetch through the agent: $(cat "$T/log/fetch.out")"
        pid=$(agent_pid "$FETCH_AGENT_STATE") || die "fetch: no agent runs after a fetch through it"
        AGENT_WARM="$AGENT_WARM $pid:fetch"
    fi
    AGENT_PID=$pid
}
fetch_agent() { fetch_agent_run; }
fetch_agent_after() { agent_served "fetch of 100, warm" "$FETCH_AGENT_STATE"; }
fetch_agent_cold_before() { agent_stop "$FETCH_AGENT_STATE"; }
fetch_agent_cold() { fetch_agent_run; }
fetch_agent_cold_after() { agent_served "fetch of 100, cold" "$FETCH_AGENT_STATE"; }

agent_fetch_rows() {
    ratio_row "lockbox's fetch through a **warm agent** → nginx (lbx-bench-fetch --agent: a hook's request, process start included; the agent's HTTP/2 connection open)" \
        fetch agent curl "" "<=" 1.0
    ratio_row "the same, cold agent (stopped before: the fetch starts it, it connects)" \
        fetch agent_cold curl "" "" "" "(comparison)"
    part_row "whole/part: cold agent ÷ warm agent" fetch agent_cold agent
}

# 4. Bursts through the agent: stopped before each (cold), or warm.
agent_burst_bundles() {
    local i ann read5
    [ -z "${AGENT_BURST_READY:-}" ] || return 0
    ann=$(annotations io.lockbox.secret 'vault_h2:secret/bench/s%03d#value' 5)
    mapfile -t read5 < <(readfds 5)
    for ((i = 1; i <= BURST; i++)); do
        bundle "ba$i" "$AGENT_HOOKS" "$ann" /lockbox-shim -- /bin/lbx-testapp "${read5[@]}"
    done
    AGENT_BURST_READY=1
}
burst_a_before() {
    agent_burst_bundles
    agent_stop
    burst_counters_before
}
burst_a() { burst_of a bac "$1"; }
burst_a_after() {
    burst_counts a "$1"
    agent_served "burst, cold"
}
burst_aw_before() {
    agent_burst_bundles
    agent_ensure vault_h2
    burst_counters_before
}
burst_aw() { burst_of a baw "$1"; }
burst_aw_after() {
    burst_counts aw "$1"
    agent_served "burst, warm"
}

agent_burst_rows() {
    ratio_row "wall time with lockbox and the agent (stopped before each burst: its first hook starts it), HTTP/2 front" \
        burst a p 1 "<=" 1.5 "" 0
    ratio_row "wall time with lockbox and a warm agent, HTTP/2 front" burst aw p 1 "" "" "(comparison)" 0
    count_row "failed containers per burst, agent ($(burst_sum burst.a.failed) in all rounds; warm: $(burst_sum burst.aw.failed))" \
        burst.a.failed "" "<=" 0
    count_row "failed containers per burst, warm agent" burst.aw.failed "" "<=" 0
    count_row "AppRole logins per burst, agent started by the burst (one role)" burst.a.logins 1 "<=" 1
    count_row "TLS connections to the HTTP/2 front per burst, agent started by the burst" burst.a.connections 1 "<=" 2
    count_row "AppRole logins per burst, warm agent (its token from an earlier burst)" burst.aw.logins "" "" "" "(reference)"
    count_row "requests to the HTTP/2 front per burst, agent started by the burst" burst.a.front_requests "" "" "" "(reference)"
    count_row "TLS connections to the HTTP/2 front per burst, warm agent (the connection it keeps)" \
        burst.aw.connections 1 "" "" "(reference)"
}

# 5. Peak RSS: the hook with a warm agent; the agent itself.
agent_rss_setup() {
    [ -z "${AGENT_RSS_READY:-}" ] || return 0
    cat >"$T/bin/broker-rss-agent" <<EOF
#!/bin/sh
exec /usr/bin/time -f %M -a -o "$RES/rss.raw.broker_agent" "$BROKER" "\$@"
EOF
    chmod 0755 "$T/bin/broker-rss-agent"
    bundle rss-agent "$(CFG=$CFG_AGENT hooks_lockbox "$T/bin/broker-rss-agent")" "$AGENT_VAULT_ANN" \
        /lockbox-shim -- /bin/true
    bundle rss-agent100 "$AGENT_HOOKS" "$(annotations io.lockbox.secret 'nginx:secret/bench/s%03d#value' 100)" \
        /lockbox-shim -- /bin/true
    AGENT_RSS_READY=1
}
mem_broker_agent_before() {
    agent_rss_setup
    agent_ensure vault
}
mem_broker_agent() { run_ctr rss-agent "rss-agent-r$1"; }
mem_broker_agent_after() { agent_served "the hook's RSS"; }
# A fresh agent, started by a container asking for the 100 secrets of section 2 (nginx's
# recorded replies, a token file): its peak RSS from the kernel (VmHWM, what ru_maxrss reports
# at exit) once it has fetched them.
mem_agent_100_before() {
    agent_rss_setup
    agent_stop
}
mem_agent_100() {
    run_ctr rss-agent100 "rss-agent100-r$1" || die "agent_100: runc run failed: $(tail -n 3 "$T/out/rss-agent100-r$1.err")"
    AGENT_PID=$(agent_pid) || die "agent_100: no agent runs after the container"
    awk '$1 == "VmHWM:" { print $2 / 1024 }' "/proc/$AGENT_PID/status" >>"$RES/rss.agent_100"
    AGENT_PID=
}
mem_agent_100_after() { agent_served "the agent's RSS"; }

agent_rss_rows() {
    grep -q '^[0-9][0-9]*$' "$RES/rss.raw.broker_agent" || die "no RSS recorded for the hook with the agent"
    [ "$(grep -vc '^[0-9][0-9]*$' "$RES/rss.raw.broker_agent" || true)" = 0 ] ||
        die "the hook with the agent failed under /usr/bin/time"
    awk '{ print $1 / 1024 }' "$RES/rss.raw.broker_agent" >"$RES/rss.broker_agent"
    value_row "broker, hook with 10 Vault secrets, **warm agent** (the hook: no fetch child, no libcurl)" \
        rss.broker_agent 2 MiB "<=" 4
    local curl
    curl=$(med rss.curl_100)
    value_row "the agent, fresh, after the 100 secrets of section 2 (VmHWM) — vs curl's $(fmt 2 "$curl") MiB below" \
        rss.agent_100 2 MiB "<=" "$(fmt 2 "$curl")"
}
