package prom_test

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/sitrep-dev/sitrep/internal/source/prom"
)

// Read a saved query_range body, derive the analyst's view and print the
// error ratio per pod.
func ExampleDerive() {
	raw, err := prom.ReadFile("testdata/metrics/matrix.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	m := prom.Derive(raw, prom.DefaultCatalog())
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLE\tNAME\tLABELS\tLAST\tUNIT")
	for _, s := range m.Series {
		last := s.Points[len(s.Points)-1]
		unit := s.Unit
		if unit == "" {
			unit = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%v\t%.4g\t%s\n", s.Role, s.Name, s.Labels, last.V, unit)
	}
	tw.Flush()
	// Output:
	// ROLE         NAME                 LABELS                                                    LAST    UNIT
	// error_ratio  http_requests_total  map[]                                                     0.1667  ratio
	// error_ratio  http_requests_total  map[handler:/api instance:api-1:8080 pod:api-7d9f-abcde]  0.1667  ratio
	// errors       http_requests_total  map[handler:/api instance:api-1:8080 pod:api-7d9f-abcde]  2       per_second
	// load         node_load1           map[instance:node-a]                                      1.5     -
	// requests     http_requests_total  map[handler:/api instance:api-1:8080 pod:api-7d9f-abcde]  12      per_second
}

// Measure the shape of a series around a change.
func ExampleStep() {
	at := time.Unix(1732100030, 0)
	pts := prom.Rate(mustSeries("testdata/metrics/matrix.json", 1).Points)
	s := prom.Step(pts, at, 2*time.Minute)
	fmt.Printf("before %.2f/s after %.2f/s (%d and %d points)\n", s.Before, s.After, s.NBefore, s.NAfter)
	// Output:
	// before 1.00/s after 2.00/s (1 and 1 points)
}

func mustSeries(path string, i int) prom.Series {
	raw, err := prom.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return prom.Series{Name: raw[i].Name, Labels: raw[i].Labels, Points: raw[i].Points}
}
