# shellcheck shell=bash
# tests/bench/lib/stats.sh — the bench's arithmetic: statistics of samples, per-round ratios and
# differences, the A/A noise floor and the verdict of a row. Pure functions over the files of
# $RES (one sample a line; line N of every file of a group is round N), no side effect but the
# derived files they write there. tests/bench/selftest.sh feeds them synthetic timings.

# stats KEY: "MEDIAN MIN MAX Q1 Q3 N" of the samples in $RES/KEY (quartiles by linear
# interpolation between order statistics, as R's default and numpy's do).
stats() {
    sort -g "$RES/$1" | awk '
        function q(p,   h, lo) {
            h = (NR - 1) * p + 1; lo = int(h)
            return lo >= NR ? a[NR] : a[lo] + (h - lo) * (a[lo + 1] - a[lo])
        }
        { a[NR] = $1 }
        END {
            if (NR == 0) { print "nan nan nan nan nan 0"; exit }
            printf "%.6f %.6f %.6f %.6f %.6f %d\n", q(0.5), a[1], a[NR], q(0.25), q(0.75), NR
        }'
}

# med KEY, maxof KEY: the median, the largest sample.
med() {
    local m _
    read -r m _ < <(stats "$1")
    echo "$m"
}
maxof() {
    local _m _lo hi _
    read -r _m _lo hi _ < <(stats "$1")
    echo "$hi"
}

# notch KEY: the half-width of the 95 % confidence notch of the median of KEY's samples,
# 1.58 × IQR / √n (McGill, Tukey and Larsen, 1978: the notch of a box plot).
notch() {
    local _m _lo _hi q1 q3 n
    read -r _m _lo _hi q1 q3 n < <(stats "$1")
    awk -v a="$q1" -v b="$q3" -v n="$n" 'BEGIN { printf "%.6f\n", (n > 0 ? 1.58 * (b - a) / sqrt(n) : 0) }'
}

# per_round OP A B: writes $RES/A.OP.B, the ratio (OP "per") or difference (OP "minus") of A
# and B round by round, and prints its key. Both must hold the same number of rounds: a
# variant that missed a round would pair samples of different rounds.
per_round() {
    local op=$1 a=$2 b=$3 na nb
    na=$(wc -l <"$RES/$a")
    nb=$(wc -l <"$RES/$b")
    if [ "$na" != "$nb" ] || [ "$na" = 0 ]; then
        echo "stats: $a has $na rounds, $b has $nb: cannot pair them" >&2
        return 1
    fi
    paste "$RES/$a" "$RES/$b" | awk -v op="$op" '
        { if (op == "per") printf "%.6f\n", ($2 > 0 ? $1 / $2 : 0); else printf "%.6f\n", $1 - $2 }' \
        >"$RES/$a.$op.$b"
    echo "$a.$op.$b"
}

# noise_of AA_KEY CENTRE: the noise floor shown by an A/A series (per-round ratios, CENTRE 1,
# or differences, CENTRE 0, of two identical variants): the larger of its median's distance
# from CENTRE (a bias of the method: order, carry-over, warm-up) and its notch (the
# uncertainty of a median of that many rounds).
noise_of() {
    local m h
    m=$(med "$1")
    h=$(notch "$1")
    awk -v m="$m" -v c="$2" -v h="$h" 'BEGIN { d = m - c; if (d < 0) d = -d; printf "%.6f\n", (d > h ? d : h) }'
}

# aa_biased AA_KEY CENTRE: true when the A/A series' median is further from CENTRE than twice
# its notch (about 3.4 standard errors of a median: by chance about once in a thousand runs):
# two identical variants measured differently, which is the method's fault. Never with fewer
# than 5 rounds, whose quartiles say too little.
aa_biased() {
    local m h n _
    read -r m _ _ _ _ n < <(stats "$1")
    h=$(notch "$1")
    awk -v m="$m" -v c="$2" -v h="$h" -v n="$n" 'BEGIN { d = m - c; if (d < 0) d = -d; exit !(n >= 5 && d > 2 * h) }'
}

# margin NOISE KEY: what a row's median may be off by: the larger of the group's A/A noise and
# the row's own notch (a row noisier than the A/A pair is judged by its own spread).
margin() {
    local h
    h=$(notch "$2")
    awk -v a="$1" -v b="$h" 'BEGIN { printf "%.6f\n", (a > b ? a : b) }'
}

# judge VALUE MARGIN FLOOR OP TARGET [LABEL]: the verdict of a row.
#   FLOOR  the least the value can honestly be ("" for none): a variant that contains its
#          reference (lockbox's hooks contain a bare start; a whole contains its part) is at
#          least 1.0 times it, at least 0 ms more. Below FLOOR by more than MARGIN is a
#          measurement error, whatever the target says.
#   OP TARGET  "<=" or "<" and the bound ("" for none).
# Prints one of: "measurement error: ...", "met", "missed", "within noise (±M)", or LABEL
# (a row without target).
judge() {
    local v=$1 m=$2 floor=$3 op=$4 target=$5 label=${6:-}
    awk -v v="$v" -v m="$m" -v f="$floor" -v op="$op" -v t="$target" -v label="$label" '
        function fmt(x) { return x == int(x) && m == 0 ? sprintf("%d", x) : sprintf("%.2f", x) }
        BEGIN {
            if (f != "" && v < f - m) {
                if (m == 0) printf "**measurement error**: impossible, below %s\n", fmt(f)
                else printf "**measurement error**: impossible, below %s by more than the noise (±%s)\n", fmt(f), fmt(m)
                exit
            }
            if (t == "") { print label; exit }
            if (op == "<=") { ok = v <= t - m; bad = v > t + m }
            else if (op == "<") { ok = v < t - m; bad = v >= t + m }
            else { print "judge: unknown operator " op > "/dev/stderr"; exit 1 }
            if (ok) print "met"
            else if (bad) print "**missed**"
            else printf "within noise (±%s)\n", fmt(m)
        }'
}
