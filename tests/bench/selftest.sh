#!/bin/bash
# tests/bench/selftest.sh — the bench's arithmetic on synthetic timings, without a container:
# per-round ratios and differences, quartiles and notches, the A/A noise floor, and the verdict
# of a row — above all that a figure below what it contains is flagged as a measurement error,
# never "met" (the table of make bench once showed lockbox's hooks at 0.68 × no hooks, "met").
# Prints one line a check, then "bench-selftest: N passed, M failed"; exit 1 if one failed.
# Run by make check (tests/integration/06-bench-selftest.sh); needs bash, awk, coreutils.
set -Eeuo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
T0=$(date +%s%N)
BG_PIDS=()
T=
# shellcheck source=tests/bench/lib/engine.sh
. "$HERE/lib/engine.sh"
# shellcheck source=tests/bench/lib/stats.sh
. "$HERE/lib/stats.sh"
# shellcheck source=tests/bench/lib/table.sh
. "$HERE/lib/table.sh"

RES=$(mktemp -d /tmp/lbx-bench-selftest.XXXXXX)
TABLE=$RES/table.md
trap 'rm -rf "$RES"' EXIT
: >"$TABLE"
passed=0 failed=0

# samples KEY VALUE...: a synthetic series, one round a value.
samples() {
    local k=$1
    shift
    printf '%s\n' "$@" >"$RES/$k"
}

# expect WHAT GOT WANT: exact match; expect_prefix WHAT GOT PREFIX; expect_near WHAT GOT WANT.
ok() {
    passed=$((passed + 1))
    echo "ok: $1"
}
bad() {
    failed=$((failed + 1))
    echo "FAIL: $1: got '$2', want $3"
}
expect() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "$2" "'$3'"; fi; }
expect_prefix() { if [[ $2 == "$3"* ]]; then ok "$1"; else bad "$1" "$2" "'$3...'"; fi; }
expect_near() {
    if awk -v a="$2" -v b="$3" 'BEGIN { d = a - b; exit !(d < 1e-4 && d > -1e-4) }'; then
        ok "$1"
    else
        bad "$1" "$2" "$3"
    fi
}

# Statistics: quartiles by interpolation, the notch.
samples q 9 1 8 2 7 3 6 4 5
read -r m lo hi q1 q3 n < <(stats q)
expect "median, min, max, quartiles, n of 1..9" "$m $lo $hi $q1 $q3 $n" \
    "5.000000 1.000000 9.000000 3.000000 7.000000 9"
expect_near "notch of 1..9 is 1.58 × IQR / √n" "$(notch q)" "$(calc "1.58 * 4 / 3")"
samples q4 1 2 3 4
expect_near "median of an even count is the mean of the middle two" "$(med q4)" 2.5

# Per-round ratios pair the samples of one round; the median of the ratios is not the ratio
# of the medians (30/20 = 1.5 here).
samples g.base 10 20 40
samples g.var 30 22 41
expect_near "median of per-round ratios" "$(med "$(per_round per g.var g.base)")" 1.1
expect_near "median of per-round differences" "$(med "$(per_round minus g.var g.base)")" 2
samples g.short 1 2
if per_round per g.short g.base 2>/dev/null; then
    bad "series of different lengths are refused" "paired" "an error"
else
    ok "series of different lengths are refused"
fi

# Verdicts.
expect_prefix "0.68 × a reference it contains: measurement error, not met" \
    "$(judge 0.68 0.03 1 "<=" 1.10)" "**measurement error**"
expect_prefix "below the floor with no target: measurement error, not a comparison" \
    "$(judge 0.70 0.05 1 "" "" "(comparison)")" "**measurement error**"
expect "below 1.00 within the noise, under the target: met" "$(judge 0.98 0.03 1 "<=" 1.10)" met
expect "1.05 for a target of 1.10 with ±0.02: met" "$(judge 1.05 0.02 1 "<=" 1.10)" met
expect "1.09 for a target of 1.10 with ±0.03: within noise" "$(judge 1.09 0.03 1 "<=" 1.10)" "within noise (±0.03)"
expect "1.12 for a target of 1.10 with ±0.03: within noise" "$(judge 1.12 0.03 1 "<=" 1.10)" "within noise (±0.03)"
expect "1.20 for a target of 1.10 with ±0.03: missed" "$(judge 1.20 0.03 1 "<=" 1.10)" "**missed**"
expect "no target: the label" "$(judge 1.30 0.05 1 "" "" "(comparison)")" "(comparison)"
expect "1 login for a target of 1: met" "$(judge 1 0 1 "<=" 1)" met
expect "2 logins for a target of 1: missed" "$(judge 2 0 1 "<=" 1)" "**missed**"
expect_prefix "0 logins after emptying the cache: measurement error" "$(judge 0 0 1 "<=" 1)" "**measurement error**"
expect_prefix "the shim 0.5 ms faster than true: measurement error" "$(judge -0.5 0.1 0 "<" 2)" "**measurement error**"
expect "the shim 1.2 ms more than true, < 2: met" "$(judge 1.2 0.1 0 "<" 2)" met

