// Package triage_test checks that scripts/bench-triage.sh still runs end to
// end, on a tiny input, so the benchmark does not rot between the rare
// occasions someone runs it at full size.
package triage_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchScriptSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds several binaries; skipped with -short")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "bench-triage.sh"), "3000")
	cmd.Env = append(os.Environ(), "BENCH_DIR="+dir, "REPEAT=1", "GOACCESS_LINES=500")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bench-triage.sh: %v\n%s", err, out)
	}
	text := string(out)
	for _, row := range []string{"wc -l", "refscan", "parsescan", "goaccess"} {
		if !strings.Contains(text, "\n"+row) {
			t.Errorf("no %q row in the table:\n%s", row, text)
		}
	}
	if strings.Contains(text, "failed") {
		if _, err := exec.LookPath("goaccess"); err == nil || strings.Count(text, "failed") > 1 {
			t.Errorf("a tool failed:\n%s", text)
		}
	}
	ps, err := os.ReadFile(filepath.Join(dir, "out-parsescan-access.log.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ps), "lines=3000 ") || !strings.Contains(string(ps), "malformed=0 ") {
		t.Errorf("parsescan on the combined file: %s", ps)
	}
}
