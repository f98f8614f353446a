package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestChangeRecordListImport(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	out := must(t, db, "change", "record", "--kind", "dns", "--summary", "api eu record moved", "--scope", "region=eu",
		"--detail", "name=api.example.com", "--detail", "ttl=86400", "--at", "2026-11-20T12:03:00Z", "-o", "json")
	var c map[string]any
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c["id"].(string), "chg-") || c["actor"] != "alice" || c["details"].(map[string]any)["ttl"] != 86400.0 {
		t.Errorf("recorded %v", c)
	}
	if _, errs, code := run(t, db, "change", "record", "--kind", "deploi", "--summary", "x"); code == 0 || !strings.Contains(errs, "want one of") {
		t.Errorf("bad kind: %d %q", code, errs)
	}
	dir := t.TempDir()
	before := filepath.Join(dir, "before.zone")
	after := filepath.Join(dir, "after.zone")
	os.WriteFile(before, []byte("$ORIGIN example.com.\napi 86400 IN A 203.0.113.10\nwww 300 IN A 203.0.113.11\n"), 0o644)
	os.WriteFile(after, []byte("$ORIGIN example.com.\napi 300 IN A 198.51.100.20\nwww 300 IN A 203.0.113.11\n"), 0o644)
	must(t, db, "change", "import", "dns", "--before", before, "--after", after, "--at", "2026-11-20T12:05:00Z")
	var list []map[string]any
	if err := json.Unmarshal([]byte(must(t, db, "change", "list", "--since", "2026-11-20", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("listed %d changes, want 2: %v", len(list), list)
	}
	d := list[1]["details"].(map[string]any)
	if list[1]["kind"] != "dns" || d["old"] != "203.0.113.10" || d["new"] != "198.51.100.20" || d["ttl"] != 86400.0 {
		t.Errorf("imported zone change = %v", list[1])
	}
	if out := must(t, db, "change", "list", "--since", "2026-11-20", "--kind", "deploy"); !strings.Contains(out, "No changes") {
		t.Errorf("kind filter: %s", out)
	}
}
