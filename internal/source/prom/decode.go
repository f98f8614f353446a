package prom

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// apiBody is the envelope of every Prometheus HTTP API response.
type apiBody struct {
	Status    string   `json:"status"`
	ErrorType string   `json:"errorType"`
	Error     string   `json:"error"`
	Warnings  []string `json:"warnings"`
	Data      *struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

type matrixResult struct {
	Metric map[string]string `json:"metric"`
	Values sampleList        `json:"values"`
}

// sampleList is a matrix result's values: [[t,"v"],…]. It is parsed by hand
// because it is nearly all of a metrics file and encoding/json's per-element
// UnmarshalJSON calls cost several times more; anything unusual falls back
// to the element-wise decoder, which gives the precise error.
type sampleList []signal.Point

// UnmarshalJSON implements json.Unmarshaler.
func (l *sampleList) UnmarshalJSON(b []byte) error {
	if pts, ok := fastSamples(b); ok {
		*l = pts
		return nil
	}
	var slow []samplePair
	if err := json.Unmarshal(b, &slow); err != nil {
		return err
	}
	pts := make([]signal.Point, len(slow))
	for i, p := range slow {
		pts[i] = signal.Point(p)
	}
	*l = pts
	return nil
}

// fastSamples parses the common form [[1732100000,"12"],[1732100015.5,"NaN"]]
// and reports false for anything else.
func fastSamples(b []byte) ([]signal.Point, bool) {
	p := onePass{b: b}
	pts, ok := p.samples()
	p.ws()
	return pts, ok && p.i == len(b)
}

type vectorResult struct {
	Metric map[string]string `json:"metric"`
	Value  samplePair        `json:"value"`
}

// samplePair is Prometheus' [<unix seconds>, "<value>"] pair.
type samplePair signal.Point

// UnmarshalJSON decodes [1732100000.5, "12"]; the value may also be a bare
// number, and the strings "NaN", "+Inf", "-Inf" are accepted.
func (p *samplePair) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("want [timestamp, \"value\"], got %s", abbrev(b))
	}
	if len(raw) != 2 {
		return fmt.Errorf("want [timestamp, \"value\"], got %d elements", len(raw))
	}
	ts, err := strconv.ParseFloat(string(bytes.TrimSpace(raw[0])), 64)
	if err != nil || math.IsNaN(ts) || math.IsInf(ts, 0) {
		return fmt.Errorf("timestamp %s is not a number of Unix seconds", abbrev(raw[0]))
	}
	if ts < -1e11 || ts > 1e11 {
		return fmt.Errorf("timestamp %s is out of range (want Unix seconds)", abbrev(raw[0]))
	}
	vs := bytes.TrimSpace(raw[1])
	if len(vs) > 0 && vs[0] == '"' {
		var s string
		if err := json.Unmarshal(vs, &s); err != nil {
			return fmt.Errorf("value %s: %w", abbrev(vs), err)
		}
		vs = []byte(s)
	}
	v, err := parseValue(string(vs))
	if err != nil {
		return fmt.Errorf("value %s is not a number (want e.g. \"12\", \"NaN\", \"+Inf\")", abbrev(raw[1]))
	}
	p.T = int64(math.Round(ts * 1000))
	p.V = v
	return nil
}

func parseValue(s string) (float64, error) {
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "+Inf", "Inf":
		return math.Inf(1), nil
	case "-Inf":
		return math.Inf(-1), nil
	}
	return strconv.ParseFloat(s, 64)
}

