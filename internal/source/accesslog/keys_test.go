package accesslog

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

// TestRequestKeys: a request's sampling key depends on its line and its
// input only — not on the number of workers nor on which one read it — and
// the same line in two inputs is two requests, with two keys.
func TestRequestKeys(t *testing.T) {
	dir := t.TempDir()
	var a bytes.Buffer
	for i := range 3000 {
		fmt.Fprintf(&a, "10.0.%d.%d - - [17/May/2015:10:05:%02d +0000] \"GET /item/%d HTTP/1.1\" 200 512 \"-\" \"curl/8.5.0\"\n", i/250, i%250, i%60, i)
	}
	first := bytes.Clone(bytes.SplitAfter(a.Bytes(), []byte("\n"))[0])
	a.Write(first) // the first line again
	if err := os.WriteFile(filepath.Join(dir, "a.log"), a.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.log"), first, 0o644); err != nil {
		t.Fatal(err)
	}
	// Each key's uris, in order.
	scan := func(workers int, paths ...string) map[uint64][]string {
		recs, _, err := scanAll(t, Options{Paths: paths, Format: "combined", Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		keys := map[uint64][]string{}
		for _, r := range recs {
			keys[r.Key] = append(keys[r.Key], r.Fields["uri"])
		}
		for _, uris := range keys {
			sort.Strings(uris)
		}
		return keys
	}
	one := scan(1, filepath.Join(dir, "a.log"))
	if len(one) != 3000 {
		t.Fatalf("%d distinct keys for 3,000 distinct lines (and one repeated)", len(one))
	}
	if _, ok := one[0]; ok {
		t.Error("a request has key 0 (no key)")
	}
	if four := scan(4, filepath.Join(dir, "a.log")); !reflect.DeepEqual(one, four) {
		t.Error("the keys differ between one worker and four")
	}
	both := scan(2, filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log"))
	if len(both) != 3001 {
		t.Errorf("%d distinct keys with b.log's copy of a.log's first line, want 3,001", len(both))
	}
	for k, uris := range one {
		if len(uris) == 2 && !reflect.DeepEqual(both[k], uris) {
			t.Errorf("the repeated line's key holds %v with b.log read too, want %v", both[k], uris)
		}
	}
}
