package hypothesis

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/triage"
)

// outbound returns the calls of one pod to one server as the OpenTelemetry
// Prometheus exporter counts them, a sample a minute for an hour either
// side of the onset: perSec calls answered 200, and from the onset
// failPerSec more that time out.
func outbound(pod, server string, perSec, failPerSec float64) []signal.Series {
	ok := signal.Series{Name: "http_client_request_duration_seconds_count",
		Labels: map[string]string{"pod": pod, "server_address": server, "http_response_status_code": "200"}}
	bad := signal.Series{Name: "http_client_request_duration_seconds_count",
		Labels: map[string]string{"pod": pod, "server_address": server, "error_type": "timeout"}}
	var n, e float64
	for t := onset.Add(-time.Hour); !t.After(onset.Add(time.Hour)); t = t.Add(time.Minute) {
		n += 60 * perSec
		if !t.Before(onset) {
			e += 60 * failPerSec
		}
		ok.Points = append(ok.Points, signal.Point{T: t.UnixMilli(), V: n})
		bad.Points = append(bad.Points, signal.Point{T: t.UnixMilli(), V: e})
	}
	return []signal.Series{ok, bad}
}

// TestDependencyFromOutboundCalls: two endpoints hold the errors, the
// instances fail alike and nothing changed; with outbound request metrics
// showing the calls to one service failing, the dependency is named in the
// hypothesis, its scope and its checks; the same logs with outbound metrics
// in which nothing moved speak against it.
func TestDependencyFromOutboundCalls(t *testing.T) {
	var failing, healthy, quiet []signal.Series
	for _, pod := range []string{"api-1", "api-2", "api-3"} {
		failing = append(failing, outbound(pod, "api.paygate.example", 2, 1.5)...)
		failing = append(failing, outbound(pod, "search.internal", 5, 0)...)
		healthy = append(healthy, outbound(pod, "api.paygate.example", 2, 0)...)
		// a dozen calls an hour, one of them failing: chance, not a failure
		quiet = append(quiet, outbound(pod, "login.idp.example", 0.004, 0.0004)...)
	}
	for _, c := range []struct {
		name    string
		metrics []signal.Series
		want    string // the dependency named, "" for none
		against string
	}{
		{"calls to one service fail", failing, "api.paygate.example", ""},
		{"no outbound metrics", nil, "", ""},
		{"outbound calls all healthy", healthy, "", "none of the dependencies in the outbound request metrics started failing"},
		{"one failed call of a quiet dependency", quiet, "", "none of the dependencies in the outbound request metrics started failing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := result(finding("path", "/api/v1/orders", 0.55, 0.01, 0.7), finding("path", "/api/v1/checkout", 0.4, 0.01, 0.6))
			Apply(r, Evidence{Metrics: c.metrics})
			var dep *int
			for i, h := range r.Hypotheses {
				if h.Cause == "dependency" {
					dep = &i
				}
			}
			if dep == nil {
				t.Fatalf("no dependency hypothesis: %+v", r.Hypotheses)
			}
			h := r.Hypotheses[*dep]
			text := strings.Join(append(append([]string{h.Summary}, h.Evidence...), h.Checks...), "\n")
			switch {
			case c.want != "":
				if *dep != 0 || h.Confidence < 0.6 {
					t.Errorf("dependency ranked #%d at %.2f, want first and at least 0.6", *dep+1, h.Confidence)
				}
				for _, want := range []string{"Calls to " + c.want + " fail", "calls to " + c.want + " fail: 43% of them since the onset", c.want + "'s own status page"} {
					if !strings.Contains(text, want) {
						t.Errorf("lacks %q:\n%s", want, text)
					}
				}
			case c.against != "":
				if !strings.Contains(strings.Join(h.Against, "\n"), c.against) {
					t.Errorf("against = %q, want %q", h.Against, c.against)
				}
				if h.Confidence >= 0.35 {
					t.Errorf("confidence %.2f although the outbound calls are healthy", h.Confidence)
				}
			default:
				// logs alone: the endpoints hold every error, nothing changed
				if *dep != 0 || h.Confidence < 0.35 {
					t.Errorf("dependency ranked #%d at %.2f from the logs alone, want first, above the unknown bar", *dep+1, h.Confidence)
				}
				if !strings.Contains(text, "path=/api/v1/orders, path=/api/v1/checkout hold 95% of the errors") {
					t.Errorf("evidence does not add up the endpoints:\n%s", text)
				}
				if strings.Contains(text, "Calls to") {
					t.Errorf("names a dependency without metrics:\n%s", text)
				}
			}
		})
	}
}

