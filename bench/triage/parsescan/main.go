// Command parsescan measures sitrep's access-log reader alone: it runs
// accesslog.Scan over the given files with a sink that only counts requests
// and touches every field, so the figure is parsing plus derived dimensions,
// without the triage engine's aggregation.
//
// Usage:
//
//	parsescan [-format F] [-workers N] [-cpuprofile FILE] FILE...
//
// It prints one summary line in the same shape as refscan's:
//
//	lines=10000000 bytes=2323608300 seconds=4.1 mb_per_s=566.7 lines_per_s=2439024 malformed=0 format=combined-extended
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/source/accesslog"
)

// countSink counts requests and the bytes of their field values, so the
// compiler cannot drop the work of producing them.
type countSink struct {
	n, b  int64
	total *atomic.Int64
}

func (s *countSink) Add(r *signal.Request) {
	s.n++
	for i := range r.Fields {
		s.b += int64(len(r.Fields[i].Value))
	}
	if s.n&0xffff == 0 {
		s.total.Add(0xffff + 1)
	}
}

func main() {
	format := flag.String("format", "", "log format (empty: detect)")
	workers := flag.Int("workers", 0, "parsing workers (0: GOMAXPROCS)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: parsescan [-format F] [-workers N] FILE...")
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "parsescan: %v\n", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(os.Stderr, "parsescan: %v\n", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	var total atomic.Int64
	var sinks []*countSink
	start := time.Now()
	st, err := accesslog.Scan(context.Background(), accesslog.Options{
		Paths:   flag.Args(),
		Format:  *format,
		Stdin:   os.Stdin,
		Workers: *workers,
	}, func() signal.RequestSink {
		s := &countSink{total: &total}
		sinks = append(sinks, s)
		return s
	})
	secs := time.Since(start).Seconds()
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintf(os.Stderr, "parsescan: %v\n", err)
		os.Exit(1)
	}
	var n, b int64
	for _, s := range sinks {
		n += s.n
		b += s.b
	}
	var formats []string
	for _, f := range st.Formats {
		formats = append(formats, f)
	}
	sort.Strings(formats)
	fmt.Printf("lines=%d bytes=%d seconds=%.3f mb_per_s=%.1f lines_per_s=%.0f malformed=%d requests=%d value_bytes=%d format=%s\n",
		st.Lines, st.Bytes, secs, float64(st.Bytes)/secs/1e6, float64(st.Lines)/secs, st.Malformed, n, b, strings.Join(formats, ","))
}
