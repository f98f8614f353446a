package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The reference must count every line exactly once whatever the split:
// ranges cut mid-line, tiny buffers, a last line without a newline.
func TestScanCountsEveryLineOnce(t *testing.T) {
	var b strings.Builder
	want := map[string]int64{}
	for i := 0; i < 1000; i++ {
		st := []string{"200", "502", "404"}[i%3]
		fmt.Fprintf(&b, "10.0.0.%d - - [20/Nov/2026:11:00:00 +0000] \"GET /x/%d HTTP/1.1\" %s %d", i%250, i, st, i)
		want[st]++
		if i != 999 {
			b.WriteByte('\n')
		}
	}
	path := filepath.Join(t.TempDir(), "a.log")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ workers, buf int }{{1, 1 << 20}, {2, 1 << 20}, {3, 200}, {7, 128}} {
		t.Run(fmt.Sprintf("workers=%d,buf=%d", tc.workers, tc.buf), func(t *testing.T) {
			counts, lines, _, err := scan(path, 9, "", tc.workers, tc.buf)
			if err != nil {
				t.Fatal(err)
			}
			if lines != 1000 {
				t.Errorf("lines = %d, want 1000", lines)
			}
			for k, n := range want {
				if counts[k] != n {
					t.Errorf("count[%s] = %d, want %d (all: %v)", k, counts[k], n, counts)
				}
			}
		})
	}
}

func TestScanJSONKeyAndEmptyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.jsonl")
	os.WriteFile(path, []byte("{\"region\":\"eu\",\"status\":502}\n{\"region\":\"us\"}\n{\"region\":\"eu\"}\n"), 0o644)
	counts, lines, _, err := scan(path, 1, "region", 2, 1<<10)
	if err != nil || lines != 3 || counts["eu"] != 2 || counts["us"] != 1 {
		t.Fatalf("got %v lines=%d err=%v", counts, lines, err)
	}
	empty := filepath.Join(dir, "empty.log")
	os.WriteFile(empty, nil, 0o644)
	if _, lines, _, err := scan(empty, 9, "", 2, 1<<10); err != nil || lines != 0 {
		t.Fatalf("empty file: lines=%d err=%v", lines, err)
	}
}

// FuzzScan checks the range splitting against a naive count: whatever the
// bytes, the number of workers and the buffer size, every line is seen
// once and its field counted.
func FuzzScan(f *testing.F) {
	f.Add([]byte("a b c\nd e f\n"), uint8(2), uint16(64), uint8(2))
	f.Add([]byte("1 - - [x] \"GET / HTTP/1.1\" 200 1\n\n\nno newline at end"), uint8(3), uint16(17), uint8(9))
	f.Add([]byte("\n"), uint8(1), uint16(1), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, workers uint8, buf uint16, field uint8) {
		w := int(workers%4) + 1
		fd := int(field%10) + 1
		longest := 0
		for _, l := range bytes.Split(data, []byte("\n")) {
			longest = max(longest, len(l)+1)
		}
		bs := max(int(buf)%512, longest+1, 2)
		path := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		counts, lines, _, err := scan(path, fd, "", w, bs)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{}
		var wantLines int64
		rest := data
		for len(rest) > 0 {
			var line []byte
			if i := bytes.IndexByte(rest, '\n'); i >= 0 {
				line, rest = rest[:i], rest[i+1:]
			} else {
				line, rest = rest, nil
			}
			wantLines++
			want[string(extract(line, fd, nil))]++
		}
		if lines != wantLines {
			t.Fatalf("lines = %d, want %d", lines, wantLines)
		}
		for k, n := range want {
			if counts[k] != n {
				t.Fatalf("count[%q] = %d, want %d", k, counts[k], n)
			}
		}
	})
}
