package prom

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// onePass parses the common form of a query_range body in a single pass:
//
//	{"status":"success","data":{"resultType":"matrix","result":[
//	  {"metric":{"__name__":"up",…},"values":[[1732100000,"1"],…]},…]}}
//
// The samples are nearly all of a metrics file, and encoding/json scans each
// of their bytes four times (the body, the raw result, the element, the
// values) before anything reads them. The parser is strict: it takes only
// valid JSON, each key once and in the case written here, so that what it
// takes is what encoding/json would make of it (FuzzOnePass checks that).
// Anything else — an array of bodies, an error response, another result
// type, a key it does not know, a bare-number sample — reports false and
// Decode falls back to encoding/json, which also gives the precise error.
type onePass struct {
	b []byte
	i int
}

// onePassBody parses a whole body (white space around it is fine).
func onePassBody(b []byte) ([]signal.Series, bool) {
	p := onePass{b: b}
	out, ok := p.body()
	p.ws()
	return out, ok && p.i == len(b)
}

func (p *onePass) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\n', '\t', '\r':
			p.i++
		default:
			return
		}
	}
}

// eat consumes c, after white space, if it is next.
func (p *onePass) eat(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// members calls member for each key of an object, each key at most once
// (encoding/json keeps the last of two, or merges them).
func (p *onePass) members(member func(key string) bool) bool {
	if !p.eat('{') {
		return false
	}
	if p.eat('}') {
		return true
	}
	var seen []string
	for {
		k, ok := p.str()
		if !ok || !p.eat(':') {
			return false
		}
		for _, s := range seen {
			if s == k {
				return false
			}
		}
		seen = append(seen, k)
		if !member(k) {
			return false
		}
		if p.eat(',') {
			continue
		}
		return p.eat('}')
	}
}

func (p *onePass) body() ([]signal.Series, bool) {
	var (
		out            []signal.Series
		success, found bool
	)
	ok := p.members(func(k string) bool {
		switch k {
		case "status":
			s, ok := p.str()
			success = s == "success"
			return ok && success // an error response takes the slow path
		case "errorType", "error":
			_, ok := p.str()
			return ok
		case "warnings", "infos":
			return p.strings()
		case "data":
			var matrix bool
			return p.members(func(k string) bool {
				switch k {
				case "resultType":
					s, ok := p.str()
					matrix = s == "matrix"
					return ok && matrix
				case "result":
					var ok bool
					out, ok = p.matrix()
					found = ok
					return ok && matrix // resultType must come first
				}
				return false
			})
		}
		return false
	})
	return out, ok && success && found
}

// matrix parses [{"metric":{…},"values":[…]},…].
func (p *onePass) matrix() ([]signal.Series, bool) {
	if !p.eat('[') {
		return nil, false
	}
	out := []signal.Series{}
	if p.eat(']') {
		return out, true
	}
	for {
		var (
			metric map[string]string
			pts    []signal.Point
		)
		ok := p.members(func(k string) bool {
			var ok bool
			switch k {
			case "metric":
				metric, ok = p.labels()
			case "values":
				pts, ok = p.samples()
			}
			return ok
		})
		if !ok {
			return nil, false
		}
		out = append(out, newSeries(metric, pts))
		if p.eat(',') {
			continue
		}
		return out, p.eat(']')
	}
}

// labels parses a flat object of strings.
func (p *onePass) labels() (map[string]string, bool) {
	m := make(map[string]string, 8)
	ok := p.members(func(k string) bool {
		v, ok := p.str()
		m[k] = v
		return ok
	})
	return m, ok
}

// strings parses an array of strings (warnings), discarding them.
func (p *onePass) strings() bool {
	if !p.eat('[') {
		return false
	}
	if p.eat(']') {
		return true
	}
	for {
		if _, ok := p.str(); !ok {
			return false
		}
		if p.eat(',') {
			continue
		}
		return p.eat(']')
	}
}

// samples parses [[t,"v"],…]: Unix seconds, and the value as a string.
func (p *onePass) samples() ([]signal.Point, bool) {
	if !p.eat('[') {
		return nil, false
	}
	if p.eat(']') {
		return []signal.Point{}, true
	}
	// Each sample opens one '[': count them up to the list's end, the first
	// "]]" (a value string holds no bracket in the common form; an odd one
	// only changes the capacity).
	n := 1
	if end := bytes.Index(p.b[p.i:], []byte("]]")); end >= 0 {
		n = bytes.Count(p.b[p.i:p.i+end], []byte{'['})
	}
	pts := make([]signal.Point, 0, n)
	for {
		if !p.eat('[') {
			return nil, false
		}
		ts, ok := p.number()
		if !ok || ts < -1e11 || ts > 1e11 || !p.eat(',') {
			return nil, false
		}
		// The value: a string of a number, never escaped in the common form.
		if !p.eat('"') {
			return nil, false
		}
		j := p.i
		for j < len(p.b) && p.b[j] != '"' && p.b[j] != '\\' {
			j++
		}
		if j >= len(p.b) || p.b[j] != '"' {
			return nil, false
		}
		v, ok := integer(p.b[p.i:j])
		if !ok {
			var err error
			if v, err = parseValue(string(p.b[p.i:j])); err != nil {
				return nil, false
			}
		}
		p.i = j + 1
		if !p.eat(']') {
			return nil, false
		}
		pts = append(pts, signal.Point{T: int64(math.Round(ts * 1000)), V: v})
		if p.eat(',') {
			continue
		}
		return pts, p.eat(']')
	}
}

// str parses a JSON string. One with escapes or invalid UTF-8 (which
// encoding/json replaces with U+FFFD) is decoded by encoding/json.
func (p *onePass) str() (string, bool) {
	if !p.eat('"') {
		return "", false
	}
	b, start := p.b, p.i
	escaped := false
	j := start
	for ; j < len(b) && b[j] != '"'; j++ {
		switch {
		case b[j] < 0x20:
			return "", false
		case b[j] == '\\':
			escaped = true
			j++
		}
	}
	if j >= len(b) {
		return "", false
	}
	p.i = j + 1
	if raw := b[start:j]; !escaped && utf8.Valid(raw) {
		return string(raw), true
	}
	var s string
	if err := json.Unmarshal(b[start-1:j+1], &s); err != nil {
		return "", false
	}
	return s, true
}

// number parses a JSON number; integers of up to 15 digits (Unix seconds)
// without strconv.
func (p *onePass) number() (float64, bool) {
	p.ws()
	b, j := p.b, p.i
	start := j
	digits := func() int {
		d := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		return j - d
	}
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case digits() == 0:
		return 0, false
	}
	intEnd := j
	if j < len(b) && b[j] == '.' {
		j++
		if digits() == 0 {
			return 0, false
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if digits() == 0 {
			return 0, false
		}
	}
	p.i = j
	if j == intEnd {
		if f, ok := integer(b[start:j]); ok {
			return f, true
		}
	}
	f, err := strconv.ParseFloat(string(b[start:j]), 64)
	return f, err == nil
}

// integer converts an optionally negative run of 1 to 15 decimal digits
// exactly, without strconv (most timestamps and many sample values are
// such); it reports false for anything else.
func integer(tok []byte) (float64, bool) {
	neg := len(tok) > 0 && tok[0] == '-'
	if neg {
		tok = tok[1:]
	}
	if len(tok) == 0 || len(tok) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range tok {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		return -float64(n), true
	}
	return float64(n), true
}
