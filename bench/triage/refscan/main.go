// Command refscan is the floor the triage benchmark measures sitrep against:
// the least work any Go parser of an access log must do. It splits the file
// into one byte range per goroutine (two by default), aligned on newlines,
// reads each with a large buffer, extracts one field from every line and
// counts its values — nothing else: no time parsing, no validation, no
// derived dimensions.
//
// Usage:
//
//	refscan -field 9 access.log          # 9th space-separated field ($9 in awk: the status of combined)
//	refscan -key region access.jsonl     # the string value of "region" in JSON lines
//
// It prints the value counts (top 10), then one summary line:
//
//	lines=10000000 bytes=2323608300 seconds=2.01 mb_per_s=1156.1 lines_per_s=4975124
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"time"
)

func main() {
	field := flag.Int("field", 9, "1-based space-separated field to count (as awk's $N)")
	key := flag.String("key", "", "count the string value of this JSON key instead of -field")
	workers := flag.Int("workers", 2, "goroutines")
	bufSize := flag.Int("buf", 1<<20, "read buffer per goroutine, bytes")
	flag.Parse()
	if flag.NArg() != 1 || *workers < 1 || *field < 1 {
		fmt.Fprintln(os.Stderr, "usage: refscan [-field N | -key NAME] [-workers N] FILE")
		os.Exit(2)
	}
	start := time.Now()
	counts, lines, size, err := scan(flag.Arg(0), *field, *key, *workers, *bufSize)
	if err != nil {
		fmt.Fprintf(os.Stderr, "refscan: %v\n", err)
		os.Exit(1)
	}
	secs := time.Since(start).Seconds()
	type kv struct {
		k string
		n int64
	}
	var top []kv
	for k, n := range counts {
		top = append(top, kv{k, n})
	}
	sort.Slice(top, func(i, j int) bool { return top[i].n > top[j].n || top[i].n == top[j].n && top[i].k < top[j].k })
	for i, e := range top {
		if i == 10 {
			fmt.Printf("... %d more values\n", len(top)-10)
			break
		}
		fmt.Printf("%10d %s\n", e.n, e.k)
	}
	fmt.Printf("lines=%d bytes=%d seconds=%.3f mb_per_s=%.1f lines_per_s=%.0f\n",
		lines, size, secs, float64(size)/secs/1e6, float64(lines)/secs)
}

// scan splits the file into ranges and counts the chosen field in each.
func scan(path string, field int, key string, workers, bufSize int) (map[string]int64, int64, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, 0, err
	}
	size := st.Size()
	// Range boundaries: each boundary moves forward to just after a newline.
	bounds := []int64{0}
	probe := make([]byte, 64<<10)
	for w := 1; w < workers; w++ {
		at := size * int64(w) / int64(workers)
		if at <= bounds[len(bounds)-1] {
			continue
		}
		for {
			n, err := f.ReadAt(probe, at)
			if i := bytes.IndexByte(probe[:n], '\n'); i >= 0 {
				at += int64(i) + 1
				break
			}
			at += int64(n)
			if err != nil {
				at = size
				break
			}
		}
		bounds = append(bounds, at)
	}
	bounds = append(bounds, size)

	type result struct {
		counts map[string]int64
		lines  int64
		err    error
	}
	results := make([]result, len(bounds)-1)
	var wg sync.WaitGroup
	var keyPat []byte
	if key != "" {
		keyPat = []byte(`"` + key + `":"`)
	}
	for i := 0; i+1 < len(bounds); i++ {
		wg.Add(1)
		go func(i int, from, to int64) {
			defer wg.Done()
			r := &results[i]
			r.counts = map[string]int64{}
			r.lines, r.err = scanRange(f, from, to, bufSize, field, keyPat, r.counts)
		}(i, bounds[i], bounds[i+1])
	}
	wg.Wait()
	total := map[string]int64{}
	var lines int64
	for _, r := range results {
		if r.err != nil {
			return nil, 0, 0, r.err
		}
		lines += r.lines
		for k, n := range r.counts {
			total[k] += n
		}
	}
	return total, lines, size, nil
}

func scanRange(f *os.File, from, to int64, bufSize, field int, keyPat []byte, counts map[string]int64) (int64, error) {
	buf := make([]byte, bufSize)
	var lines int64
	carry := 0
	off := from
	for off < to || carry > 0 {
		want := len(buf) - carry
		if rem := to - off; int64(want) > rem {
			want = int(rem)
		}
		n, err := f.ReadAt(buf[carry:carry+want], off)
		off += int64(n)
		if err != nil && !errors.Is(err, io.EOF) {
			return lines, err
		}
		data := buf[:carry+n]
		last := bytes.LastIndexByte(data, '\n')
		if off >= to || n == 0 {
			last = len(data) - 1 // the range's final line, newline or not
		}
		if last < 0 {
			if len(data) == len(buf) {
				return lines, fmt.Errorf("line longer than %d bytes at offset %d", len(buf), off)
			}
			carry = len(data)
			continue
		}
		block := data[:last+1]
		for len(block) > 0 {
			nl := bytes.IndexByte(block, '\n')
			var line []byte
			if nl < 0 {
				line, block = block, nil
			} else {
				line, block = block[:nl], block[nl+1:]
			}
			lines++
			v := extract(line, field, keyPat)
			counts[string(v)]++
		}
		carry = copy(buf, data[last+1:])
		if off >= to && carry == 0 {
			break
		}
	}
	return lines, nil
}

func extract(line []byte, field int, keyPat []byte) []byte {
	if keyPat != nil {
		i := bytes.Index(line, keyPat)
		if i < 0 {
			return nil
		}
		v := line[i+len(keyPat):]
		if j := bytes.IndexByte(v, '"'); j >= 0 {
			return v[:j]
		}
		return v
	}
	for k := 1; k < field; k++ {
		i := bytes.IndexByte(line, ' ')
		if i < 0 {
			return nil
		}
		line = line[i+1:]
	}
	if i := bytes.IndexByte(line, ' '); i >= 0 {
		return line[:i]
	}
	return line
}
