package plan

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var now = time.Date(2026, 11, 20, 9, 17, 0, 0, time.UTC)

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update after checking):\n%s", name, got)
	}
}

func TestPlanGolden(t *testing.T) {
	p, err := Make(Options{Name: "api.example.com", From: "203.0.113.10", To: "198.51.100.20", CurrentTTL: 86400 * time.Second, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	var txt, md bytes.Buffer
	p.WriteText(&txt)
	p.WriteMarkdown(&md)
	js, _ := json.MarshalIndent(p, "", "  ")
	golden(t, "api.txt", txt.Bytes())
	golden(t, "api.md", md.Bytes())
	golden(t, "api.json", append(js, '\n'))
}

func TestPlanTimes(t *testing.T) {
	tests := []struct {
		name      string
		ttl       time.Duration
		at        time.Time
		lower     time.Time
		switchAt  time.Time
		keepUntil time.Time
	}{
		{"day TTL, earliest", 24 * time.Hour, time.Time{},
			time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)},
		{"week TTL waits a week", 7 * 24 * time.Hour, time.Time{},
			time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC), time.Date(2026, 12, 11, 10, 0, 0, 0, time.UTC)},
		{"short TTL still waits 48 h, at a chosen time", 5 * time.Minute, time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC),
			time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC), time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC), time.Date(2026, 11, 25, 14, 10, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Make(Options{Name: "www.example", To: "192.0.2.2", CurrentTTL: tt.ttl, At: tt.at, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if !p.Steps[0].At.Equal(tt.lower) || !p.SwitchAt.Equal(tt.switchAt) || !p.KeepOldUntil.Equal(tt.keepUntil) {
				t.Fatalf("lower %v switch %v keep %v", p.Steps[0].At, p.SwitchAt, p.KeepOldUntil)
			}
			if gap := p.SwitchAt.Sub(p.Steps[0].At); gap < max(tt.ttl, 48*time.Hour) {
				t.Fatalf("only %v between lowering the TTL and the switch", gap)
			}
			for i := 1; i < len(p.Steps); i++ {
				if p.Steps[i].At.Before(p.Steps[i-1].At) {
					t.Fatalf("step %d before step %d", i+1, i)
				}
			}
		})
	}
}

func TestPlanRefusesUnsafeSwitch(t *testing.T) {
	_, err := Make(Options{Name: "www.example", To: "192.0.2.2", CurrentTTL: 86400 * time.Second, At: now.Add(24 * time.Hour), Now: now})
	if err == nil || !strings.Contains(err.Error(), "earliest safe switch is 2026-11-22T09:17:00Z") {
		t.Fatalf("got %v", err)
	}
	for _, o := range []Options{{To: "x"}, {Name: "www.example"}, {Name: "www.example", To: "x", Type: "NOPE"}, {Name: "a..b", To: "x"}} {
		o.Now = now
		if _, err := Make(o); err == nil {
			t.Errorf("%+v: want an error", o)
		}
	}
}

func TestPlanChanges(t *testing.T) {
	p, _ := Make(Options{Name: "api.example.com", From: "203.0.113.10", To: "198.51.100.20", CurrentTTL: 3600 * time.Second, Now: now})
	ch := p.Changes("netops")
	if len(ch) != 3 {
		t.Fatalf("want lower, switch, raise; got %d changes", len(ch))
	}
	sw := ch[1]
	if sw.Kind != "dns" || !sw.Time.Equal(p.SwitchAt) || sw.DetailString("old") != "203.0.113.10" || sw.DetailString("new") != "198.51.100.20" ||
		sw.DetailString("ttl") != "60" || sw.DetailString("name") != "api.example.com" || sw.Validate() != nil {
		t.Fatalf("switch change: %+v", sw)
	}
	if ch[0].DetailString("ttl") != "3600" || ch[0].DetailString("new_ttl") != "60" || ch[2].DetailString("new_ttl") != "300" {
		t.Fatalf("ttl changes: %+v / %+v", ch[0].Details, ch[2].Details)
	}
}

func TestPlanChangesWithoutFrom(t *testing.T) {
	p, err := Make(Options{Name: "api.example.com", To: "198.51.100.20", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "assumed 24 h") {
		t.Errorf("notes: %v", p.Notes)
	}
	ch := p.Changes("netops")
	if ch[0].DetailString("old") != "" || ch[1].DetailString("old") != "" || ch[1].DetailString("new") != "198.51.100.20" {
		t.Fatalf("unknown old value must be empty, not a placeholder: %+v %+v", ch[0].Details, ch[1].Details)
	}
}
