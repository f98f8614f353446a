package changes

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// golden compares changes, as JSON lines, with testdata/<name>.
func golden(t *testing.T, name string, changes []signal.Change) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, changes); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs (go test -update to accept):\n got:\n%s\nwant:\n%s", path, buf.Bytes(), want)
	}
}

func TestReadJSONL(t *testing.T) {
	f, err := os.Open("testdata/jsonl/changes.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, bad, err := ReadJSONL(f, "testdata/jsonl/changes.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range got {
		ids = append(ids, c.ID)
	}
	if s := strings.Join(ids, " "); s != "chg-2041 chg-2042 changes.jsonl:9" {
		t.Errorf("kept ids = %s, want chg-2041 chg-2042 changes.jsonl:9", s)
	}
	wantBad := []struct {
		line int
		msg  string
	}{
		{4, `field kind: "deploi" is not one of deploy, rollback`},
		{5, "not a JSON object"},
		{6, "field time is required"},
		{7, "field time: want RFC 3339"},
		{8, "field scope: want map[string]string, got string"},
		{10, "invalid JSON"},
	}
	if len(bad) != len(wantBad) {
		t.Fatalf("line errors = %v, want %d", bad, len(wantBad))
	}
	for i, w := range wantBad {
		if bad[i].Line != w.line || !strings.Contains(bad[i].Error(), w.msg) || !strings.HasPrefix(bad[i].Error(), "testdata/jsonl/changes.jsonl:") {
			t.Errorf("line error %d = %q, want line %d containing %q", i, bad[i].Error(), w.line, w.msg)
		}
	}
	// Unknown fields survive a round trip; times keep their offset.
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, got[1:2]); err != nil {
		t.Fatal(err)
	}
	line := buf.String()
	for _, want := range []string{`"ticket":"OPS-812"`, `"links":["https://ci.example.com/1"]`, `"time":"2026-11-20T12:10:00+01:00"`} {
		if !strings.Contains(line, want) {
			t.Errorf("written %s lacks %s", line, want)
		}
	}
	again, bad2, _ := ReadJSONL(strings.NewReader(line), "x")
	if len(again) != 1 || len(bad2) != 0 || !again[0].Time.Equal(got[1].Time) || string(again[0].Extra["ticket"]) != `"OPS-812"` {
		t.Errorf("round trip = %+v %v", again, bad2)
	}
	if got[0].DetailString("ttl") != "86400" {
		t.Errorf("ttl = %q", got[0].DetailString("ttl"))
	}
}

func TestReadJSONLLongLineAndBOM(t *testing.T) {
	in := "\xef\xbb\xbf" + `{"id":"a","time":"2026-11-20T12:00:00Z","kind":"other","summary":"x"}` + "\n" +
		`{"id":"b","time":"2026-11-20T12:00:00Z","kind":"other","summary":"` + strings.Repeat("x", MaxLineBytes) + `"}` + "\n" +
		`{"id":"c","time":"2026-11-20T12:00:00Z","kind":"other","summary":"no newline at end"}`
	got, bad, err := ReadJSONL(strings.NewReader(in), "big.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "a" || got[1].ID != "c" {
		t.Errorf("kept = %+v", got)
	}
	if len(bad) != 1 || bad[0].Line != 2 || !strings.Contains(bad[0].Error(), "longer than") {
		t.Errorf("bad = %v", bad)
	}
}

func FuzzReadJSONL(f *testing.F) {
	seed, err := os.ReadFile("testdata/jsonl/changes.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, b []byte) {
		got, bad, err := ReadJSONL(bytes.NewReader(b), "fuzz.jsonl")
		if err != nil {
			t.Fatal(err)
		}
		lines := bytes.Count(b, []byte("\n")) + 1
		for _, e := range bad {
			if e.Line < 1 || e.Line > lines {
				t.Fatalf("line %d out of 1..%d", e.Line, lines)
			}
		}
		for _, c := range got {
			if err := c.Validate(); err != nil {
				t.Fatalf("kept an invalid change: %v", err)
			}
			if c.ID == "" {
				t.Fatal("kept a change without id")
			}
		}
		// What was kept must survive a write/read round trip.
		var buf bytes.Buffer
		if err := WriteJSONL(&buf, got); err != nil {
			t.Fatal(err)
		}
		again, bad2, err := ReadJSONL(&buf, "again")
		if err != nil || len(bad2) != 0 || len(again) != len(got) {
			t.Fatalf("round trip: %d → %d changes, %v %v", len(got), len(again), bad2, err)
		}
	})
}

