package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/testsrv/pgtest"
)

// run executes the CLI in-process against db and returns stdout.
func run(t *testing.T, db string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	env := map[string]string{"SITREP_USER": "alice", "SITREP_DB": db}
	a := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] }, Now: time.Now}
	root := NewRoot(a)
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	code := 0
	if err := root.ExecuteContext(context.Background()); err != nil {
		errb.WriteString(err.Error())
		code = 1
	}
	return out.String(), errb.String(), code
}

func must(t *testing.T, db string, args ...string) string {
	t.Helper()
	out, errs, code := run(t, db, args...)
	if code != 0 {
		t.Fatalf("sitrep %s: %s", strings.Join(args, " "), errs)
	}
	return out
}

// lifecycle drives a whole incident through the CLI and checks what a
// responder relies on: ids, status rules, the timeline, JSON output and
// the postmortem built from it.
func lifecycle(t *testing.T, db string) {
	must(t, db, "incident", "declare", "--title", "API returns 503s", "--severity", "sev2", "--service", "api", "--commander", "carol")
	var inc map[string]any
	if err := json.Unmarshal([]byte(must(t, db, "incident", "show", "INC-1", "-o", "json")), &inc); err != nil {
		t.Fatal(err)
	}
	if inc["id"] != "INC-1" || inc["status"] != "triggered" || inc["commander"] != "carol" || inc["created_by"] != "alice" {
		t.Fatalf("declared incident = %v", inc)
	}
	// An illegal transition is a clear error that says what is allowed.
	if _, errs, code := run(t, db, "incident", "close", "INC-1"); code == 0 || !strings.Contains(errs, "cannot become closed") {
		t.Fatalf("close from triggered: code %d, %q", code, errs)
	}
	must(t, db, "incident", "ack", "INC-1")
	must(t, db, "incident", "assign", "INC-1", "--role", "responder", "bob")
	must(t, db, "incident", "note", "INC-1", "errors", "only", "in", "eu-west-1")
	must(t, db, "incident", "update", "INC-1", "Some EU users see errors.")
	must(t, db, "incident", "mitigate", "INC-1", "--note", "old LB serving again")
	must(t, db, "incident", "cause", "INC-1", "--hypothesis", "dns-stale-cache", "--root-cause", "record moved with TTL 86400")
	must(t, db, "incident", "resolve", "INC-1", "--resolution", "kept the old LB until caches expired")
	must(t, db, "incident", "edit", "INC-1", "--requests-failed", "18734")
	must(t, db, "incident", "action", "add", "INC-1", "--title", "Lower TTLs before migrations", "--owner", "netops", "--due", "2026-12-15")
	must(t, db, "incident", "action", "done", "1")
	must(t, db, "incident", "close", "INC-1")

	if out := must(t, db, "incident", "list"); !strings.Contains(out, "No incidents") {
		t.Errorf("closed incidents listed by default:\n%s", out)
	}
	if out := must(t, db, "incident", "list", "--all", "--severity", "SEV2"); !strings.Contains(out, "INC-1") || !strings.Contains(out, "closed") {
		t.Errorf("list --all:\n%s", out)
	}
	show := must(t, db, "incident", "show", "INC-1")
	for _, want := range []string{"bob", "Some EU users see errors.", "Status triggered → acknowledged", "Status resolved → closed", "#1", "done"} {
		if !strings.Contains(show, want) {
			t.Errorf("show lacks %q:\n%s", want, show)
		}
	}
	var items []map[string]any
	json.Unmarshal([]byte(must(t, db, "incident", "action", "list", "-o", "json")), &items)
	if len(items) != 1 || items[0]["state"] != "done" || items[0]["incident"] != "INC-1" {
		t.Errorf("action items = %v", items)
	}
	pm := must(t, db, "postmortem", "INC-1")
	for _, want := range []string{"# Postmortem: INC-1", "record moved with TTL 86400 (cause: `dns-stale-cache`)",
		"kept the old LB until caches expired", "Requests failed: 18734", "Users affected: unknown", "- [x] #1 Lower TTLs before migrations — owner: netops, due: 2026-12-15"} {
		if !strings.Contains(pm, want) {
			t.Errorf("postmortem lacks %q:\n%s", want, pm)
		}
	}
	if _, errs, code := run(t, db, "incident", "show", "INC-99"); code == 0 || !strings.Contains(errs, "not found") {
		t.Errorf("unknown incident: %d %q", code, errs)
	}
}

func TestIncidentLifecycleSQLite(t *testing.T) {
	lifecycle(t, filepath.Join(t.TempDir(), "sitrep.db"))
}

func TestIncidentLifecyclePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	srv := pgtest.Start(t, pgtest.Options{})
	lifecycle(t, srv.CreateDatabase(t, "cli"))
}