// stepCalls is the healthy calls of one pod to one server, a sample a
// minute for an hour either side of the onset: before calls a second, then
// after from the onset.
func stepCalls(pod, server string, before, after float64) signal.Series {
	s := signal.Series{Name: "http_client_request_duration_seconds_count",
		Labels: map[string]string{"pod": pod, "server_address": server, "http_response_status_code": "200"}}
	var n float64
	for t := onset.Add(-time.Hour); !t.After(onset.Add(time.Hour)); t = t.Add(time.Minute) {
		if t.Before(onset) {
			n += 60 * before
		} else {
			n += 60 * after
		}
		s.Points = append(s.Points, signal.Point{T: t.UnixMilli(), V: n})
	}
	return s
}

// TestDependencyCallsStop: an open circuit breaker (or a client failing
// before it calls) shows in the outbound metrics as calls that stop, not
// as calls that fail: calls to one service falling to a quarter while the
// calls to the others hold name it, less surely than failing calls would;
// all calls falling together (less traffic) name none.
func TestDependencyCallsStop(t *testing.T) {
	var stopped, quieter []signal.Series
	for _, pod := range []string{"api-1", "api-2", "api-3"} {
		stopped = append(stopped, stepCalls(pod, "api.paygate.example", 0.2, 0.05), stepCalls(pod, "search.internal", 0.5, 0.5))
		quieter = append(quieter, stepCalls(pod, "api.paygate.example", 0.2, 0.05), stepCalls(pod, "search.internal", 0.5, 0.125))
	}
	r := result(finding("path", "/api/v1/orders", 0.9, 0.02, 0.6))
	Apply(r, Evidence{Metrics: stopped})
	h := r.Hypotheses[0]
	text := strings.Join(append([]string{h.Summary}, h.Evidence...), "\n")
	if h.Cause != "dependency" || !strings.Contains(text, "Calls to api.paygate.example collapsed to 2") || !strings.Contains(text, "an open circuit breaker") {
		t.Errorf("top hypothesis %s %.2f; want dependency naming the calls that stopped:\n%s", h.Cause, h.Confidence, text)
	}
	failing := result(finding("path", "/api/v1/orders", 0.9, 0.02, 0.6))
	var fails []signal.Series
	for _, pod := range []string{"api-1", "api-2", "api-3"} {
		fails = append(fails, outbound(pod, "api.paygate.example", 0.2, 0.15)...)
		fails = append(fails, stepCalls(pod, "search.internal", 0.5, 0.5))
	}
	Apply(failing, Evidence{Metrics: fails})
	if f := failing.Hypotheses[0]; f.Cause != "dependency" || f.Confidence <= h.Confidence {
		t.Errorf("failing calls %s %.2f, stopped calls %.2f: failing calls are the stronger evidence", f.Cause, f.Confidence, h.Confidence)
	}

	r = result(finding("path", "/api/v1/orders", 0.9, 0.02, 0.6))
	Apply(r, Evidence{Metrics: quieter})
	for _, h := range r.Hypotheses {
		if h.Cause == "dependency" && strings.Contains(h.Summary, "Calls to") {
			t.Errorf("every dependency's calls fell alike, yet one is named: %s", h.Summary)
		}
	}
}

// TestEndpointFailuresAreNotStaleDNS: a DNS change shortly before the
// onset does not make failures that follow one endpoint, answered by the
// application itself, a stale-cache incident.
func TestEndpointFailuresAreNotStaleDNS(t *testing.T) {
	r := result(finding("path", "/api/v1/search", 0.96, 0.04, 0.66))
	r.Findings[0].Related = nil
	Apply(r, Evidence{Changes: []signal.Change{
		change("chg-dns", signal.KindDNS, onset.Add(-10*time.Minute), map[string]string{"region": "us-west-2"},
			map[string]any{"name": "partners.example.com", "type": "CNAME", "old": "api-us-west-2.example.com", "new": "api.example.com", "ttl": 3600.0}),
	}})
	for i, h := range r.Hypotheses {
		if h.Cause != "dns-stale-cache" {
			continue
		}
		if i == 0 {
			t.Errorf("stale DNS ranked first at %.2f: %s", h.Confidence, h.Summary)
		}
		if !strings.Contains(strings.Join(h.Against, "\n"), "the failures follow the endpoints (path=/api/v1/search holds 96% of the errors)") {
			t.Errorf("against = %q", h.Against)
		}
	}
	if r.Hypotheses[0].Cause != "dependency" {
		t.Errorf("top hypothesis %s: %s", r.Hypotheses[0].Cause, r.Hypotheses[0].Summary)
	}
}