func TestImportK8sReplicaSets(t *testing.T) {
	f, err := os.Open("testdata/k8s/replicasets.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ImportK8s(f, K8sOptions{Scope: map[string]string{"cluster": "prod-eu"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("got %d changes, want 3 api revisions and 1 worker (the ReplicaSet without a Deployment skipped)", len(got))
	}
	last := got[len(got)-1]
	if last.ID != "k8s-shop-api-rev3" || last.DetailString("version") != "v1.4.3" || last.DetailString("previous_version") != "v1.4.2" ||
		last.Time != time.Date(2026, 11, 20, 12, 2, 41, 0, time.UTC) || last.Scope["cluster"] != "prod-eu" || last.Service != "api" ||
		last.DetailString("pod_prefix") != "api-7c9d8f6b5" {
		t.Errorf("latest api revision = %+v", last)
	}
	if got[0].ID != "k8s-shop-worker-rev1" || got[0].DetailString("version") != "sha256:3b1f0c4e5d6a" {
		t.Errorf("worker = %+v", got[0])
	}
	golden(t, "k8s/replicasets.golden.jsonl", got)
}

func TestImportK8sRollbackAndDeployment(t *testing.T) {
	f, err := os.Open("testdata/k8s/rollback.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ImportK8s(f, K8sOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d changes, want revisions 1, 2 and the rollback 3", len(got))
	}
	rb := got[2]
	if rb.Kind != signal.KindRollback || rb.DetailString("version") != "v1.4.1" || rb.DetailString("previous_version") != "v1.4.2" ||
		rb.Time != time.Date(2026, 11, 20, 12, 41, 30, 0, time.UTC) || rb.DetailString("time_source") != "managedFields" {
		t.Errorf("rollback = %+v", rb)
	}
	golden(t, "k8s/rollback.golden.jsonl", got)

	d, err := os.Open("testdata/k8s/deployment.json")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got, err = ImportK8s(d, K8sOptions{Service: "shop-api"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "k8s-shop-api-rev7" || got[0].Service != "shop-api" ||
		got[0].Time != time.Date(2026, 11, 20, 12, 3, 15, 0, time.UTC) {
		t.Errorf("deployment = %+v", got)
	}
}

func TestImportK8sErrors(t *testing.T) {
	tests := map[string]string{
		`[]`:             "kubernetes json",
		`{"items":[]}`:   `"kind" is missing`,
		`{"kind":"Pod"}`: `kind "Pod" is not supported`,
		`{"kind":"List","items":[{"kind":"ReplicaSet","metadata":{"name":"a","annotations":{"deployment.kubernetes.io/revision":"x"}}}]}`: "item 0 (replicaset a): annotation deployment.kubernetes.io/revision=\"x\"",
		`{"kind":"ReplicaSet","metadata":{"name":"a","annotations":{"deployment.kubernetes.io/revision":"1"}}}`:                           "creationTimestamp is missing",
	}
	for in, want := range tests {
		_, err := ImportK8s(strings.NewReader(in), K8sOptions{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ImportK8s(%s) err = %v, want %q", in, err, want)
		}
	}
}

func TestImageVersion(t *testing.T) {
	for in, want := range map[string]string{
		"registry.example.com:5000/shop/api:v1.4.3": "v1.4.3",
		"registry.example.com:5000/shop/api":        "latest",
		"nginx":                                     "latest",
		"nginx:1.27@sha256:0123456789abcdef0123":    "1.27",
		"ghcr.io/x/y@sha256:0123456789abcdef0123":   "sha256:0123456789ab",
	} {
		if got := ImageVersion(in); got != want {
			t.Errorf("ImageVersion(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestDiffZones(t *testing.T) {
	before, err := os.Open("testdata/zones/before.zone")
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()
	after, err := os.Open("testdata/zones/after.zone")
	if err != nil {
		t.Fatal(err)
	}
	defer after.Close()
	at := time.Date(2026, 11, 20, 12, 3, 0, 0, time.UTC)
	got, err := DiffZones(before, after, "example.com", at)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]signal.Change{}
	for _, c := range got {
		byName[c.DetailString("name")+" "+c.DetailString("type")] = c
	}
	if len(got) != 4 {
		t.Fatalf("got %d changes %v, want api A, www CNAME (TTL), old A removed, new AAAA added (no SOA, NS order and case ignored)", len(got), byName)
	}
	api := byName["api.example.com A"]
	if api.DetailString("old") != "203.0.113.10" || api.DetailString("new") != "198.51.100.20" ||
		api.DetailString("ttl") != "86400" || api.DetailString("new_ttl") != "300" || api.Kind != signal.KindDNS ||
		api.Scope["host"] != "api.example.com" || !api.Time.Equal(at) || api.ID != "dns-api.example.com-a-1795176180" {
		t.Errorf("api change = %+v", api)
	}
	if ttl, ok := api.DetailFloat("ttl"); !ok || ttl != 86400 {
		t.Errorf("DetailFloat(ttl) = %v %v, want 86400 without a JSON round trip", ttl, ok)
	}
	if c := byName["old.example.com A"]; c.DetailString("action") != "remove" || c.DetailString("new") != "" || c.DetailString("ttl") != "3600" {
		t.Errorf("removed = %+v", c)
	}
	if c := byName["new.example.com AAAA"]; c.DetailString("action") != "add" || c.Details["ttl"] != nil || c.DetailString("new_ttl") != "3600" {
		t.Errorf("added = %+v", c)
	}
	golden(t, "zones/diff.golden.jsonl", got)
}

func TestDiffZonesErrors(t *testing.T) {
	good := "$ORIGIN example.com.\napi 300 IN A 192.0.2.1\n"
	bad, _ := os.ReadFile("testdata/zones/bad.zone")
	_, err := DiffZones(strings.NewReader(good), bytes.NewReader(bad), "example.com", time.Now())
	if err == nil || !strings.Contains(err.Error(), "after zone") || !strings.Contains(err.Error(), "line: 3") {
		t.Errorf("err = %v, want the after zone and line 3", err)
	}
	_, err = DiffZones(strings.NewReader("$INCLUDE /etc/passwd\n"), strings.NewReader(good), "example.com", time.Now())
	if err == nil || !strings.Contains(err.Error(), "before zone") {
		t.Errorf("$INCLUDE: err = %v, want it refused", err)
	}
	if got, err := DiffZones(strings.NewReader(good), strings.NewReader(good), "example.com", time.Now()); err != nil || len(got) != 0 {
		t.Errorf("same zone: %v %v, want no changes", got, err)
	}
}

func FuzzDiffZones(f *testing.F) {
	b, _ := os.ReadFile("testdata/zones/before.zone")
	a, _ := os.ReadFile("testdata/zones/after.zone")
	f.Add(b, a)
	f.Add([]byte("api 300 IN A 192.0.2.1\n"), []byte("api 60 IN A 192.0.2.2\napi 60 IN A 192.0.2.3\n"))
	f.Add([]byte("@ IN MX 10 mail\n"), []byte("* 1 IN TXT \"x\" \"y\"\n"))
	f.Fuzz(func(t *testing.T, before, after []byte) {
		if len(before) > 4096 || len(after) > 4096 {
			return // small zones: the parser's cost, not ours, grows with size
		}
		at := time.Unix(1732100000, 0)
		got, err := DiffZones(bytes.NewReader(before), bytes.NewReader(after), "example.com.", at)
		if err != nil {
			return
		}
		for _, c := range got {
			if err := c.Validate(); err != nil || c.Kind != signal.KindDNS {
				t.Fatalf("invalid change %+v: %v", c, err)
			}
			if c.DetailString("old") == c.DetailString("new") && c.DetailString("ttl") == c.DetailString("new_ttl") {
				t.Fatalf("reported a change that changes nothing: %+v", c)
			}
		}
		same, err := DiffZones(bytes.NewReader(after), bytes.NewReader(after), "example.com.", at)
		if err != nil || len(same) != 0 {
			t.Fatalf("zone against itself: %d changes, %v", len(same), err)
		}
		back, err := DiffZones(bytes.NewReader(after), bytes.NewReader(before), "example.com.", at)
		if err != nil || len(back) != len(got) {
			t.Fatalf("reverse diff: %d changes, forward %d (%v)", len(back), len(got), err)
		}
	})
}

// git runs git in dir with a fixed identity and dates.
func git(t *testing.T, dir, date string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Ada Lovelace", "GIT_AUTHOR_EMAIL=ada@example.com",
		"GIT_COMMITTER_NAME=Ada Lovelace", "GIT_COMMITTER_EMAIL=ada@example.com",
		"GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date, "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func TestImportGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("git not installed")
		}
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	git(t, dir, "2026-11-20T10:00:00Z", "init", "-q", "-b", "main")
	commit := func(date, msg string) {
		if err := os.WriteFile(filepath.Join(dir, "f"), []byte(msg), 0o644); err != nil {
			t.Fatal(err)
		}
		git(t, dir, date, "add", "f")
		git(t, dir, date, "commit", "-q", "-m", msg)
	}
	commit("2026-11-20T10:00:00Z", "initial")
	git(t, dir, "2026-11-20T10:05:00Z", "tag", "v1.0.0")
	commit("2026-11-20T11:50:00Z", "pool: lower max open connections to 10")
	git(t, dir, "2026-11-20T11:58:00+01:00", "tag", "-a", "v1.1.0", "-m", "release 1.1.0")
	commit("2026-11-20T12:30:00Z", "docs: typo")

	ctx := context.Background()
	got, err := ImportGit(ctx, dir, GitOptions{Service: "api", Scope: map[string]string{"cluster": "prod"}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range got {
		ids = append(ids, c.ID)
		if c.Kind != signal.KindDeploy || c.Service != "api" || c.Scope["cluster"] != "prod" || c.Actor != "Ada Lovelace" {
			t.Errorf("change %+v", c)
		}
	}
	if len(got) != 5 || !strings.HasPrefix(ids[1], "git-tag-v1.0.0") || ids[2] != "git-tag-v1.1.0" {
		t.Fatalf("ids = %v, want 3 commits and 2 tags in time order", ids)
	}
	pool := got[3]
	if !strings.HasPrefix(pool.ID, "git-") || pool.DetailString("subject") != "pool: lower max open connections to 10" ||
		pool.Time != time.Date(2026, 11, 20, 11, 50, 0, 0, time.UTC) || pool.DetailString("previous_version") != got[0].DetailString("version") {
		t.Errorf("pool commit = %+v", pool)
	}
	tag := got[2]
	if tag.DetailString("version") != "v1.1.0" || tag.DetailString("previous_version") != "v1.0.0" ||
		tag.Time != time.Date(2026, 11, 20, 10, 58, 0, 0, time.UTC) || tag.DetailString("subject") != "release 1.1.0" ||
		tag.DetailString("sha") != pool.DetailString("sha") {
		t.Errorf("annotated tag = %+v", tag)
	}

	got, err = ImportGit(ctx, dir, GitOptions{Since: time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC), NoTags: true})
	if err != nil || len(got) != 2 {
		t.Errorf("since 11:00 without tags: %d changes, %v; want 2 commits", len(got), err)
	}
	if _, err := ImportGit(ctx, t.TempDir(), GitOptions{}); err == nil || !strings.Contains(err.Error(), "not a git repository") {
		t.Errorf("not a repo: err = %v", err)
	}
	if _, err := ImportGit(ctx, dir, GitOptions{Rev: "--output=/tmp/x"}); err == nil {
		t.Error("option-looking revision accepted")
	}
	empty := t.TempDir()
	git(t, empty, "2026-11-20T10:00:00Z", "init", "-q")
	if got, err := ImportGit(ctx, empty, GitOptions{}); err != nil || len(got) != 0 {
		t.Errorf("empty repo: %v %v", got, err)
	}
	// The JSON form is the stable change-log line.
	b, _ := json.Marshal(tag)
	t.Logf("tag change: %s", b)
	if !strings.Contains(string(b), `"kind":"deploy"`) {
		t.Errorf("json = %s", b)
	}
}

func FuzzImportK8s(f *testing.F) {
	for _, p := range []string{"testdata/k8s/replicasets.json", "testdata/k8s/rollback.json", "testdata/k8s/deployment.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := ImportK8s(bytes.NewReader(b), K8sOptions{})
		if err != nil {
			return
		}
		for i, c := range got {
			if err := c.Validate(); err != nil {
				t.Fatalf("invalid change %+v: %v", c, err)
			}
			if i > 0 && c.Time.Before(got[i-1].Time) {
				t.Fatal("changes not sorted by time")
			}
			if c.Scope["deployment"] == "" && c.Scope["namespace"] == "" && c.ID == "" {
				t.Fatalf("change without identity: %+v", c)
			}
		}
	})
}
