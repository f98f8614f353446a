package triage

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

func TestParseErrorExpr(t *testing.T) {
	type env map[string]float64
	tests := []struct {
		expr string
		env  env
		want bool
	}{
		{"status>=500", env{"status": 503}, true},
		{"status>=500", env{"status": 404}, false},
		{"status>=500", env{}, false}, // unknown status
		{"status>=500 || request_time>2", env{"status": 200, "request_time": 2.5}, true},
		{"status>=500 || duration>2", env{"status": 200, "request_time": 1}, false},
		{"status >= 500 && !(status == 503)", env{"status": 503}, false},
		{"status >= 500 && !(status == 503)", env{"status": 502}, true},
		{"!status=200", env{"status": 200}, false},
		{"status!=200 && upstream_status>=500", env{"status": 502, "upstream_status": 502}, true},
		{"(status<400) || (request_time>=0.5 && status<500)", env{"status": 404, "request_time": 0.5}, true},
		{"request_time>-1", env{"request_time": 0}, true},
		{"bytes<=1e3", env{"bytes": 999}, true},
		{"a>1 && b>1 || c>1", env{"c": 2}, true},
		{"a>1 && (b>1 || c>1)", env{"c": 2}, false},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			p, err := ParseErrorExpr(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			vals := make([]float64, len(p.Vars))
			known := make([]bool, len(p.Vars))
			for i, v := range p.Vars {
				vals[i], known[i] = tt.env[v]
			}
			if got := p.Eval(vals, known); got != tt.want {
				t.Errorf("got %v, want %v (vars %v)", got, tt.want, p.Vars)
			}
		})
	}
}

func TestParseErrorExprErrors(t *testing.T) {
	tests := []struct{ expr, wantErr string }{
		{"", "empty"},
		{"status", "comparison operator"},
		{"status>=", "expected a number"},
		{"status>=abc", "expected a number"},
		{"status>=500 &&", "expected a comparison"},
		{"(status>=500", "missing )"},
		{"status>=500)", "unexpected"},
		{"500<=status", "field name"},
		{"status>=500 | x>1", "unexpected"},
		{strings.Repeat("(", 100) + "status>1" + strings.Repeat(")", 100), "nested too deeply"},
		{strings.Repeat("!", 100) + "status>1", "nested too deeply"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := ParseErrorExpr(tt.expr)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func FuzzParseErrorExpr(f *testing.F) {
	for _, s := range []string{"status>=500", "status>=500 || request_time>2", "!(a==1) && (b<2 || c!=3)", "x=1e9", "((((a>1))))"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseErrorExpr(s)
		if err != nil {
			if p != nil {
				t.Fatal("predicate with an error")
			}
			return
		}
		vals := make([]float64, len(p.Vars))
		known := make([]bool, len(p.Vars))
		for i := range known {
			known[i] = i%2 == 0
			vals[i] = float64(i)
		}
		p.Eval(vals, known)
		// The same text parses to the same variables.
		q, err := ParseErrorExpr(p.String())
		if err != nil || len(q.Vars) != len(p.Vars) {
			t.Fatalf("reparse of %q: %v", s, err)
		}
	})
}

func TestParseNumber(t *testing.T) {
	for in, want := range map[string]float64{"0": 0, "2": 2, "0.250": 0.25, "-1.5": -1.5, "1e3": 1000, "12345678901234567890": 12345678901234567890} {
		got, ok := parseNumber([]byte(in))
		if !ok || got != want {
			t.Errorf("parseNumber(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "-", "abc", "1.2.3", "NaN"} {
		if _, ok := parseNumber([]byte(in)); ok {
			t.Errorf("parseNumber(%q) ok", in)
		}
	}
}

// FuzzAggregate feeds arbitrary request streams (times jumping back and
// forth across widths, arbitrary values, workers merged) through the
// engine: it must never panic and its counts must add up.
func FuzzAggregate(f *testing.F) {
	f.Add([]byte("\x01\x02\x03\x04\x05\x06\x07\x08eu\x00us\x00"), int64(1_700_000_000_000_000_000))
	f.Add([]byte("\xff\xfe\x00\x01\x80\x7f"), int64(1))
	f.Fuzz(func(t *testing.T, data []byte, base int64) {
		if base <= 0 {
			base = -base + 1
		}
		opt := AggOptions{MaxValues: 8, MaxBuckets: 16, MaxSlots: 6, Samples: 4}
		if len(data)%2 == 1 {
			// Retried requests counted as failures, at the failed attempt.
			p, err := ParseErrorExpr(RetryErrorExpr)
			if err != nil {
				t.Fatal(err)
			}
			opt.Error = p
		}
		c := NewCollector(opt)
		sinks := []signal.RequestSink{c.NewSink(), c.NewSink()}
		var n uint64
		for i := 0; i+3 < len(data); i += 4 {
			b := data[i : i+4]
			dt := int64(b[0]) * int64(time.Second) * int64(1+int(b[1])%200)
			if b[1]&1 == 1 {
				dt = -dt
			}
			r := &signal.Request{
				Time: base + dt, Status: 200 + int(b[2])%400, Duration: float64(b[3]) / 100,
				Client: b[1:3], Retries: int(b[0] % 3),
				Fields: []signal.Field{{Name: "region", Value: b[2:3]}, {Name: "path", Value: b[:2]}, {Name: "k" + string('a'+rune(b[3]%3)), Value: b[3:]},
					{Name: "upstream", Value: b[1:2]}, {Name: "failed_upstream"}},
			}
			if r.Retries > 0 {
				r.Fields[4].Value = b[0:1]
			}
			sinks[i/4%2].Add(r)
			n++
		}
		a := c.Merge()
		if a.Requests+a.Untimed != n {
			t.Fatalf("%d requests counted, %d added", a.Requests+a.Untimed, n)
		}
		var total, retried uint64
		for _, bk := range a.buckets {
			total += uint64(bk.req)
			retried += uint64(bk.rt)
		}
		if total != a.Requests || retried > a.Requests-a.Failed {
			t.Fatalf("series holds %d requests (%d retried, %d failed), want %d", total, retried, a.Failed, a.Requests)
		}
		if _, err := Run(context.Background(), Options{Aggregate: a}); err != nil && !errors.Is(err, ErrNoRequests) {
			t.Fatal(err)
		}
	})
}
