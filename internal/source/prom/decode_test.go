package prom

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

func TestReadFileMatrix(t *testing.T) {
	s, err := ReadFile("testdata/metrics/matrix.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 3 {
		t.Fatalf("got %d series, want 3", len(s))
	}
	if s[0].Name != "http_requests_total" || s[0].Labels["code"] != "200" || s[0].Labels["__name__"] != "" {
		t.Errorf("series 0 = %s %v, want http_requests_total without __name__ label", s[0].Name, s[0].Labels)
	}
	want := []signal.Point{{T: 1732100000000, V: 100}, {T: 1732100015000, V: 250}, {T: 1732100030000, V: 400}}
	for i, p := range s[0].Points {
		if p != want[i] {
			t.Errorf("point %d = %v, want %v", i, p, want[i])
		}
	}
	load := s[2].Points
	if !math.IsNaN(load[0].V) || !math.IsInf(load[1].V, 1) || !math.IsInf(load[2].V, -1) || load[3].V != 1.5 {
		t.Errorf("special values = %v, want NaN +Inf -Inf 1.5", load)
	}
}

func TestReadFileArray(t *testing.T) {
	s, err := ReadFile("testdata/metrics/array.json")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range s {
		names = append(names, x.Name)
	}
	if got := strings.Join(names, ","); got != "up,probe_success,scalar" {
		t.Fatalf("names = %s, want up,probe_success,scalar", got)
	}
	if s[0].Points[0].T != 1732100000500 {
		t.Errorf("fractional timestamp = %d, want 1732100000500 ms", s[0].Points[0].T)
	}
	if s[2].Points[0].V != 42 {
		t.Errorf("scalar = %v, want 42", s[2].Points)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "  ", "empty input"},
		{"not json", "hello", `input starts with 'h'`},
		{"prometheus error", `{"status":"error","errorType":"bad_data","error":"parse error"}`, "prometheus error response (bad_data): parse error"},
		{"no status", `{"data":{"resultType":"matrix","result":[]}}`, `"status" is missing`},
		{"no data", `{"status":"success"}`, `"data" is missing`},
		{"string result", `{"status":"success","data":{"resultType":"string","result":[1,"x"]}}`, `"string" carries no numeric samples`},
		{"unknown type", `{"status":"success","data":{"resultType":"table","result":[1]}}`, `"table" is unknown`},
		{"bad value", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"abc"]]}]}}`, `value "abc" is not a number`},
		{"bad pair", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1]]}]}}`, "got 1 elements"},
		{"bad ts", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[["x","1"]]}]}}`, "not a number of Unix seconds"},
		{"ms ts", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1732100000000,"1"]]}]}}`, "out of range"},
		{"second body", `[{"status":"success","data":{"resultType":"matrix","result":[]}},{"status":"fail"}]`, `body 1: field "status" is "fail"`},
		{"trailing", `{"status":"success","data":{"resultType":"matrix","result":[]}} {}`, "unexpected data after"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestReadFileNamesFile(t *testing.T) {
	_, err := ReadFile("testdata/metrics/error.json")
	if err == nil || !strings.Contains(err.Error(), "testdata/metrics/error.json") || !strings.Contains(err.Error(), "parse error") {
		t.Fatalf("err = %v, want the file name and Prometheus' message", err)
	}
}

func TestReadFilesMergesAndGlobs(t *testing.T) {
	dir := t.TempDir()
	a := `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"x"},"values":[[10,"1"],[20,"1"]]}]}}`
	b := `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"job":"x","__name__":"up"},"values":[[20,"0"],[30,"0"]]}]}}`
	for n, body := range map[string]string{"a.json": a, "b.json": b} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, pats := range [][]string{{dir}, {filepath.Join(dir, "*.json")}, {filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")}} {
		s, err := ReadFiles(pats)
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != 1 || len(s[0].Points) != 3 || s[0].Points[1].V != 0 {
			t.Fatalf("ReadFiles(%v) = %+v, want one series of 3 points, later file winning at t=20", pats, s)
		}
	}
	if _, err := ReadFiles([]string{filepath.Join(dir, "*.jsn")}); err == nil || !strings.Contains(err.Error(), "matches no files") {
		t.Errorf("unmatched glob: err = %v", err)
	}
	if _, err := ReadFiles([]string{filepath.Join(dir, "nope.json")}); err == nil || !strings.Contains(err.Error(), "nope.json") {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestDecodeSortsPoints(t *testing.T) {
	s, err := Decode(strings.NewReader(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"m"},"values":[[3,"3"],[1,"1"],[2,"2"],[2,"2.5"]]}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := s[0].Points; len(got) != 3 || got[0].T != 1000 || got[1].V != 2.5 || got[2].T != 3000 {
		t.Fatalf("points = %v, want sorted and deduplicated", got)
	}
}

func FuzzDecode(f *testing.F) {
	for _, p := range []string{"testdata/metrics/matrix.json", "testdata/metrics/array.json", "testdata/metrics/error.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		series, err := Decode(strings.NewReader(string(b)))
		if err != nil {
			return
		}
		for _, s := range series {
			for i := 1; i < len(s.Points); i++ {
				if s.Points[i].T <= s.Points[i-1].T {
					t.Fatalf("points not strictly increasing: %v", s.Points)
				}
			}
			if _, ok := s.Labels["__name__"]; ok {
				t.Fatal("__name__ kept as a label")
			}
		}
		// Derive must cope with whatever Decode accepts.
		Derive(series, nil)
	})
}

// slowSamples is the element-wise decoder fastSamples must agree with.
func slowSamples(b []byte) ([]signal.Point, error) {
	var slow []samplePair
	if err := json.Unmarshal(b, &slow); err != nil {
		return nil, err
	}
	pts := make([]signal.Point, len(slow))
	for i, p := range slow {
		pts[i] = signal.Point(p)
	}
	return pts, nil
}

func samePoints(a, b []signal.Point) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].T != b[i].T || !(a[i].V == b[i].V || math.IsNaN(a[i].V) && math.IsNaN(b[i].V)) {
			return false
		}
	}
	return true
}