# The A/A noise floor: identical variants that measure alike, and a biased method (the second
# of two identical runs always 30 % faster: what a fixed order does).
samples aa.a 35 36 34 35 37 35 36 34 35 36
samples aa.b 36 35 35 34 36 36 35 35 34 37
samples aa.c 24.5 25.2 23.8 24.5 25.9 24.5 25.2 23.8 24.5 25.2
key=$(per_round per aa.b aa.a)
if aa_biased "$key" 1; then bad "identical variants are not biased" biased "not biased"; else ok "identical variants are not biased"; fi
expect "the noise of identical variants is small" "$(awk -v x="$(noise_of "$key" 1)" 'BEGIN { print (x < 0.05) }')" 1
key=$(per_round per aa.c aa.a)
if aa_biased "$key" 1; then ok "a 0.70 A/A pair is flagged as a bias of the method"; else bad "a 0.70 A/A pair is flagged" "not biased" biased; fi
expect_near "the noise of a 0.70 A/A pair is its distance from 1" "$(noise_of "$key" 1)" 0.3
samples aa.d 2000 2300
samples aa.e 1900 2100
key=$(per_round per aa.e aa.d)
if aa_biased "$key" 1; then bad "2 rounds are too few to call a bias" biased "not biased"; else ok "2 rounds are too few to call a bias"; fi

# End to end through the table: the A/A row first, then the rows judged with its noise.
samples start.bare 35 36 34 35 37 35 36 34 35 36
samples start.bare_aa 36 35 35 34 36 36 35 35 34 37
samples start.norequest 23.8 24.5 23.1 23.8 25.2 23.8 24.5 23.1 23.8 24.5
samples start.store 36.8 37.8 35.7 36.8 38.9 36.8 37.8 35.7 36.8 37.8
samples start.naive 400 410 390 405 420 400 410 395 400 415
aa_row "A/A" start bare_aa bare
ratio_row "hooks, no secret" start norequest bare 1 "" "" "(comparison)"
ratio_row "10 store secrets" start store bare 1 "<=" 1.10
ratio_row "naive" start naive bare 1 "" "" "(comparison)"
part_row "whole/part" start norequest store
expect_prefix "table: the A/A row states the noise floor" "$(grep '^| A/A ' "$TABLE" | cut -d'|' -f8)" " noise floor ±"
expect_prefix "table: hooks at 0.68 × bare are a measurement error" \
    "$(grep '^| hooks, no secret ' "$TABLE" | cut -d'|' -f8)" " **measurement error**"
expect "table: 10 store secrets at 1.05 × bare are met" "$(grep '^| 10 store secrets ' "$TABLE" | cut -d'|' -f8)" " met "
expect "table: the comparison keeps its label" "$(grep '^| naive ' "$TABLE" | cut -d'|' -f8)" " (comparison) "
expect_prefix "table: a whole faster than its part is a measurement error" \
    "$(grep '^| whole/part ' "$TABLE" | cut -d'|' -f8)" " **measurement error**"
expect "table: the ratio column is the median of per-round ratios [min – max]" \
    "$(grep '^| 10 store secrets ' "$TABLE" | cut -d'|' -f6)" " 1.05 [1.05 – 1.05] "

# Counts: judged on the worst round; a round below the floor is a measurement error.
samples c.logins 1 1 2 1
samples c.zero 1 0 1 1
count_row "logins" c.logins 1 "<=" 1
count_row "zero" c.zero 1 "<=" 1
expect "counts: one burst with 2 logins misses a target of 1" "$(grep '^| logins ' "$TABLE" | cut -d'|' -f8)" " **missed** "
expect_prefix "counts: a burst with no login is a measurement error" "$(grep '^| zero ' "$TABLE" | cut -d'|' -f8)" " **measurement error**"

echo "bench-selftest: $passed passed, $failed failed"
[ "$failed" = 0 ]
