#!/bin/bash
# tests/bench/naive-hook.sh VAULT_ADDR CA_FILE HEADER_FILE — the naive alternative that
# make bench compares lockbox with, as an operator might write it in an afternoon: a runc
# createRuntime hook in bash that reads the container's state with jq, enters the container's
# mount namespace, mounts a tmpfs at ROOTFS/run/secrets and writes one file per
# `naive.secret.NAME=PATH#FIELD` annotation of config.json, each read from Vault's KV v2 by a
# curl of its own (HEADER_FILE holds "X-Vault-Token: ...") and picked out with jq.
#
# What it leaves out is what lockbox does besides: no policy, no login or token cache, no
# parallel fetch, no verification, no audit, no shim (the files stay mounted for the
# application to read), no lease revocation at poststop. It is here to be timed, not used.
set -euo pipefail

addr=$1 ca=$2 header=$3
if [ "${4:-}" != --in-ns ]; then
    state=$(cat)
    pid=$(jq -r .pid <<<"$state")
    bundle=$(jq -r .bundle <<<"$state")
    # Before pivot_root the container's mount namespace still sees the host's files (this
    # script, curl, jq) and the rootfs at its host path.
    exec nsenter --target "$pid" --mount -- "$0" "$addr" "$ca" "$header" --in-ns "$bundle"
fi
bundle=$5
cfg=$bundle/config.json
root=$(jq -r .root.path "$cfg")
case $root in /*) ;; *) root=$bundle/$root ;; esac
dir=$root/run/secrets
mkdir -p "$dir"
mount -t tmpfs -o size=1m,mode=0700,nosuid,nodev,noexec naive-secrets "$dir"
jq -r '.annotations // {} | to_entries[] | select(.key | startswith("naive.secret."))
       | "\(.key[13:]) \(.value)"' "$cfg" |
    while read -r name ref; do
        path=${ref%%#*} field=${ref#*#}
        curl -sS --fail --cacert "$ca" -H @"$header" "$addr/v1/secret/data/${path#secret/}" |
            jq -je --arg f "$field" '.data.data[$f]' >"$dir/$name"
        chmod 0400 "$dir/$name"
    done
