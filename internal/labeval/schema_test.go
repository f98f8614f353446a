package labeval

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sitrep-dev/sitrep/internal/lab"
)

// TestFullResultMatchesTheSchema validates the complete triage result —
// with ranked changes and hypotheses, which the engine's own golden tests
// do not have — against the stable schema of design.md §4.4.
func TestFullResultMatchesTheSchema(t *testing.T) {
	if testing.Short() {
		t.Skip("generates scenarios")
	}
	sch, err := jsonschema.NewCompiler().Compile("../triage/testdata/triage.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"dns-ttl-migration", "db-pool-exhaustion", "capacity"} {
		t.Run(name, func(t *testing.T) {
			m, err := lab.Generate(context.Background(), name, filepath.Join(t.TempDir(), name), lab.GenerateOptions{Seed: 5, Scale: 0.5})
			if err != nil {
				t.Fatal(err)
			}
			res, err := Analyze(context.Background(), m, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Hypotheses) == 0 || len(res.Changes) == 0 {
				t.Fatalf("result has %d hypotheses and %d ranked changes", len(res.Hypotheses), len(res.Changes))
			}
			b, err := json.Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(inst); err != nil {
				t.Errorf("result does not match the schema: %v", err)
			}
		})
	}
}