// endpointScan serves two hours of api traffic, a request a second, over
// eight pods behind one ingress upstream (prod-api-80); from the onset
// POST /api/v1/auth/token fails 80% of the time on every pod alike.
func endpointScan(start, onsetAt time.Time) triage.ScanFunc {
	return func(ctx context.Context, newSink func() signal.RequestSink) (triage.Inputs, error) {
		sink := newSink()
		r := rand.New(rand.NewPCG(7, 8))
		fs := []signal.Field{{Name: "upstream"}, {Name: "path"}}
		paths := []string{"/api/v1/auth/token", "/api/v1/users/:id", "/api/v1/cart", "/api/v1/orders", "/api/v1/products/:id"}
		n := 0
		for t := start; t.Before(start.Add(2 * time.Hour)); t = t.Add(time.Second) {
			n++
			fs[0].Value = []byte("10.0.0." + string(rune('1'+r.IntN(8))) + ":8080 (prod-api-80)")
			p := paths[r.IntN(len(paths))]
			fs[1].Value = []byte(p)
			status := 200
			if r.Float64() < 0.001 || (p == paths[0] && !t.Before(onsetAt) && r.Float64() < 0.8) {
				status = 502
			}
			sink.Add(&signal.Request{Time: t.UnixNano(), Status: status, Duration: 0.05, Fields: fs})
		}
		return triage.Inputs{Lines: int64(n), Sources: []string{"ingress.log"}}, nil
	}
}

// TestEndpointFailuresAndChanges: an endpoint failing on every pod, with
// a DNS change of the same service minutes before, is a dependency — the
// DNS change is not held against it (it would fail clients, not one
// endpoint the application answers) — while a deploy of the service at
// the same time is.
func TestEndpointFailuresAndChanges(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	onsetAt := start.Add(90 * time.Minute)
	dns := signal.Change{ID: "chg-dns", Kind: signal.KindDNS, Time: onsetAt.Add(-4 * time.Minute), Service: "api",
		Summary: "api.example.com latency record: health check updated", Scope: map[string]string{"service": "api"},
		Details: map[string]any{"name": "api.example.com", "type": "A", "old": "198.51.100.4", "new": "198.51.100.7", "ttl": 600.0}}
	deploy := signal.Change{ID: "chg-deploy", Kind: signal.KindDeploy, Time: onsetAt.Add(-3 * time.Minute), Service: "api",
		Summary: "deploy api v2.41.0", Scope: map[string]string{"service": "api", "version": "v2.41.0"}}
	for _, c := range []struct {
		name    string
		changes []signal.Change
		want    string
	}{
		{"a dns change of the service", []signal.Change{dns}, "dependency"},
		{"a deploy of the service", []signal.Change{deploy}, "bad-deploy"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev := Evidence{Changes: c.changes}
			res, err := triage.Run(context.Background(), triage.Options{Scan: endpointScan(start, onsetAt), Changes: ev.Changes, Stages: []triage.Stage{Stage(ev)}})
			if err != nil {
				t.Fatal(err)
			}
			h := res.Hypotheses[0]
			if h.Cause != c.want {
				t.Fatalf("top hypothesis %s %.2f: %s (all: %+v)", h.Cause, h.Confidence, h.Summary, res.Hypotheses)
			}
			for _, h := range res.Hypotheses {
				if h.Cause != "dependency" {
					continue
				}
				ev, ag := strings.Join(h.Evidence, "\n"), strings.Join(h.Against, "\n")
				if !strings.Contains(ev, "spread over 8 instances in proportion to their traffic") {
					t.Errorf("evidence does not say the pods fail alike: %q", h.Evidence)
				}
				if c.want == "dependency" && strings.Contains(ag, "chg-dns") {
					t.Errorf("the dns change is held against a dependency: %q", h.Against)
				}
				if c.want == "bad-deploy" && !strings.Contains(ag, "chg-deploy") {
					t.Errorf("the deploy is not held against a dependency: %q", h.Against)
				}
			}
		})
	}
}

// TestChangeOfAnotherRegion: a DNS change scoped to one region does not
// explain failures on a load balancer named after another (ALB logs carry
// no region dimension, only names); scoped to the failing one, it still can.
func TestChangeOfAnotherRegion(t *testing.T) {
	for _, c := range []struct {
		region string
		blamed bool
	}{{"eu-central-1", false}, {"us-east-1", true}} {
		t.Run(c.region, func(t *testing.T) {
			r := result(finding("elb", "app/api-us-east-1/c96ef921cab4c9a7", 0.9, 0.27, 0.07))
			Apply(r, Evidence{Changes: []signal.Change{
				change("chg-dns", signal.KindDNS, onset.Add(-4*time.Minute), map[string]string{"region": c.region},
					map[string]any{"name": "api.example.com", "type": "A", "old": "198.51.100.41", "new": "198.51.100.77", "ttl": 3600.0}),
			}})
			blamed := false
			for _, h := range r.Hypotheses {
				blamed = blamed || (h.ChangeID != nil && *h.ChangeID == "chg-dns")
			}
			if blamed != c.blamed {
				t.Errorf("blamed %v, want %v: %+v", blamed, c.blamed, r.Hypotheses)
			}
			if !c.blamed && (len(r.Changes) == 0 || !strings.Contains(strings.Join(r.Changes[0].Reasons, "\n"), "scoped to region eu-central-1, but the errors are in elb=")) {
				t.Errorf("changes = %+v, want the conflict said", r.Changes)
			}
		})
	}
}
