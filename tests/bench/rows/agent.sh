# shellcheck shell=bash
# shellcheck disable=SC2034 # the AGENT_*_VARIANTS: set here for the files run.sh sources with this one
# tests/bench/rows/agent.sh — the fetch agent's rows (issue 15, item 1: `lockbox-broker agent`).
# EMPTY UNTIL THE AGENT EXISTS: this file is where its warm and cold rows plug in, and the only
# bench file that work needs to touch.
#
# How a row group takes the agent's variants: each group interleaves its own variants with the
# ones listed below, in the same shuffled rounds (so that the agent's rows are paired with the
# group's reference and judged against the group's A/A noise), then calls the rows function
# below at the marked place of its table. A variant NAME of group G is the function G_NAME
# ROUND, timed from call to return; G_NAME_before and G_NAME_after, where defined, run untimed
# around it (see interleave, lib/engine.sh). The rows functions use the helpers of
# lib/table.sh: ratio_row, part_row, count_row, value_row.
#
# What DESIGN §12 and issue 15 ask of them:
#   start (rows/start.sh, reference `bare`):
#     - 1 Vault secret, warm agent, HTTP/2 front: ratio_row ... start agent_warm_1 bare 1 "<=" 1.15
#     - 10 Vault secrets, warm agent:             ratio_row ... start agent_warm bare 1 "<=" 1.25
#     - the same with a cold agent (stopped in agent_cold_before, untimed: the hook starts it)
#     - whole/part: part_row ... start agent_cold agent_warm
#   fetch (rows/fetch.sh, reference `curl`): 100 secrets through the agent, "<=" 1.0.
#   burst (rows/burst.sh, reference `p`): 50 × 5 Vault secrets through the agent, "<=" 1.5;
#     its logins (count_row ... 1 "<=" 1) and TLS connections (count_row ... 1 "<=" 2), from
#     burst_counters_before and h2_counts as the hook's own burst rows count them.
#   rss (rows/rss.sh): the hook with the agent "<=" 4 MiB; the agent, no more than the
#     reference row rss.curl_100.

AGENT_START_VARIANTS=()
AGENT_FETCH_VARIANTS=()
AGENT_BURST_VARIANTS=()
AGENT_RSS_VARIANTS=()

# agent_setup: start or configure the agent, add its bundles (called after the other setups).
agent_setup() { :; }

agent_start_rows() { :; }
agent_fetch_rows() { :; }
agent_burst_rows() { :; }
agent_rss_rows() { :; }
