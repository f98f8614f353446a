#!/usr/bin/env bash
# pgo-profile.sh — regenerate cmd/sitrep/default.pgo, the CPU profile the Go
# toolchain uses for profile-guided optimisation of the sitrep binary
# (https://go.dev/doc/pgo; `go build` reads default.pgo from the main
# package's directory on its own).
#
# The profile is the merged CPU profile of the work sitrep spends its time
# on: triage of a LINES-line access log (default 2,000,000) in the
# benchmark's extended combined format and as JSON lines (bench/triage/gen),
# and triage of a lab scenario with its metrics and change log. Everything
# is generated locally; nothing leaves the machine.
#
# Run it after a large change to the hot paths (the reader, the aggregator,
# the metrics decoder); a stale profile still builds and still helps, only
# less. Environment: LINES, OUT (where to write the profile, default
# cmd/sitrep/default.pgo).
set -euo pipefail

LINES=${LINES:-2000000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/cmd/sitrep/default.pgo}
case $OUT in /*) ;; *) OUT=$PWD/$OUT ;; esac
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$ROOT"

note() { echo "pgo-profile: $*" >&2; }

note "building sitrep and gen"
go build -o "$WORK/sitrep" ./cmd/sitrep
go build -o "$WORK/gen" ./bench/triage/gen

note "generating $LINES lines and a lab scenario in $WORK"
"$WORK/gen" -n "$LINES" -out "$WORK"
"$WORK/sitrep" lab generate zone-outage --seed 3 --out "$WORK/lab" >/dev/null

EXTENDED=$(cat bench/triage/extended.format)
note "profiling triage (combined, JSON lines, lab scenario)"
"$WORK/sitrep" triage --cpuprofile "$WORK/combined.prof" --log "$WORK/access.log" --log-format "$EXTENDED" -o json >/dev/null
"$WORK/sitrep" triage --cpuprofile "$WORK/json.prof" --log "$WORK/access.jsonl" --log-format json -o json >/dev/null
"$WORK/sitrep" triage --cpuprofile "$WORK/lab.prof" --log "$WORK/lab/logs/*" --changes "$WORK/lab/changes.jsonl" \
  --metrics "$WORK/lab/metrics/*.json" -o json >/dev/null

go tool pprof -proto "$WORK/combined.prof" "$WORK/json.prof" "$WORK/lab.prof" >"$WORK/merged.pgo" 2>/dev/null
mv "$WORK/merged.pgo" "$OUT"
note "wrote $OUT ($(wc -c <"$OUT") bytes); rebuild to use it"
