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

// twoLayerScan serves two hours of API traffic, one request every 2 s, to
// eight pods in four regions, through two load balancers that name the
// same pods differently (an ingress controller by its upstream, an ALB by
// its target group, whose certificate ARN carries the pod's region). From
// the onset, pod 10.0.0.5 (ap-southeast-1) fails 70% of its requests
// through both.
func twoLayerScan(start, onsetAt time.Time) triage.ScanFunc {
	return func(ctx context.Context, newSink func() signal.RequestSink) (triage.Inputs, error) {
		sink := newSink()
		r := rand.New(rand.NewPCG(5, 6))
		ingress := []signal.Field{{Name: "upstream"}, {Name: "path"}, {Name: "source", Value: []byte("ingress.log")}}
		alb := []signal.Field{{Name: "upstream"}, {Name: "path"}, {Name: "chosen_cert_arn"}, {Name: "source", Value: []byte("alb.log")}}
		regions := []string{"us-east-1", "eu-west-1", "ap-southeast-1", "eu-central-1"}
		paths := []string{"/api/v1/users/:id", "/api/v1/cart", "/api/v1/orders"}
		n := 0
		for t := start; t.Before(start.Add(2 * time.Hour)); t = t.Add(2 * time.Second) {
			n++
			i := r.IntN(8)
			pod := "10.0.0." + string(rune('1'+i))
			fs, name := ingress, " (prod-api-80)"
			if r.IntN(2) == 0 {
				fs, name = alb, " (k8s-prod-api-1)"
				fs[2].Value = []byte("arn:aws:acm:" + regions[i/2] + ":123:certificate/abc")
			}
			fs[0].Value = []byte(pod + ":8080" + name)
			fs[1].Value = []byte(paths[r.IntN(len(paths))])
			status := 200
			if r.Float64() < 0.001 || (pod == "10.0.0.5" && !t.Before(onsetAt) && r.Float64() < 0.7) {
				status = 503
			}
			sink.Add(&signal.Request{Time: t.UnixNano(), Status: status, Duration: 0.05, Fields: fs})
		}
		return triage.Inputs{Lines: int64(n), Sources: []string{"alb.log", "ingress.log"}}, nil
	}
}

