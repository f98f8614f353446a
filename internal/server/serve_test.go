package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/incident"
)

// startServe runs Serve on a loopback port and returns its base URL, the
// cancel that starts the shutdown and the channel Serve's result arrives on.
func startServe(t *testing.T, s *Server) (string, context.CancelFunc, chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return "http://" + ln.Addr().String(), cancel, done
}

func TestServeFinishesInFlightRequestsOnShutdown(t *testing.T) {
	svc, m := memServices(nil)
	f := newFixture(t, svc, Options{})
	if _, err := svc.Incidents.Declare(t.Context(), "t", incident.DeclareInput{Title: "x", Severity: "SEV2"}); err != nil {
		t.Fatal(err)
	}
	s := New(Options{Services: svc, ShutdownTimeout: 10 * time.Second})
	url, cancel, done := startServe(t, s)

	block := make(chan struct{})
	m.mu.Lock()
	m.blockGet = block
	m.mu.Unlock()
	type result struct {
		code int
		body string
		err  error
	}
	res := make(chan result, 1)
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	go func() {
		req, _ := http.NewRequest("POST", url+"/api/v1/incidents/INC-1/status", strings.NewReader(`{"status":"acknowledged"}`))
		req.Header.Set("Authorization", "Bearer "+f.tokens["responder"])
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			res <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{code: resp.StatusCode, body: string(b)}
	}()
	waitFor(t, func() bool { return testutilGauge(s) == 1 }, "the request to be in flight")

	cancel()
	waitFor(t, func() bool {
		c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
		if err == nil {
			c.Close()
		}
		return err != nil
	}, "the listener to close")
	select {
	case err := <-done:
		t.Fatalf("Serve returned with a request in flight: %v", err)
	default:
	}
	close(block)
	r := <-res
	if r.err != nil || r.code != 200 || !strings.Contains(r.body, `"acknowledged"`) {
		t.Fatalf("in-flight request: %d %v %s", r.code, r.err, r.body)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	done <- nil // for the cleanup
	inc, err := svc.Incidents.Get(t.Context(), 1)
	if err != nil || inc.Status != incident.Acknowledged {
		t.Fatalf("the accepted write was lost: %v %+v", err, inc)
	}
}

func TestServeShutdownIsBounded(t *testing.T) {
	svc, m := memServices(nil)
	f := newFixture(t, svc, Options{})
	s := New(Options{Services: svc, ShutdownTimeout: 100 * time.Millisecond})
	url, cancel, done := startServe(t, s)
	block := make(chan struct{})
	defer close(block)
	m.mu.Lock()
	m.blockGet = block
	m.mu.Unlock()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("GET", url+"/api/v1/incidents/INC-1", nil)
		req.Header.Set("Authorization", "Bearer "+f.tokens["viewer"])
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	waitFor(t, func() bool { return testutilGauge(s) == 1 }, "the request to be in flight")
	cancel()
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "graceful shutdown") {
		t.Fatalf("Serve after a timed-out shutdown: %v, want a graceful shutdown error", err)
	}
	done <- nil
	if err := <-errc; err == nil {
		t.Error("the stuck request got an answer after its connection was closed")
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval
	}
}
