# shellcheck shell=bash
# tests/bench/lib/table.sh — the table of `make bench`: markdown, one section per row group,
# collected in $TABLE; every verdict comes from judge (stats.sh). Then the header that says
# how to read it, and the document.

# fmt DECIMALS NUMBER
fmt() {
    printf '%.*f' "$1" "$2"
}

# section TITLE COMPARED: a new table; COMPARED names the ratio (or difference) column.
section() {
    printf '\n### %s\n\n| | median | min | max | %s | target | verdict |\n|---|---:|---:|---:|---:|---|---|\n' \
        "$1" "$2" >>"$TABLE"
}

note() {
    printf '\n%s\n' "$*" >>"$TABLE"
}

# line DESC KEY DECIMALS UNIT COMPARED TARGET VERDICT: one row, the samples of KEY.
line() {
    local m lo hi _q1 _q3 _n
    read -r m lo hi _q1 _q3 _n < <(stats "$2")
    printf '| %s | %s %s | %s | %s | %s | %s | %s |\n' "$1" "$(fmt "$3" "$m")" "$4" "$(fmt "$3" "$lo")" \
        "$(fmt "$3" "$hi")" "$5" "$6" "$7" >>"$TABLE"
}

# compared KEY DECIMALS PREFIX SUFFIX: "median [min – max]" of a per-round series.
compared() {
    local m lo hi _
    read -r m lo hi _ < <(stats "$1")
    printf '%s%s%s [%s – %s]' "$3" "$(fmt "$2" "$m")" "$4" "$(fmt "$2" "$lo")" "$(fmt "$2" "$hi")"
}

# target_text OP TARGET UNIT
target_text() {
    [ -n "$2" ] || return 0
    case $1 in
    "<=") printf '≤ %s%s' "$2" "$3" ;;
    *) printf '< %s%s' "$2" "$3" ;;
    esac
}

# aa_row DESC GROUP VAR BASE [KIND] [DECIMALS]: the A/A row of a group, two identical
# variants; sets NOISE, the group's noise floor, for the rows that follow. KIND "ratio" (the
# default) or "diff".
aa_row() {
    local desc=$1 group=$2 var=$3 base=$4 kind=${5:-ratio} dec=${6:-1} key centre=1 verdict col
    if [ "$kind" = diff ]; then
        key=$(per_round minus "$group.$var" "$group.$base") || die "A/A row $group.$var"
        centre=0
        col=$(compared "$key" 2 "" " ms")
    else
        key=$(per_round per "$group.$var" "$group.$base") || die "A/A row $group.$var"
        col=$(compared "$key" 2 "" "")
    fi
    NOISE=$(noise_of "$key" "$centre")
    if aa_biased "$key" "$centre"; then
        verdict="**measurement error**: two identical runs differ by more than twice their notch (a bias of the method)"
    else
        verdict="noise floor ±$(fmt 2 "$NOISE")"
    fi
    line "$desc" "$group.$var" "$dec" ms "$col" "" "$verdict"
}

# ratio_row DESC GROUP VAR BASE FLOOR OP TARGET [LABEL] [DECIMALS]: VAR against BASE, the
# median of the per-round ratios with their min and max, judged with the group's NOISE.
ratio_row() {
    local desc=$1 group=$2 var=$3 base=$4 floor=$5 op=$6 target=$7 label=${8:-} dec=${9:-1} key m
    key=$(per_round per "$group.$var" "$group.$base") || die "row $group.$var"
    m=$(med "$key")
    line "$desc" "$group.$var" "$dec" ms "$(compared "$key" 2 "" "")" "$(target_text "$op" "$target" "")" \
        "$(judge "$m" "$(margin "$NOISE" "$key")" "$floor" "$op" "$target" "$label")"
}

# part_row DESC GROUP WHOLE PART: a whole against a part of it (at least 1.0: a part faster
# than its whole is a measurement error).
part_row() {
    local key m
    key=$(per_round per "$2.$3" "$2.$4") || die "row $2.$3"
    m=$(med "$key")
    line "$1" "$2.$3" 1 ms "$(compared "$key" 2 "" "")" "" \
        "$(judge "$m" "$(margin "$NOISE" "$key")" 1 "" "" "(whole ≥ part)")"
}

# diff_row DESC GROUP VAR BASE FLOOR OP TARGET [LABEL]: VAR minus BASE (ms), per round.
diff_row() {
    local desc=$1 group=$2 var=$3 base=$4 floor=$5 op=$6 target=$7 label=${8:-} key m
    key=$(per_round minus "$group.$var" "$group.$base") || die "row $group.$var"
    m=$(med "$key")
    line "$desc" "$group.$var" 2 ms "$(compared "$key" 2 "+" " ms")" "$(target_text "$op" "$target" " ms more")" \
        "$(judge "$m" "$(margin "$NOISE" "$key")" "$floor" "$op" "$target" "$label")"
}

# ref_row DESC KEY [DECIMALS] [UNIT]: a reference, no comparison, no verdict.
ref_row() {
    line "$1" "$2" "${3:-1}" "${4:-ms}" "" "" "(reference)"
}

# count_row DESC KEY FLOOR OP TARGET [LABEL]: an exact count per round (logins, connections,
# failures): judged on the worst round, without noise.
count_row() {
    local desc=$1 key=$2 floor=$3 op=$4 target=$5 label=${6:-} worst lo _
    worst=$(maxof "$key")
    read -r _ lo _ < <(stats "$key")
    # The floor binds every round: judge the lowest against it, the worst against the target.
    local v=$worst
    if [ -n "$floor" ] && awk -v a="$lo" -v f="$floor" 'BEGIN { exit !(a < f) }'; then
        v=$lo
    fi
    line "$desc" "$key" 0 "" "" "$(target_text "$op" "$target" "")" "$(judge "$v" 0 "$floor" "$op" "$target" "$label")"
}

# value_row DESC KEY DECIMALS UNIT OP TARGET [LABEL]: a measured value (peak RSS) against its
# target, within the row's own notch.
value_row() {
    local desc=$1 key=$2 dec=$3 unit=$4 op=$5 target=$6 label=${7:-}
    line "$desc" "$key" "$dec" "$unit" "" "$(target_text "$op" "$target" " $unit")" \
        "$(judge "$(med "$key")" "$(notch "$key")" "" "$op" "$target" "$label")"
}