// TestOneInstanceThroughTwoLoadBalancers: each load balancer's finding
// holds about half the errors; the instance holds them all, so the cause is
// the bad pod — and another service's deploy in the same region, which
// only the region inside the certificate's ARN links to the failures, is
// not blamed for them.
func TestOneInstanceThroughTwoLoadBalancers(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	onsetAt := start.Add(90 * time.Minute)
	ev := Evidence{Changes: []signal.Change{{ID: "chg-img", Kind: signal.KindDeploy, Time: onsetAt.Add(-4 * time.Minute),
		Service: "image-resizer", Summary: "deploy image-resizer v2.20.0",
		Scope: map[string]string{"region": "ap-southeast-1", "service": "image-resizer"}}}}
	res, err := triage.Run(context.Background(), triage.Options{Scan: twoLayerScan(start, onsetAt), Changes: ev.Changes, Stages: []triage.Stage{Stage(ev)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) == 0 || hostOf(res.Findings[0].Value) != "10.0.0.5" || res.Findings[0].ErrorShare > 0.75 {
		t.Fatalf("want a finding on one load balancer's view of 10.0.0.5 holding part of the errors; findings %+v", res.Findings)
	}
	h := res.Hypotheses[0]
	if h.Cause != "bad-pod" || h.Confidence < 0.5 {
		t.Fatalf("top hypothesis %s %.2f: %s", h.Cause, h.Confidence, h.Summary)
	}
	if !strings.Contains(strings.Join(h.Evidence, "\n"), "instance 10.0.0.5 holds") {
		t.Errorf("the evidence does not add up the instance across the logs: %q", h.Evidence)
	}
	for _, h := range res.Hypotheses {
		if h.ChangeID != nil {
			t.Errorf("%s blames %s, another service's deploy: %s", h.Cause, *h.ChangeID, h.Summary)
		}
		for _, a := range h.Against {
			if strings.Contains(a, "chg-img") {
				t.Errorf("%s is held against %s: %s", "chg-img", h.Cause, a)
			}
		}
	}
}

// TestChecksNameThePod: with kube_pod_info, the bad pod's checks and
// containment name the pod, its namespace and its deployment instead of
// placeholders — whatever the load balancer's upstream name suggests (an
// AWS target group, k8s-<namespace>-<service>-<hash>).
func TestChecksNameThePod(t *testing.T) {
	r := result(finding("upstream", "10.0.0.5:8080 (k8s-shop-api-1a2b3c)", 0.9, 0.02, 0.7))
	info := func(ip, pod, node string) signal.Series {
		return signal.Series{Name: "kube_pod_info", Labels: map[string]string{"pod_ip": ip, "pod": pod, "node": node,
			"namespace": "payments", "created_by_kind": "ReplicaSet", "created_by_name": "checkout-api-7d9f8c"},
			Points: []signal.Point{{T: onset.UnixMilli(), V: 1}}}
	}
	Apply(r, Evidence{Metrics: []signal.Series{info("10.0.0.5", "checkout-api-7d9f8c-x2x9q", "node-a"), info("10.0.0.6", "checkout-api-7d9f8c-pp4kd", "node-b")}})
	h := r.Hypotheses[0]
	if h.Cause != "bad-pod" {
		t.Fatalf("top hypothesis %s: %s", h.Cause, h.Summary)
	}
	text := strings.Join(h.Checks, "\n")
	for _, c := range h.Containment {
		text += "\n" + c.Action
	}
	for _, want := range []string{"kubectl describe pod checkout-api-7d9f8c-x2x9q -n payments", "kubectl get endpoints -n payments checkout-api"} {
		if !strings.Contains(text, want) {
			t.Errorf("checks lack %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "<pod>") || strings.Contains(text, "<namespace>") {
		t.Errorf("placeholders left although kube_pod_info names the pod:\n%s", text)
	}
}

// TestChecksReadUpstreamNames: without kube_pod_info, the name a proxy
// gives the upstream says the namespace and service: an AWS target group
// (not "k8s"), an ingress-nginx upstream, an Istio/Envoy cluster, a
// Traefik service.
func TestChecksReadUpstreamNames(t *testing.T) {
	for _, name := range []string{
		"k8s-shop-api-1a2b3c",
		"shop-api-8080",
		"outbound|8080||api.shop.svc.cluster.local",
		"shop-api-8080@kubernetes",
	} {
		r := result(finding("upstream", "10.0.0.5:8080 ("+name+")", 0.9, 0.02, 0.7))
		Apply(r, Evidence{})
		text := strings.Join(r.Hypotheses[0].Checks, "\n")
		if !strings.Contains(text, "kubectl get endpoints -n shop api") {
			t.Errorf("%s: checks do not read namespace shop, service api:\n%s", name, text)
		}
	}
}

// TestOneFailingPodOnANodeWithNetworkErrors: one instance holds the
// errors — a bad pod, unless its node's network errors jumped at the
// onset: then the node is the better explanation, and the pod's own
// hypothesis says why it is doubted.
func TestOneFailingPodOnANodeWithNetworkErrors(t *testing.T) {
	pods := []signal.Series{
		{Name: "kube_pod_info", Labels: map[string]string{"pod_ip": "10.0.0.5", "pod": "api-1", "node": "node-a"}, Points: []signal.Point{{T: onset.UnixMilli(), V: 1}}},
		{Name: "kube_pod_info", Labels: map[string]string{"pod_ip": "10.0.0.6", "pod": "api-2", "node": "node-b"}, Points: []signal.Point{{T: onset.UnixMilli(), V: 1}}},
	}
	// A counter per node, one sample a minute: node-a's errors climb
	// 20/s from the onset, node-b's stay flat.
	counter := func(node string, perSec float64) signal.Series {
		s := signal.Series{Name: "node_network_receive_errs_total", Labels: map[string]string{"node": node, "device": "eth0"}}
		v := 0.0
		for t := onset.Add(-time.Hour); !t.After(onset.Add(time.Hour)); t = t.Add(time.Minute) {
			if !t.Before(onset) {
				v += 60 * perSec
			}
			s.Points = append(s.Points, signal.Point{T: t.UnixMilli(), V: v})
		}
		return s
	}
	net := append(append([]signal.Series{}, pods...), counter("node-a", 20), counter("node-b", 0))
	for _, c := range []struct {
		name    string
		metrics []signal.Series
		late    bool // the onset found trails the real one, which its interval holds
		want    string
	}{
		{"no network errors", pods, false, "bad-pod"},
		{"its node's network errors jump", net, false, "bad-node"},
		{"the jump inside the onset's interval", net, true, "bad-node"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := result(finding("upstream", "10.0.0.5:8080", 0.8, 0.02, 0.6))
			if c.late {
				// A dozen failures in an hour: the best split is 12 min
				// late, the interval reaches back past the real start.
				at, lo := onset.Add(12*time.Minute), onset.Add(-3*time.Minute)
				r.Impact.Onset = &at
				r.Onset = &triage.OnsetEvidence{Method: "error-rate", Time: at, Earliest: &lo}
			}
			Apply(r, Evidence{Metrics: c.metrics})
			if got := r.Hypotheses[0].Cause; got != c.want {
				t.Fatalf("top hypothesis %s (%s), want %s", got, r.Hypotheses[0].Summary, c.want)
			}
			if c.want != "bad-node" {
				return
			}
			for _, h := range r.Hypotheses {
				if h.Cause == "bad-pod" && !strings.Contains(strings.Join(h.Against, "\n"), "network errors on its node node-a") {
					t.Errorf("bad-pod does not say its node's network errors speak against it: %q", h.Against)
				}
			}
		})
	}
}