func abbrev(b []byte) string {
	const max = 40
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

// Decode reads Prometheus query API response bodies from r: one body
// ({"status":"success","data":{…}}) or a JSON array of them (design.md §4.2).
//
// Each result becomes one signal.Series named after its __name__ label (the
// other labels go to Labels) with points sorted by time. resultType matrix is
// the normal case; a vector result becomes series of one point and a scalar
// result a series named "scalar". Sample values are strings as Prometheus
// writes them, "NaN", "+Inf" and "-Inf" included. A body whose status is
// "error" is reported with Prometheus' own error message.
func Decode(r io.Reader) ([]signal.Series, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return decodeBytes(data)
}

func decodeBytes(data []byte) ([]signal.Series, error) {
	data = trimLeading(data)
	if len(data) == 0 {
		return nil, errors.New("empty input: want a Prometheus query_range response body")
	}
	if out, ok := onePassBody(data); ok {
		return out, nil
	}
	return decodeSlow(data)
}

// trimLeading drops the white space and UTF-8 byte order marks before a body.
func trimLeading(b []byte) []byte {
	for len(b) > 0 {
		switch {
		case b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n':
			b = b[1:]
		case bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")):
			b = b[3:]
		default:
			return b
		}
	}
	return b
}

// decodeSlow decodes with encoding/json whatever onePassBody does not take:
// an array of bodies, another result type, an error response, a body it
// must reject with a precise error. data starts at the body (trimLeading).
func decodeSlow(data []byte) ([]signal.Series, error) {
	var first byte
	if len(data) > 0 {
		first = data[0]
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var (
		out []signal.Series
		err error
	)
	switch first {
	case '{':
		var body apiBody
		if err := dec.Decode(&body); err != nil {
			return nil, fmt.Errorf("decode response body: %w", err)
		}
		if out, err = body.series(out); err != nil {
			return nil, err
		}
	case '[':
		if _, err := dec.Token(); err != nil {
			return nil, fmt.Errorf("decode array: %w", err)
		}
		for i := 0; dec.More(); i++ {
			var body apiBody
			if err := dec.Decode(&body); err != nil {
				return nil, fmt.Errorf("body %d: decode: %w", i, err)
			}
			if out, err = body.series(out); err != nil {
				return nil, fmt.Errorf("body %d: %w", i, err)
			}
		}
		if _, err := dec.Token(); err != nil {
			return nil, fmt.Errorf("decode array end: %w", err)
		}
	default:
		return nil, fmt.Errorf("input starts with %q: want a query_range response object or an array of them", first)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the response body")
	}
	return out, nil
}

func (b *apiBody) series(out []signal.Series) ([]signal.Series, error) {
	switch b.Status {
	case "success":
	case "error":
		return out, fmt.Errorf("prometheus error response (%s): %s", b.ErrorType, b.Error)
	case "":
		return out, errors.New(`field "status" is missing: want a Prometheus API response ({"status":"success","data":{…}})`)
	default:
		return out, fmt.Errorf("field \"status\" is %q: want \"success\"", b.Status)
	}
	if b.Data == nil {
		return out, errors.New(`field "data" is missing`)
	}
	res := b.Data.Result
	if len(res) == 0 || string(res) == "null" {
		return out, nil
	}
	switch b.Data.ResultType {
	case "matrix":
		var m []matrixResult
		if err := json.Unmarshal(res, &m); err != nil {
			return out, fmt.Errorf("data.result (matrix): %w", err)
		}
		for _, r := range m {
			out = append(out, newSeries(r.Metric, r.Values))
		}
	case "vector":
		var v []vectorResult
		if err := json.Unmarshal(res, &v); err != nil {
			return out, fmt.Errorf("data.result (vector): %w", err)
		}
		for _, r := range v {
			out = append(out, newSeries(r.Metric, []signal.Point{signal.Point(r.Value)}))
		}
	case "scalar":
		var p samplePair
		if err := json.Unmarshal(res, &p); err != nil {
			return out, fmt.Errorf("data.result (scalar): %w", err)
		}
		out = append(out, signal.Series{Name: "scalar", Points: []signal.Point{signal.Point(p)}})
	case "string":
		return out, errors.New(`data.resultType "string" carries no numeric samples: query a metric instead`)
	case "":
		return out, errors.New(`field "data.resultType" is missing: want "matrix"`)
	default:
		return out, fmt.Errorf("data.resultType %q is unknown: want matrix, vector or scalar", b.Data.ResultType)
	}
	return out, nil
}

func newSeries(metric map[string]string, pts []signal.Point) signal.Series {
	s := signal.Series{Name: metric["__name__"], Points: sortPoints(pts)}
	for k, v := range metric {
		if k == "__name__" {
			continue
		}
		if s.Labels == nil {
			s.Labels = make(map[string]string, len(metric))
		}
		s.Labels[k] = v
	}
	return s
}

// sortPoints sorts by time and keeps the last of equal timestamps.
func sortPoints(pts []signal.Point) []signal.Point {
	if !sort.SliceIsSorted(pts, func(i, j int) bool { return pts[i].T < pts[j].T }) {
		sort.SliceStable(pts, func(i, j int) bool { return pts[i].T < pts[j].T })
	}
	out := pts[:0]
	for _, p := range pts {
		if n := len(out); n > 0 && out[n-1].T == p.T {
			out[n-1] = p
			continue
		}
		out = append(out, p)
	}
	return out
}

// ReadFile decodes one metrics file (see Decode); errors name the file.
func ReadFile(path string) ([]signal.Series, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("metrics file: %w", err)
	}
	s, err := decodeBytes(data)
	if err != nil {
		return nil, fmt.Errorf("metrics file %s: %w", path, err)
	}
	return s, nil
}

// ReadFiles decodes every file the patterns name and merges series that
// occur in several files (see Merge). A pattern is a file, a directory (all
// its *.json files) or a glob (filepath.Match syntax); a pattern that matches
// nothing is an error, so that a typo does not silently drop the metrics.
func ReadFiles(patterns []string) ([]signal.Series, error) {
	var files []string
	seen := map[string]bool{}
	add := func(f string) {
		if !seen[f] {
			seen[f] = true
			files = append(files, f)
		}
	}
	for _, p := range patterns {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			m, err := filepath.Glob(filepath.Join(p, "*.json"))
			if err != nil {
				return nil, fmt.Errorf("metrics %s: %w", p, err)
			}
			if len(m) == 0 {
				return nil, fmt.Errorf("metrics directory %s holds no *.json files", p)
			}
			for _, f := range m {
				add(f)
			}
			continue
		}
		if !strings.ContainsAny(p, "*?[") {
			add(p)
			continue
		}
		m, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("metrics pattern %q: %w", p, err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("metrics pattern %q matches no files", p)
		}
		for _, f := range m {
			add(f)
		}
	}
	// Decode the files on every core (a lab scenario writes 35, tens of
	// megabytes), then join them in the order given, so that the result and
	// the error reported (the first file's, in that order) do not depend on
	// which finished first.
	type result struct {
		series []signal.Series
		err    error
	}
	res := make([]result, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				res[i].series, res[i].err = ReadFile(files[i])
			}
		}()
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	var all []signal.Series
	for _, r := range res {
		if r.err != nil {
			return nil, r.err
		}
		all = append(all, r.series...)
	}
	return Merge(all), nil
}

// Merge joins series with the same name and labels (e.g. one metric saved in
// two files for consecutive windows) into one, points sorted by time, the
// later of two samples at the same time kept. Order of first appearance is
// preserved.
func Merge(series []signal.Series) []signal.Series {
	idx := make(map[string]int, len(series))
	out := make([]signal.Series, 0, len(series))
	for _, s := range series {
		k := seriesKey(s.Name, s.Labels)
		i, ok := idx[k]
		if !ok {
			idx[k] = len(out)
			out = append(out, s)
			continue
		}
		out[i].Points = sortPoints(append(slices.Clip(out[i].Points), s.Points...))
	}
	return out
}

// seriesKey is a canonical identity: name{a="1",b="2"} with sorted labels.
func seriesKey(name string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteString("=")
		b.WriteString(strconv.Quote(labels[k]))
	}
	b.WriteByte('}')
	return b.String()
}
