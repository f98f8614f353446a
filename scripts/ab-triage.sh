#!/usr/bin/env bash
# ab-triage.sh N FILE BIN... — compare sitrep builds by alternating runs.
#
# Runs `BIN triage --log FILE -o json` for each BIN in turn, N rounds, so that
# whatever else the machine does weighs on every build alike, then prints the
# minimum and median CPU seconds (user+sys) and wall seconds per build.
# FILE ending in .jsonl is read as JSON lines; any other file with the
# benchmark's extended combined format (scripts/bench-triage.sh).
#
#   go build -o /tmp/old ./cmd/sitrep; git stash; go build -o /tmp/new ./cmd/sitrep
#   scripts/ab-triage.sh 5 /tmp/sitrep-bench/access.log /tmp/old /tmp/new
#
# Needs /usr/bin/time (Debian package "time").
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 ROUNDS FILE BIN..." >&2
  exit 2
fi
N=$1 F=$2
shift 2
EXT=$(cat "$(dirname "$0")/../bench/triage/extended.format")
FMT=(--log-format "$EXT")
case $F in *.jsonl) FMT=(--log-format json) ;; esac
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for _ in $(seq "$N"); do
  for i in $(seq $#); do
    b=${!i}
    /usr/bin/time -f "%e %U %S" "$b" triage --log "$F" "${FMT[@]}" -o json 2>&1 >/dev/null | tail -1 >>"$OUT/$i"
  done
done
for i in $(seq $#); do
  awk -v n="${!i}" '{c[NR]=$2+$3; w[NR]=$1} END {asort(c); asort(w); m=int((NR+1)/2);
    printf "%-40s cpu min %6.2f med %6.2f   wall min %6.2f med %6.2f\n", n, c[1], c[m], w[1], w[m]}' "$OUT/$i"
done
