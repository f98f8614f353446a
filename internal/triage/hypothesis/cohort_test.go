package hypothesis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/triage"
)

// fleetScan serves two hours of traffic, one request a second, to ten API
// pods (10.0.1.x:8080) and six web pods (10.0.2.x:3000) behind one ingress
// log that says nothing of nodes or zones. From the onset the instances in
// failing answer 60% of their requests with 502 or 504; before it, one
// request in a thousand fails anywhere.
func fleetScan(start, onsetAt time.Time, failing ...string) triage.ScanFunc {
	return func(ctx context.Context, newSink func() signal.RequestSink) (triage.Inputs, error) {
		sink := newSink()
		r := rand.New(rand.NewPCG(11, 12))
		fs := []signal.Field{{Name: "upstream"}, {Name: "path"}, {Name: "source", Value: []byte("ingress.log")}}
		bad := map[string]bool{}
		for _, f := range failing {
			bad[f] = true
		}
		n := 0
		for t := start; t.Before(start.Add(2 * time.Hour)); t = t.Add(time.Second) {
			n++
			up, path := fmt.Sprintf("10.0.1.%d:8080 (prod-api-80)", 1+r.IntN(10)), "/api/v1/orders"
			if r.IntN(16) < 6 {
				up, path = fmt.Sprintf("10.0.2.%d:3000 (prod-web-80)", 1+r.IntN(6)), "/"
			}
			fs[0].Value, fs[1].Value = []byte(up), []byte(path)
			status := 200
			if r.Float64() < 0.001 || bad[hostOf(up)] && !t.Before(onsetAt) && r.Float64() < 0.6 {
				status = 502 + 2*r.IntN(2)
			}
			sink.Add(&signal.Request{Time: t.UnixNano(), Status: status, Duration: 0.03, Fields: fs})
		}
		return triage.Inputs{Lines: int64(n), Sources: []string{"ingress.log"}}, nil
	}
}

