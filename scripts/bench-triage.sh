#!/usr/bin/env bash
# bench-triage.sh [LINES] — the access-log triage benchmark (issue 3).
#
# Generates LINES requests (default 10,000,000: ~2.3 GB extended combined,
# ~3.8 GB JSON lines) once under $BENCH_DIR, warms the page cache, then runs
# on the same files, in one run:
#   wc -l                      the I/O ceiling
#   refscan                    a minimal two-goroutine Go scanner (one field, counted)
#   parsescan                  sitrep's access-log reader alone (every field, every dimension)
#   sitrep triage -o json      the full triage, when the CLI has it
#   goaccess                   on a GOACCESS_LINES slice of the combined file (it is slow)
# and prints wall and CPU (user+sys) seconds, MB/s and lines/s (by wall
# time), MB per CPU-second and peak RSS for each. On a shared machine, where
# other processes steal the cores, compare CPU seconds.
#
# Environment: BENCH_DIR (default ${TMPDIR:-/tmp}/sitrep-bench), GOACCESS_LINES
# (default 1000000), REPEAT (runs per measurement, best wall time kept;
# default 3), SITREP (a sitrep binary to use instead of building one).
# Needs /usr/bin/time (Debian package "time") for peak RSS; without it RSS
# is shown as "-".
set -euo pipefail

LINES=${1:-10000000}
case $LINES in '' | *[!0-9]*) echo "usage: $0 [LINES]" >&2; exit 2 ;; esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/sitrep-bench}
GOACCESS_LINES=${GOACCESS_LINES:-1000000}
REPEAT=${REPEAT:-3}
BIN=$DIR/bin
mkdir -p "$BIN"
cd "$ROOT"

note() { echo "bench-triage: $*" >&2; }

note "building gen, refscan, parsescan"
go build -o "$BIN/gen" ./bench/triage/gen
go build -o "$BIN/refscan" ./bench/triage/refscan
HAVE_PARSESCAN=1
go build -o "$BIN/parsescan" ./bench/triage/parsescan 2>"$DIR/parsescan-build.log" || {
  HAVE_PARSESCAN=0
  note "parsescan does not build yet (internal/source/accesslog); skipping it — see $DIR/parsescan-build.log"
}

SITREP=${SITREP:-}
if [ -z "$SITREP" ]; then
  if go build -o "$BIN/sitrep" ./cmd/sitrep 2>"$DIR/sitrep-build.log"; then
    SITREP=$BIN/sitrep
  else
    note "cmd/sitrep does not build; skipping sitrep triage — see $DIR/sitrep-build.log"
  fi
fi
HAVE_TRIAGE=0
if [ -n "$SITREP" ] && "$SITREP" triage --help 2>/dev/null | grep -q -- '--log'; then
  HAVE_TRIAGE=1
else
  [ -n "$SITREP" ] && note "this sitrep has no 'triage --log' yet; skipping it"
fi

