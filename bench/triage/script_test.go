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

// scriptRoot skips a script test with -short or without bash, and returns
// the repository's root.
func scriptRoot(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds binaries; skipped with -short")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestBenchScriptSmoke(t *testing.T) {
	root := scriptRoot(t)
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

// TestABScriptSmoke runs scripts/ab-triage.sh on a tiny generated file and
// checks that it reports one row per build, for both file kinds.
func TestABScriptSmoke(t *testing.T) {
	root := scriptRoot(t)
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		t.Skip("no /usr/bin/time (Debian package time; scripts/install-deps.sh installs it)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "sitrep")
	gen := filepath.Join(dir, "gen")
	for pkg, out := range map[string]string{"./cmd/sitrep": bin, "./bench/triage/gen": gen} {
		build := exec.Command("go", "build", "-o", out, pkg)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	if out, err := exec.Command(gen, "-n", "2000", "-out", dir).CombinedOutput(); err != nil {
		t.Fatalf("gen: %v\n%s", err, out)
	}
	for _, f := range []string{"access.log", "access.jsonl"} {
		out, err := exec.Command("bash", filepath.Join(root, "scripts", "ab-triage.sh"), "2", filepath.Join(dir, f), bin, bin).CombinedOutput()
		if err != nil {
			t.Fatalf("ab-triage.sh %s: %v\n%s", f, err, out)
		}
		if n := strings.Count(string(out), "cpu min"); n != 2 {
			t.Errorf("ab-triage.sh %s: %d rows, want 2:\n%s", f, n, out)
		}
	}
}

// TestPGOScriptSmoke runs scripts/pgo-profile.sh on a tiny generated log,
// writing the profile to a temporary file (not cmd/sitrep/default.pgo), and
// checks that it wrote a CPU profile the toolchain reads.
func TestPGOScriptSmoke(t *testing.T) {
	root := scriptRoot(t)
	out := filepath.Join(t.TempDir(), "p.pgo")
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "pgo-profile.sh"))
	cmd.Env = append(os.Environ(), "LINES=3000", "OUT="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pgo-profile.sh: %v\n%s", err, b)
	}
	top, err := exec.Command("go", "tool", "pprof", "-top", out).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool pprof cannot read the profile: %v\n%s", err, top)
	}
	if !strings.Contains(string(top), "Type: cpu") {
		t.Errorf("not a CPU profile:\n%s", top)
	}
}