func TestSampleListFastAndSlowAgree(t *testing.T) {
	for _, in := range []string{
		`[]`, ` [ ] `, `[[1,"2"]]`, "[ [1732100000.25 , \"NaN\" ] ,\n [1732100015,\"+Inf\"],[1732100030,\"-1e-3\"] ]",
		`[[1,2]]`, `[[1,"\u0031"]]`, `[[1e3,"1"]]`, `[[-5,"1"]]`,
	} {
		var l sampleList
		err := json.Unmarshal([]byte(in), &l)
		want, werr := slowSamples([]byte(in))
		if (err == nil) != (werr == nil) || !samePoints(l, want) {
			t.Errorf("%s: fast %v %v, slow %v %v", in, []signal.Point(l), err, want, werr)
		}
	}
}

func FuzzSampleList(f *testing.F) {
	f.Add([]byte(`[[1732100000,"12"],[1732100015.5,"NaN"]]`))
	f.Add([]byte(`[[1,2],[3,"+Inf"]]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return // encoding/json validates a document before any UnmarshalJSON runs
		}
		fast, ok := fastSamples(b)
		if !ok {
			return
		}
		slow, err := slowSamples(b)
		if err != nil || !samePoints(fast, slow) {
			t.Fatalf("fast path accepted %q as %v; slow path says %v %v", b, fast, slow, err)
		}
	})
}

func sameSeries(a, b []signal.Series) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !maps.Equal(a[i].Labels, b[i].Labels) || !samePoints(a[i].Points, b[i].Points) {
			return false
		}
	}
	return true
}

func TestOnePassAgreesWithEncodingJSON(t *testing.T) {
	body := func(result string) string {
		return `{"status":"success","data":{"resultType":"matrix","result":` + result + `}}`
	}
	for _, tc := range []struct {
		in  string
		one bool // whether the one-pass parser takes it
	}{
		{body(`[]`), true},
		{body(` [ ] `), true},
		{body(`[{"metric":{"__name__":"up","job":"api"},"values":[[1,"1"],[2,"0"]]}]`), true},
		{body(`[{"values":[[2,"0"],[1,"1"]],"metric":{"__name__":"up"}},{"metric":{},"values":[]}]`), true},
		{"\n { \"status\" : \"success\" , \"warnings\": [\"w\"], \"data\" : { \"resultType\" : \"matrix\" , \"result\" : [ {\n \"metric\" : { \"__name__\" : \"up\" , \"pod\":\"a\\\"b\\u00e9\" } ,\n \"values\" : [ [ 1.5e3 , \"NaN\" ], [-0, \"+Inf\"] ] } ] } } \n", true},
		{body(`[{"metric":{"__name__":"up"}}]`), true},
		{body(`[{"values":[[1732100000.125,"1e-3"]]}]`), true},
		{`{"data":{"resultType":"matrix","result":[]},"status":"success","infos":[]}`, true},
		{body(`[{"metric":{"__name__":"up"},"values":[[1,"1"]],"histogram":[]}]`), false}, // a key it does not know
		{body(`[{"Metric":{"__name__":"up"},"values":[[1,"1"]]}]`), false},                // encoding/json matches keys in any case
		{body(`[{"metric":{"a":"1","a":"2"},"values":[]}]`), false},                       // the last of two wins
		{body(`[{"metric":{"a":"1"},"metric":{"b":"2"},"values":[]}]`), false},            // maps are merged
		{body(`[{"metric":null,"values":[[1,"1"]]}]`), false},
		{body(`[{"metric":{"a":1},"values":[[1,"1"]]}]`), false},                   // an error, from the slow path
		{body(`[{"metric":{"__name__":"up"},"values":[[1,2]]}]`), false},           // a bare number
		{body(`[{"metric":{},"values":[[01,"1"]]}]`), false},                       // not JSON
		{body(`[{"metric":{},"values":[[1,"1"],]}]`), false},                       // not JSON
		{body(`[{"metric":{},"values":[[1e400,"1"]]}]`), false},                    // out of range
		{`{"data":{"result":[],"resultType":"matrix"},"status":"success"}`, false}, // result first
		{`{"status":"error","errorType":"bad_data","error":"parse error"}`, false},
		{`{"status":"success","data":{"resultType":"vector","result":[]}}`, false},
		{body(`[]`) + `{}`, false},
		{`[` + body(`[]`) + `]`, false},
	} {
		one, ok := onePassBody([]byte(tc.in))
		if ok != tc.one {
			t.Errorf("%s: one-pass parser took it = %v, want %v", tc.in, ok, tc.one)
		}
		slow, err := decodeSlow(trimLeading([]byte(tc.in)))
		if ok && (err != nil || !sameSeries(one, slow)) {
			t.Errorf("%s: one pass %v, encoding/json %v %v", tc.in, one, slow, err)
		}
	}
}

// FuzzOnePass: whatever the one-pass parser takes, valid JSON or not,
// encoding/json takes too and makes the same series of.
func FuzzOnePass(f *testing.F) {
	for _, p := range []string{"testdata/metrics/matrix.json", "testdata/metrics/error.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"api"},"values":[[1,"1"],[2.5,"0"]]}]}}`))
	f.Add([]byte(`{"status":"success","data":{"resultType":"matrix","result":[{"values":[],"metric":{"a":"\u00e9"}},{"metric":{}}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		one, ok := onePassBody(b)
		if !ok {
			return
		}
		slow, err := decodeSlow(trimLeading(b))
		if err != nil || !sameSeries(one, slow) {
			t.Fatalf("one pass took %q as %v; encoding/json says %v %v", b, one, slow, err)
		}
	})
}

// BenchmarkDecodeMatrix decodes a query_range body the size of a lab
// scenario's larger metric files: 200 series of 360 samples.
func BenchmarkDecodeMatrix(b *testing.B) {
	var buf strings.Builder
	buf.WriteString(`{"status":"success","data":{"resultType":"matrix","result":[`)
	for s := range 200 {
		if s > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"metric":{"__name__":"container_memory_working_set_bytes","namespace":"prod","pod":"api-7d9f8-%05d","node":"ip-10-0-%d-%d.compute.internal"},"values":[`, s, s%7, s)
		for p := range 360 {
			if p > 0 {
				buf.WriteByte(',')
			}
			fmt.Fprintf(&buf, `[%d,"%d"]`, 1795161600+60*p, 300000000+p*1013+s)
		}
		buf.WriteString(`]}`)
	}
	buf.WriteString(`]}}`)
	body := buf.String()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		s, err := Decode(strings.NewReader(body))
		if err != nil || len(s) != 200 {
			b.Fatalf("%d series, %v", len(s), err)
		}
	}
}
