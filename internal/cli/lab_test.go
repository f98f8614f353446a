package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateLab = flag.Bool("update-lab", false, "rewrite the lab golden files")

func runLab(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

func TestLabListGolden(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		golden string
	}{
		{[]string{"lab", "list"}, "lab_list.golden"},
		{[]string{"lab", "list", "-o", "json"}, "lab_list.json.golden"},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			out, errs, code := runLab(t, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			p := filepath.Join("testdata", tc.golden)
			if *updateLab {
				if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(p)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/cli -run TestLab -update-lab)", err)
			}
			if string(want) != out {
				t.Errorf("sitrep %s changed; if intended, rerun with -update-lab\n got:\n%s", strings.Join(tc.args, " "), out)
			}
		})
	}
}

func TestLabGenerate(t *testing.T) {
	dir := t.TempDir()
	out, errs, code := runLab(t, "lab", "generate", "bad-pod", "--out", dir, "--seed", "4", "--scale", "0.05")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"logs/ingress-", "logs/alb-api-", "changes.jsonl", "truth.json", "sitrep triage --log '" + filepath.Join(dir, "logs", "*") + "'"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "truth.json")); err != nil {
		t.Error(err)
	}

	out, errs, code = runLab(t, "lab", "generate", "bad-pod", "--out", dir, "--seed", "4", "--scale", "0.05", "-o", "json")
	if code != 0 {
		t.Fatalf("-o json: exit %d: %s", code, errs)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("-o json: %v\n%s", err, out)
	}
	for _, k := range []string{"scenario", "seed", "logs", "changes", "metrics_files", "truth", "next"} {
		if _, ok := res[k]; !ok {
			t.Errorf("-o json lacks %q", k)
		}
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"lab", "generate", "no-such", "--out", dir}, "sitrep lab list"},
		{[]string{"lab", "generate", "bad-pod"}, "--out DIR is required"},
		{[]string{"lab", "generate", "bad-pod", "--out", dir, "--scale", "-1"}, "--scale"},
	} {
		_, errs, code := runLab(t, tc.args...)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("sitrep %s: exit %d, stderr %q; want exit 2 mentioning %q", strings.Join(tc.args, " "), code, errs, tc.want)
		}
	}
}
