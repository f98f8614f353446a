package accesslog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestW3CErrors: a W3C log that cannot be read says why, naming the file
// or the line.
func TestW3CErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string { return writeFile(t, dir, name, text) }
	// Given as w3c, but no #Fields directive.
	p := write("a.log", "2026-11-20 12:00:00 GET / 200\n")
	if _, _, err := scanAll(t, Options{Paths: []string{p}, Format: "w3c"}); err == nil || !strings.Contains(err.Error(), "no #Fields directive") || !strings.Contains(err.Error(), "a.log") {
		t.Errorf("w3c without #Fields: %v", err)
	}
	// #Fields without the status.
	p = write("b.log", "#Fields: date time cs-uri-stem\n2026-11-20 12:00:00 /\n")
	if _, _, err := scanAll(t, Options{Paths: []string{p}}); err == nil || !strings.Contains(err.Error(), "lacks date, time or sc-status") {
		t.Errorf("#Fields without sc-status: %v", err)
	}
	// A line with a field too many is malformed, with its line number.
	p = write("c.log", "#Fields: date time cs-uri-stem sc-status time-taken\n2026-11-20 12:00:00 / 200 15\n2026-11-20 12:00:01 /a b 200 15\n2026-11-20 12:00:0x / 200 15\n")
	recs, st, err := scanAll(t, Options{Paths: []string{p}})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Duration != 0.015 || st.Malformed != 2 || st.Skipped != 1 || len(st.Samples) != 2 {
		t.Fatalf("%d requests (%+v), %d malformed, %d skipped", len(recs), recs, st.Malformed, st.Skipped)
	}
	if s := st.Samples[0]; s.Line != 3 || !strings.Contains(s.Reason, "has 6 fields, #Fields names 5") {
		t.Errorf("first malformed line %+v", s)
	}
	if s := st.Samples[1]; s.Line != 4 || !strings.Contains(s.Reason, "are not like 2026-11-20 12:00:00") {
		t.Errorf("second malformed line %+v", s)
	}
}

// FuzzW3C: any #Fields directive and line parse without a panic, and a
// parsed line gives a sane request.
func FuzzW3C(f *testing.F) {
	for _, name := range []string{"w3c-iis.log", "w3c-cloudfront.log"} {
		b, err := os.ReadFile(filepath.Join("testdata/golden", name))
		if err != nil {
			f.Fatal(err)
		}
		fields := string(w3cFields(b))
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if !strings.HasPrefix(l, "#") {
				f.Add(fields, l)
			}
		}
	}
	f.Fuzz(func(t *testing.T, fields, line string) {
		fm, err := w3cFormat([]byte(fields))
		if err != nil {
			return
		}
		p := newParser(fm, "fuzz")
		if p.parse([]byte(line)) == "" {
			checkRequest(t, p)
		}
	})
}
