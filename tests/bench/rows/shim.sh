# shellcheck shell=bash
# shellcheck disable=SC2034 # SECRET_BYTES: set here for the files run.sh sources with this one
# tests/bench/rows/shim.sh — 3. `lockbox-shim -- true` with 10 secrets on a tmpfs laid out as
# the broker lays it out (tests/app/shim-selfcheck.sh does the same: the 10 files, then the
# manifest), against `true` (twice: the A/A pair). The shim reads, verifies, unlinks,
# unmounts, then runs true; the tmpfs is laid out again, untimed, before each shim run.

shim_setup() {
    local i v h entries=
    SRC=$T/shim-src
    BUSYBOX=$(command -v busybox)
    SDIR=$T/shim-dir
    mkdir -p "$SRC" "$SDIR"
    for i in $(seq -w 1 10); do
        v=$(value "s0$i")
        printf '%s' "$v" >"$SRC/s$i"
        chmod 0400 "$SRC/s$i"
        h=$(printf '%s' "$v" | b2sum -l 256 | cut -d' ' -f1)
        entries=${entries:+$entries,}$(printf '{"name":"s%s","file":"s%s","size":%d,"mode":"0400","blake2b":"%s"}' \
            "$i" "$i" "${#v}" "$h")
    done
    SECRET_BYTES=$(cat "$SRC"/s* | wc -c)
    printf '{"version":1,"container":"bench","generation":1,"secrets":[%s]}' "$entries" >"$SRC/.lockbox.json"
    local read10
    mapfile -t read10 < <(readfds 10)
    shim_place
    "$SHIM" --dir "$SDIR" -- "$B/lbx-testapp" "${read10[@]}" >"$T/out/shim.out" 2>"$T/log/shim.err" ||
        die "lockbox-shim failed: $(tail -n 3 "$T/log/shim.err")"
    expect_fds "$T/out/shim.out" 1 10 || die "lockbox-shim did not deliver the 10 secrets"
    shim_consumed || die "lockbox-shim left the tmpfs or its files"
}

shim_place() {
    mount -t tmpfs -o size=1m,mode=0700,nosuid,nodev,noexec lockbox-bench "$SDIR"
    cp -a "$SRC/." "$SDIR/"
}
shim_consumed() {
    ! mountpoint -q "$SDIR" && [ -z "$(ls -A "$SDIR")" ]
}

shim_shim() { "$SHIM" --dir "$SDIR" -- /bin/true 2>"$T/log/shim.err"; }
shim_shim_exec() { "$SHIM" --dir "$SDIR" --exec -- /bin/true 2>"$T/log/shim.err"; }
shim_true() { /bin/true; }
# The floor of anything that runs the command after itself: one more exec, of a static program
# as the shim is (busybox's env, then /bin/true).
shim_floor() { "$BUSYBOX" env /bin/true; }
shim_true_aa() { /bin/true; }
shim_shim_before() { shim_place; }
shim_shim_exec_before() { shim_place; }
shim_shim_after() { shim_consumed || die "the shim did not consume the tmpfs"; }
shim_shim_exec_after() { shim_consumed || die "the shim --exec did not consume the tmpfs"; }

shim_run() {
    say "3/5 lockbox-shim -- true: $SHIM_ROUNDS rounds of shim, shim --exec, busybox env true, true, true"
    interleave shim "$SHIM_ROUNDS" shim shim_exec floor true true_aa
}

shim_table() {
    section "3. \`lockbox-shim -- true\` with 10 secrets on a tmpfs (ms, $SHIM_ROUNDS rounds)" "more than true (per round)"
    line "\`/bin/true\` (the reference)" shim.true 2 ms "" "" ""
    aa_row "A/A: \`/bin/true\` again (the noise floor)" shim true_aa true diff 2
    diff_row "floor: \`busybox env /bin/true\` (one more exec, of a static program as the shim is: the least anything adds that runs the command after itself)" \
        shim floor true 0 "" "" "(floor)"
    diff_row "\`lockbox-shim -- /bin/true\` (supervising, the default)" shim shim true 0 "<" 2
    diff_row "\`lockbox-shim --exec -- /bin/true\`" shim shim_exec true 0 "" "" "(comparison)"
    note "Each shim run reads and verifies the 10 files and the manifest, unlinks them, unmounts the tmpfs, makes 10 sealed memfds and runs \`/bin/true\`; the tmpfs is laid out again, untimed, before each run."
}
