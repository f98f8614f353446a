package triage

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// goldenScenarios are kept as golden files (the others are only validated).
var goldenScenarios = map[string]bool{"stale-endpoint": true, "p2p-bitrate": true, "noise": true, "slow-node": true, "login-401": true, "quiet-pod": true}

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGoldenJSON runs every scenario, compares the JSON result with
// testdata/<scenario>.json and validates it against the stable schema
// (design.md §4.4). The report package renders these files in its own
// golden tests.
func TestGoldenJSON(t *testing.T) {
	c := jsonschema.NewCompiler()
	sch, err := c.Compile("testdata/triage.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			res, err := Run(context.Background(), Options{Scan: sc.scan(), Rescannable: true})
			if err != nil {
				t.Fatal(err)
			}
			res.Stages = nil // timings vary
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetIndent("", "  ")
			if err := enc.Encode(res); err != nil {
				t.Fatal(err)
			}
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(inst); err != nil {
				t.Fatalf("result does not match the schema: %v", err)
			}
			if !goldenScenarios[sc.name] {
				return
			}
			path := filepath.Join("testdata", sc.name+".json")
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(want, buf.Bytes()) {
				t.Errorf("result differs from %s (run go test -update after checking the change)", path)
			}
		})
	}
}
