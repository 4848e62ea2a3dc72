#!/bin/bash
# 37-help.sh — every command prints --help and exits 0 (issue 2, Done when); a usage error
# exits 2 (the broker) or 125 (the shim), and its first line names the program and the problem
# (DESIGN §3: "lockbox-broker: ..."); the broker's is that one line alone.
. "$(dirname "$0")/lib.sh"

for args in "--help" "-h" "hook --help" "inject --help" "rotate --help" "status --help" \
    "revoke --help" "store --help" "check --help"; do
    rc=0
    # shellcheck disable=SC2086 # word splitting of the arguments is meant
    out=$("$BROKER" $args 2>&1) || rc=$?
    assert_eq "lockbox-broker $args exits 0" 0 "$rc"
    assert_match "lockbox-broker $args prints a usage" "$out" "^Usage: lockbox-broker"
done
rc=0
out=$("$SHIM" --help 2>&1) || rc=$?
assert_eq "lockbox-shim --help exits 0" 0 "$rc"
assert_match "lockbox-shim --help prints a usage" "$out" "^Usage: lockbox-shim"

first_line_named() {
    [[ ${1%%$'\n'*} =~ ^lockbox-(broker|shim):\ . ]]
}
for args in "" "frobnicate" "inject" "rotate" "rotate --bogus c1" "status --bogus" "store" \
    "store put" "hook bogus-stage" "--config" "--bogus=x status" "-x status" "inject --pid" \
    "inject --pid 1" "inject -q" "rotate --grace" "status -j"; do
    rc=0
    # shellcheck disable=SC2086
    out=$("$BROKER" $args 2>&1 </dev/null) || rc=$?
    assert_eq "lockbox-broker $args: usage error, exit 2" 2 "$rc"
    assert_true "lockbox-broker $args: its first line says lockbox-broker: ... [${out%%$'\n'*}]" \
        first_line_named "$out"
    # One line, not getopt's own message followed by a usage dump, and no errno text
    # ("Invalid argument") glued to a mistake in the command line.
    assert_eq "lockbox-broker $args: exactly one line" 1 "$(printf '%s\n' "$out" | wc -l)"
    assert_not_contains "lockbox-broker $args: no errno text" "$out" "Invalid argument"
done
for args in "" "--bogus -- true" "--fd db=1 -- true" "--wait x -- true"; do
    rc=0
    # shellcheck disable=SC2086
    out=$("$SHIM" $args 2>&1 </dev/null) || rc=$?
    assert_eq "lockbox-shim $args: exit 125" 125 "$rc"
    assert_true "lockbox-shim $args: its first line says lockbox-shim: ... [${out%%$'\n'*}]" \
        first_line_named "$out"
done
finish
