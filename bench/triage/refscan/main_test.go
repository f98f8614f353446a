package main

import (
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