func runFleet(t *testing.T, ev Evidence, failing ...string) *triage.Result {
	t.Helper()
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	res, err := triage.Run(context.Background(), triage.Options{Scan: fleetScan(start, start.Add(80*time.Minute), failing...), Stages: []triage.Stage{Stage(ev)}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Impact.Onset == nil {
		t.Fatalf("no onset found; findings %+v", res.Findings)
	}
	return res
}

func hypothesisOf(res *triage.Result, cause string) *triage.Hypothesis {
	for i := range res.Hypotheses {
		if res.Hypotheses[i].Cause == cause {
			return &res.Hypotheses[i]
		}
	}
	return nil
}

// TestInstancesFailTogether: with logs alone (no node in them, no
// kube_pod_info), an API pod and a web pod failing from the same minute
// while fourteen others stay healthy point below the application — a node
// (or zone) they share — not at one bad pod; the check finds out where
// they run.
func TestInstancesFailTogether(t *testing.T) {
	res := runFleet(t, Evidence{}, "10.0.1.3", "10.0.2.4")
	h := res.Hypotheses[0]
	if h.Cause != "bad-node" || h.Confidence < 0.5 {
		t.Fatalf("top hypothesis %s %.2f: %s; want bad-node", h.Cause, h.Confidence, h.Summary)
	}
	for _, ip := range []string{"10.0.1.3", "10.0.2.4"} {
		if !strings.Contains(h.Summary, ip) {
			t.Errorf("the summary does not name %s: %s", ip, h.Summary)
		}
	}
	ev := strings.Join(h.Evidence, "\n")
	if !strings.Contains(ev, "2 different things") || !strings.Contains(ev, "other 14 instances") {
		t.Errorf("the evidence should say two services fail and fourteen instances are healthy:\n%s", ev)
	}
	if !strings.Contains(strings.Join(h.Checks, "\n"), `grep -wE '10\.0\.1\.3|10\.0\.2\.4'`) && !strings.Contains(strings.Join(h.Checks, "\n"), `grep -wE '10\.0\.2\.4|10\.0\.1\.3'`) {
		t.Errorf("no check finds where the instances run:\n%s", strings.Join(h.Checks, "\n"))
	}
	pod := hypothesisOf(res, "bad-pod")
	if pod == nil {
		t.Fatal("bad-pod is not weighed at all")
	}
	if pod.Confidence >= h.Confidence || !strings.Contains(strings.Join(pod.Against, "\n"), "another instance fails with it") {
		t.Errorf("bad-pod %.2f against %q: the second failing instance should speak against it", pod.Confidence, pod.Against)
	}
	// The other place they may share: a zone, weighed below the node (one
	// node failing is the more common story), with the same check first.
	zone := hypothesisOf(res, "zone-outage")
	if zone == nil {
		t.Fatal("zone-outage is not weighed: nothing says the instances are not in one zone")
	}
	if zone.Confidence >= h.Confidence || zone.Confidence < 0.3 {
		t.Errorf("zone-outage %.2f, bad-node %.2f: want the zone below the node but on the list", zone.Confidence, h.Confidence)
	}
	if !strings.Contains(zone.Summary, "10.0.1.3") || !strings.Contains(zone.Summary, "zone") {
		t.Errorf("the zone reading should name the instances: %s", zone.Summary)
	}
	if len(zone.Checks) == 0 || !strings.HasPrefix(zone.Checks[0], "kubectl get pods -A -o wide | grep -wE") {
		t.Errorf("the zone reading's first check should find where the instances run: %q", zone.Checks)
	}
}

// TestOneServiceFailsTogether: two pods of one service failing together
// may be a shared node or a rollout to just them; bad-node says so, and is
// less sure than when two services fail.
func TestOneServiceFailsTogether(t *testing.T) {
	two := hypothesisOf(runFleet(t, Evidence{}, "10.0.1.3", "10.0.2.4"), "bad-node")
	one := hypothesisOf(runFleet(t, Evidence{}, "10.0.1.3", "10.0.1.7"), "bad-node")
	if one == nil || two == nil {
		t.Fatalf("bad-node not weighed: one service %v, two services %v", one, two)
	}
	if !strings.Contains(strings.Join(one.Against, "\n"), "a canary") {
		t.Errorf("one service: the against should name a rollout to just these instances: %q", one.Against)
	}
	if one.Confidence >= two.Confidence {
		t.Errorf("one service %.2f, two services %.2f: two services failing together are the stronger sign", one.Confidence, two.Confidence)
	}
}

// TestOneInstanceIsNotACohort: one failing pod is a bad pod, not a node.
func TestOneInstanceIsNotACohort(t *testing.T) {
	res := runFleet(t, Evidence{}, "10.0.1.3")
	if h := res.Hypotheses[0]; h.Cause != "bad-pod" {
		t.Fatalf("top hypothesis %s: %s; want bad-pod", h.Cause, h.Summary)
	}
	for _, cause := range []string{"bad-node", "zone-outage"} {
		if h := hypothesisOf(res, cause); h != nil {
			t.Errorf("%s weighed for one failing instance: %s", cause, h.Summary)
		}
	}
}

// TestCohortDefersToTopology: when kube_pod_info places the failing pods
// on two different nodes, the logs-only guess is not made.
func TestCohortDefersToTopology(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	info := func(ip, node string) signal.Series {
		return signal.Series{Name: "kube_pod_info", Labels: map[string]string{"pod_ip": ip, "pod": "p-" + ip, "node": node, "namespace": "prod"},
			Points: []signal.Point{{T: start.UnixMilli(), V: 1}}}
	}
	res := runFleet(t, Evidence{Metrics: []signal.Series{info("10.0.1.3", "node-a"), info("10.0.2.4", "node-b")}}, "10.0.1.3", "10.0.2.4")
	if h := hypothesisOf(res, "bad-node"); h != nil && strings.Contains(h.Summary, "likely share") {
		t.Errorf("the pods run on two known nodes, yet bad-node guesses they share one: %s", h.Summary)
	}
}

// cdnScan is a CDN's log: two origins, cache hits and misses; from the
// onset the misses to origin-eu fail with 502 and the result the CDN gives
// (result). The failing requests hold a certificate ARN-like field for
// every request, which says nothing about failures.
func cdnScan(start, onsetAt time.Time, result string) triage.ScanFunc {
	return func(ctx context.Context, newSink func() signal.RequestSink) (triage.Inputs, error) {
		sink := newSink()
		r := rand.New(rand.NewPCG(21, 22))
		fs := []signal.Field{{Name: "upstream"}, {Name: "cache_status"}, {Name: "edge_result"}, {Name: "cert_arn"}, {Name: "source", Value: []byte("cdn.jsonl")}}
		n := 0
		for t := start; t.Before(start.Add(2 * time.Hour)); t = t.Add(time.Second) {
			n++
			origin := "origin-us.example.com"
			if r.IntN(2) == 0 {
				origin = "origin-eu.example.com"
			}
			cache, res, status := "HIT", "Hit", 200
			if r.IntN(3) == 0 {
				cache, res = "MISS", "Miss"
				if origin == "origin-eu.example.com" && !t.Before(onsetAt) {
					cache, res, status = "ERROR", result, 502
				}
			}
			fs[0].Value, fs[1].Value, fs[2].Value = []byte(origin), []byte(cache), []byte(res)
			fs[3].Value = []byte("arn:aws:acm:us-east-1:123:certificate/" + origin)
			sink.Add(&signal.Request{Time: t.UnixNano(), Status: status, Duration: 0.03, Fields: fs})
		}
		return triage.Inputs{Lines: int64(n), Sources: []string{"cdn.jsonl"}}, nil
	}
}

// TestTLSFailureInTheLog: without probe metrics or a certificate change,
// a CDN result that says the origin's TLS handshake failed, for nearly
// every failing request, names cert-expired and the origin — not a
// certificate renewed for another host; the same incident with the CDN
// unable to connect is cdn-origin.
func TestTLSFailureInTheLog(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	// A certificate renewed for another host just before the onset is a
	// decoy: the handshakes fail with origin-eu.
	ev := Evidence{Changes: []signal.Change{{ID: "chg-status", Kind: signal.KindCert, Time: start.Add(72 * time.Minute),
		Service: "platform", Summary: "renew certificate for status.example.com",
		Scope: map[string]string{"host": "status.example.com"}, Details: map[string]any{"name": "status.example.com"}}}}
	run := func(result string) *triage.Result {
		res, err := triage.Run(context.Background(), triage.Options{Scan: cdnScan(start, start.Add(80*time.Minute), result), Changes: ev.Changes, Stages: []triage.Stage{Stage(ev)}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := run("OriginSslError")
	h := res.Hypotheses[0]
	if h.Cause != "cert-expired" || h.Confidence < 0.4 {
		t.Fatalf("top hypothesis %s %.2f: %s; want cert-expired", h.Cause, h.Confidence, h.Summary)
	}
	text := strings.Join(h.Evidence, "\n")
	if !strings.Contains(text, "edge_result=OriginSslError") || !strings.Contains(text, "upstream=origin-eu.example.com") {
		t.Errorf("the evidence should quote the TLS result and the origin:\n%s", text)
	}
	if h.ChangeID != nil || !strings.Contains(strings.Join(h.Against, "\n"), "status.example.com, not of origin-eu.example.com") {
		t.Errorf("the certificate renewed for another host should be named against, not blamed: change %v, against %q", h.ChangeID, h.Against)
	}
	if c := hypothesisOf(res, "cdn-origin"); c != nil && c.Confidence >= h.Confidence {
		t.Errorf("cdn-origin %.2f outranks the TLS failure", c.Confidence)
	}
	res = run("OriginConnectError")
	if c := hypothesisOf(res, "cert-expired"); c != nil && c.Confidence >= 0.3 {
		t.Errorf("connection errors, an ARN naming a certificate: cert-expired at %.2f: %q", c.Confidence, c.Evidence)
	}
	// Without a CDN change, the CDN's own word that it could not connect
	// to the origin names the CDN-to-origin path.
	if h := res.Hypotheses[0]; h.Cause != "cdn-origin" || !strings.Contains(strings.Join(h.Evidence, "\n"), "edge_result=OriginConnectError") {
		t.Errorf("top hypothesis %s %.2f %q; want cdn-origin quoting the CDN's result", h.Cause, h.Confidence, h.Evidence)
	}
}