# The combined file's nginx log_format. Detection would pick plain
# "combined" and leave the four extra fields unparsed, so it is given
# explicitly: the benchmark measures parsing every field.
EXTENDED=$(cat bench/triage/extended.format)
LOG=$DIR/access.log
JSONL=$DIR/access.jsonl
STAMP=$DIR/.lines
if [ ! -s "$LOG" ] || [ ! -s "$JSONL" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$LINES" ]; then
  note "generating $LINES lines into $DIR (once)"
  "$BIN/gen" -n "$LINES" -out "$DIR"
  echo "$LINES" >"$STAMP"
  rm -f "$DIR/goaccess-slice.log"
fi
SLICE=$DIR/goaccess-slice.log
SLICE_LINES=$((LINES < GOACCESS_LINES ? LINES : GOACCESS_LINES))
if [ ! -s "$SLICE" ] || [ "$(wc -l <"$SLICE")" -ne "$SLICE_LINES" ]; then
  head -n "$SLICE_LINES" "$LOG" >"$SLICE"
fi

# "Page cache warm" must hold for every tool, not only the first: a kernel
# with proactive reclaim (DAMON, as on this project's VMs) evicts the files
# between runs, and the later tools then pay for disk reads in their system
# time. vmtouch -l locks the pages in memory for the whole run.
if command -v vmtouch >/dev/null 2>&1; then
  note "loading and locking the files in the page cache (vmtouch)"
  vmtouch -q -m 64G -t -l -d -P "$DIR/vmtouch.pid" "$LOG" "$JSONL" "$SLICE"
  trap 'kill "$(cat "$DIR/vmtouch.pid" 2>/dev/null)" 2>/dev/null || true' EXIT
  # -d returns at once; wait until every page is resident
  for _ in $(seq 600); do
    vmtouch "$LOG" "$JSONL" "$SLICE" | grep -q 'Resident Pages: *\([0-9]*\)/\1 ' && break
    sleep 0.5
  done
else
  note "vmtouch not found (scripts/install-deps.sh installs it): warming the page cache with cat; later runs may find it partly evicted"
  cat "$LOG" "$JSONL" "$SLICE" >/dev/null
fi

TIME=/usr/bin/time
[ -x "$TIME" ] || { TIME=; note "/usr/bin/time missing (apt-get install time): no peak RSS"; }

ROWS=()
# measure TOOL FILE NLINES CMD... — runs CMD REPEAT times (stdout to a log)
# and records the best wall time, the CPU time of that run and the largest
# peak RSS.
measure() {
  local tool=$1 file=$2 nlines=$3
  shift 3
  local out="$DIR/out-${tool// /_}-$(basename "$file").txt" tv="$DIR/time.txt"
  local best="" bestcpu="-" rss="-" i t0 t1 s cpu r status
  for ((i = 0; i < REPEAT; i++)); do
    status=0
    t0=$(date +%s.%N)
    if [ -n "$TIME" ]; then
      "$TIME" -v -o "$tv" "$@" >"$out" 2>&1 || status=$?
    else
      "$@" >"$out" 2>&1 || status=$?
    fi
    t1=$(date +%s.%N)
    if [ "$status" -ne 0 ]; then
      note "$tool on $(basename "$file") failed (exit $status); see $out"
      ROWS+=("$tool|$(basename "$file")|failed|-|-|-|-|-")
      return 0
    fi
    s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    cpu="-" r="-"
    if [ -n "$TIME" ]; then
      r=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$tv")
      cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$tv")
      if [ "$rss" = "-" ] || [ "$r" -gt "$rss" ]; then rss=$r; fi
    fi
    if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }'; then
      best=$s bestcpu=$cpu
    fi
  done
  local bytes
  bytes=$(stat -c %s "$file")
  ROWS+=("$(awk -v tool="$tool" -v f="$(basename "$file")" -v b="$bytes" -v n="$nlines" -v s="$best" -v rss="$rss" -v cpu="$bestcpu" \
    'BEGIN { c = (cpu == "-" || cpu == 0) ? "-" : sprintf("%.0f", b / cpu / 1e6); printf "%s|%s|%.2f|%s|%.1f|%s|%.0f|%s", tool, f, s, cpu, b / s / 1e6, c, n / s, rss }')")
  note "$(printf '%s' "${ROWS[-1]}" | tr '|' ' ')"
}

for f in "$LOG" "$JSONL"; do
  measure "wc -l" "$f" "$LINES" wc -l "$f"
done
measure "refscan" "$LOG" "$LINES" "$BIN/refscan" -field 9 "$LOG"
measure "refscan" "$JSONL" "$LINES" "$BIN/refscan" -key region "$JSONL"
if [ "$HAVE_PARSESCAN" = 1 ]; then
  measure "parsescan" "$LOG" "$LINES" "$BIN/parsescan" -format "$EXTENDED" "$LOG"
  measure "parsescan" "$JSONL" "$LINES" "$BIN/parsescan" -format json "$JSONL"
fi
if [ "$HAVE_TRIAGE" = 1 ]; then
  measure "sitrep triage" "$LOG" "$LINES" "$SITREP" triage --log "$LOG" --log-format "$EXTENDED" -o json
  measure "sitrep triage" "$JSONL" "$LINES" "$SITREP" triage --log "$JSONL" --log-format json -o json
fi
SAVED_REPEAT=$REPEAT
REPEAT=1 # GoAccess is slow and steady
measure "goaccess" "$SLICE" "$SLICE_LINES" goaccess "$SLICE" --no-global-config \
  --log-format='%h %^[%d:%t %^] "%r" %s %b "%R" "%u" %T %^' \
  --date-format='%d/%b/%Y' --time-format='%T' -o "$DIR/goaccess.json"
REPEAT=$SAVED_REPEAT

echo
echo "triage benchmark: $LINES lines, $(nproc) CPUs, $(go env GOVERSION), page cache warm, best of $REPEAT, load average $(cut -d' ' -f1-3 /proc/loadavg)"
{
  echo "TOOL|FILE|WALL S|CPU S|MB/S|MB/CPU-S|LINES/S|PEAK RSS MiB"
  printf '%s\n' "${ROWS[@]}"
} | column -t -s '|'
echo
echo "outputs: $DIR/out-*.txt"
