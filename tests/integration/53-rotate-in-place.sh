#!/bin/bash
# 53-rotate-in-place.sh — rotation of a tmpfs nobody consumed (an application that reads
# /run/secrets itself, no shim; DESIGN §8): the files are replaced in the mounted tmpfs through
# the watcher's mount fd, every file renamed into place before the manifest. A reader looping
# over the manifest and the files during many rotations, as an application does (by path),
# must never find a file missing, empty or partial, nor a manifest that does not parse; when
# it checks the files against the manifest's BLAKE2b hashes and reads again on a mismatch, it
# must always get a whole set of one generation, never a mix, within a few tries.
. "$(dirname "$0")/lib.sh"
. "$LBX_IT_DIR/lib-rotate.sh"

ROUNDS=100
# Generation K's values: large enough (108 KB) that a write in place would be caught half done.
printf -v FILLER '<%05d>' {1..15000}
value() {
    printf '%s-%d-' "$1" "$2"
    printf '%s' "$FILLER" | tr 0 "$(($2 % 10))"
}
put_value() {
    value "$1" "$2" | broker store put "$1" >/dev/null || die "store put $1 failed"
}
put_value db 1
put_value api 1

make_bundle c1 /bin/lbx-testapp sleep:300
annotate c1 io.lockbox.secret.db=store:db io.lockbox.secret.api=store:api
add_hooks c1
start_container c1
assert_eq "runc run -d exits 0" 0 "$RC"
pid=$(container_field c1 pid)
dir=/proc/$pid/root/run/secrets
assert_true "the tmpfs is mounted in the container" test -e "$dir/.lockbox.json"

# Nothing changed: nothing is touched, not even the manifest.
before=$(stat -c '%i %Y' "$dir/.lockbox.json" "$dir/db")
out=$(broker rotate c1)
assert_eq "rotate of unchanged secrets says so" "c1 api: unchanged"$'\n'"c1 db: unchanged" "$out"
assert_eq "and touches no file on the tmpfs" "$before" "$(stat -c '%i %Y' "$dir/.lockbox.json" "$dir/db")"
assert_eq "nor the generation" 1 "$(record c1 generation)"

cat >"$T/reader.py" <<'PYEOF'
import hashlib, json, os, sys
d, stop, report = sys.argv[1], sys.argv[2], sys.argv[3]
filler = "".join("<%05d>" % i for i in range(1, 15001))

def generation_of(name, data):
    """K when data is generation K's whole value of name, else None."""
    text = data.decode("ascii", "replace")
    parts = text.split("-", 2)
    if len(parts) != 3 or parts[0] != name or not parts[1].isdigit():
        return None
    k = int(parts[1])
    return k if parts[2] == filler.replace("0", str(k % 10)) else None

iterations = retries = worst = 0
problems, generations = [], set()
while not os.path.exists(stop):
    for attempt in range(1, 101):
        with open(os.path.join(d, ".lockbox.json"), "rb") as f:
            raw = f.read()
        try:
            m = json.loads(raw)
        except ValueError:
            problems.append("manifest does not parse (%d bytes)" % len(raw))
            continue
        files = {}
        for e in m["secrets"]:
            try:
                with open(os.path.join(d, e["file"]), "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                problems.append("%s missing" % e["file"])
                continue
            if generation_of(e["name"], data) is None:
                problems.append("%s partial or unknown (%d bytes)" % (e["name"], len(data)))
            files[e["name"]] = (data, e)
        if len(files) == 2 and all(hashlib.blake2b(data, digest_size=32).hexdigest() == e["blake2b"]
                                   and len(data) == e["size"] for data, e in files.values()):
            ks = {generation_of(n, data) for n, (data, e) in files.items()}
            if ks != {m["generation"]}:
                problems.append("accepted a mixed set: generations %s, manifest %d"
                                % (sorted(ks), m["generation"]))
            generations.add(m["generation"])
            worst = max(worst, attempt)
            break
        retries += 1
    else:
        problems.append("no whole set in 100 reads")
    iterations += 1
with open(report, "w") as f:
    json.dump({"iterations": iterations, "retries": retries, "worst": worst,
               "generations": len(generations), "problems": problems[:5],
               "n_problems": len(problems)}, f)
PYEOF
"$PY" "$T/reader.py" "$dir" "$T/stop" "$T/report.json" &
reader=$!
BG_PIDS+=("$reader")

failed=0
for ((k = 2; k <= ROUNDS + 1; k++)); do
    put_value db "$k"
    put_value api "$k"
    out=$(broker rotate c1) || failed=$((failed + 1))
    [ "$out" = "c1 api: rotated"$'\n'"c1 db: rotated" ] || failed=$((failed + 1))
done
touch "$T/stop"
wait "$reader" || true
assert_eq "$ROUNDS rotations, each reporting both secrets rotated" 0 "$failed"

report=$(cat "$T/report.json")
echo "reader: $report"
field() {
    "$PY" -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$report" "$1"
}
assert_eq "the reader never saw a missing, partial or mixed set" 0 "$(field n_problems)"
assert_true "the reader ran through the rotations" test "$(field iterations)" -gt "$ROUNDS"
assert_true "and saw most generations" test "$(field generations)" -gt $((ROUNDS / 2))
assert_eq "the record is at generation $((ROUNDS + 1))" $((ROUNDS + 1)) "$(record c1 generation)"
assert_eq "the files hold the last generation" "$(value db $((ROUNDS + 1)))" "$(cat "$dir/db")"
assert_eq "the manifest says so" $((ROUNDS + 1)) \
    "$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["generation"])' "$dir/.lockbox.json")"
# shellcheck disable=SC2012 # the tmpfs holds lockbox's names only; ls -A sorts them
assert_eq "no temporary file is left on the tmpfs" ".lockbox.consumed .lockbox.json api db" "$(ls -A "$dir" | tr '\n' ' ' | sed 's/ $//')"
assert_eq "the record is not consumed" false "$(record c1 consumed)"
assert_true "its watcher still runs" test -n "$(our_watchers)"

runc --root "$RUNC_ROOT" kill c1 KILL
wait_stopped c1 || true
delete_container c1
assert_clean c1
finish
