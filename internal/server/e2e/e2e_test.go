// Package e2e drives the real sitrep binary: `sitrep serve` killed with
// SIGKILL in the middle of a stream of writes keeps every write it
// acknowledged, and SIGTERM lets the request in flight finish.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/sitrep-dev/sitrep/internal/app"
	"github.com/sitrep-dev/sitrep/internal/incident"
)

// binary is the sitrep binary built once for the package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sitrep-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "sitrep")
	cmd := exec.Command("go", "build", "-o", binary, "github.com/sitrep-dev/sitrep/cmd/sitrep")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "build sitrep: %v\n", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// sitrep runs the CLI to completion and returns its stdout.
func sitrep(t *testing.T, db string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"--db", db}, args...)...)
	cmd.Env = append(os.Environ(), "SITREP_USER=e2e")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sitrep %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

func createToken(t *testing.T, db, name, role string) string {
	t.Helper()
	var tok struct {
		Token string `json:"token"`
		Role  string `json:"role"`
	}
	out := sitrep(t, db, "token", "create", "--name", name, "--role", role, "-o", "json")
	if err := json.Unmarshal(out, &tok); err != nil || !strings.HasPrefix(tok.Token, "sitrep_") || tok.Role != role {
		t.Fatalf("token create -o json: %v: %s", err, out)
	}
	return tok.Token
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// server is a running `sitrep serve`.
type server struct {
	cmd    *exec.Cmd
	addr   string
	mu     sync.Mutex
	output bytes.Buffer
	done   chan struct{}
	err    error
}

func (s *server) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.output.Write(p)
}

func (s *server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.output.String()
}

func startServer(t *testing.T, db string) *server {
	t.Helper()
	s := &server{addr: freeAddr(t), done: make(chan struct{})}
	s.cmd = exec.Command(binary, "--db", db, "--log-level", "info", "serve", "--addr", s.addr)
	s.cmd.Stdout, s.cmd.Stderr = s, s
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.err = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-s.done
		if t.Failed() {
			t.Logf("server output:\n%s", s.log())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + s.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case <-s.done:
			t.Fatalf("sitrep serve exited: %v\n%s", s.err, s.log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sitrep serve not ready after 30s: %v\n%s", err, s.log())
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
	if !strings.Contains(s.log(), "listening on http://"+s.addr) {
		t.Errorf("serve does not say where it listens:\n%s", s.log())
	}
	return s
}

func post(ctx context.Context, client *http.Client, url, token, body string, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err // an answer not fully received is not an acknowledgement
	}
	if resp.StatusCode/100 == 2 && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return 0, fmt.Errorf("decode %s: %w", b, err)
		}
	}
	return resp.StatusCode, nil
}

// ack is one write the server acknowledged with a 2xx.
type ack struct {
	note     string // a note's text on incident 1, or
	incident int64  // a declared incident and its title
	title    string
}

func TestSIGKILLKeepsAcknowledgedWrites(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	token := createToken(t, db, "ci", "responder")
	srv := startServer(t, db)
	base := "http://" + srv.addr + "/api/v1"
	client := &http.Client{Timeout: 10 * time.Second}
	ctx := context.Background()

	var first incident.Incident
	if code, err := post(ctx, client, base+"/incidents", token, `{"title":"stream target","severity":"SEV3"}`, &first); err != nil || code != 201 {
		t.Fatalf("declare: %d %v", code, err)
	}

	const writers = 4
	var (
		mu     sync.Mutex
		acked  []ack
		wg     sync.WaitGroup
		enough = make(chan struct{})
		once   sync.Once
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				var a ack
				var code int
				var err error
				if i%3 == 2 {
					title := fmt.Sprintf("declared w%d-%d", w, i)
					var inc incident.Incident
					code, err = post(ctx, client, base+"/incidents", token, `{"title":"`+title+`","severity":"SEV4"}`, &inc)
					a = ack{incident: inc.ID, title: title}
				} else {
					text := fmt.Sprintf("note w%d-%d", w, i)
					code, err = post(ctx, client, base+"/incidents/"+first.Ref()+"/timeline", token, `{"text":"`+text+`"}`, nil)
					a = ack{note: text}
				}
				if err != nil {
					return // the server is gone
				}
				if code/100 != 2 {
					t.Errorf("write %+v: status %d", a, code)
					return
				}
				mu.Lock()
				acked = append(acked, a)
				if len(acked) >= 200 {
					once.Do(func() { close(enough) })
				}
				mu.Unlock()
			}
		}()
	}
	select {
	case <-enough:
	case <-time.After(60 * time.Second):
		t.Log("fewer than 200 writes in 60s; killing anyway")
	}
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-srv.done
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged before the kill")
	}
	t.Logf("%d writes acknowledged before SIGKILL", len(acked))

	// The database is consistent...
	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	var integrity string
	if err := raw.QueryRow("PRAGMA integrity_check").Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check: %q %v", integrity, err)
	}
	var fkProblems int
	if err := raw.QueryRow("SELECT count(*) FROM pragma_foreign_key_check").Scan(&fkProblems); err != nil || fkProblems != 0 {
		t.Fatalf("foreign_key_check: %d problems, %v", fkProblems, err)
	}
	raw.Close()

	// ...and holds every acknowledged write.
	svc, err := app.Open(ctx, db, app.Options{})
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer svc.Close()
	events, err := svc.Incidents.Timeline(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	notes := map[string]bool{}
	for _, e := range events {
		notes[e.Text] = true
	}
	for _, a := range acked {
		if a.note != "" {
			if !notes[a.note] {
				t.Errorf("acknowledged note %q is missing", a.note)
			}
			continue
		}
		inc, err := svc.Incidents.Get(ctx, a.incident)
		if err != nil || inc.Title != a.title {
			t.Errorf("acknowledged incident %s %q: %v %+v", incident.FormatID(a.incident), a.title, err, inc)
		}
	}
}

// waitMetric polls /metrics until a line equals want.
func waitMetric(t *testing.T, addr, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for line := range strings.Lines(string(b)) {
			if strings.TrimSpace(line) == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics never showed %q", want)
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
}

func TestSIGTERMFinishesInFlightRequest(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	token := createToken(t, db, "ci", "responder")
	srv := startServer(t, db)

	// Start a declare whose body is still on its way when SIGTERM arrives.
	conn, err := net.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"title":"declared during shutdown","severity":"SEV2"}`
	head := "POST /api/v1/incidents HTTP/1.1\r\nHost: " + srv.addr + "\r\nAuthorization: Bearer " + token +
		"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	if _, err := io.WriteString(conn, head+body[:10]); err != nil {
		t.Fatal(err)
	}
	// Wait until the handler runs (it is blocked reading the rest of the
	// body): the in-flight gauge counts it and the scrape itself.
	waitMetric(t, srv.addr, "sitrep_http_requests_in_flight 2")
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Wait until the server has stopped accepting connections.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", srv.addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("server still accepts connections 10s after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-srv.done:
		t.Fatalf("server exited before the in-flight request finished: %v\n%s", srv.err, srv.log())
	default:
	}
	if _, err := io.WriteString(conn, body[10:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read the in-flight answer: %v", err)
	}
	var inc incident.Incident
	if err := json.NewDecoder(resp.Body).Decode(&inc); err != nil || resp.StatusCode != 201 {
		t.Fatalf("in-flight declare: status %d, %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	conn.Close()

	select {
	case <-srv.done:
	case <-time.After(30 * time.Second):
		t.Fatal("server did not exit 30s after SIGTERM")
	}
	if srv.err != nil {
		t.Fatalf("exit after SIGTERM: %v, want status 0\n%s", srv.err, srv.log())
	}
	svc, err := app.Open(context.Background(), db, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if got, err := svc.Incidents.Get(context.Background(), inc.ID); err != nil || got.Title != "declared during shutdown" {
		t.Errorf("the in-flight write is not in the store: %v %+v", err, got)
	}
}

func TestTokenCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	out := sitrep(t, db, "token", "create", "--name", "ops", "--role", "viewer")
	if !bytes.Contains(out, []byte("sitrep_")) || !bytes.Contains(out, []byte("cannot be shown again")) {
		t.Errorf("token create output:\n%s", out)
	}
	createToken(t, db, "ci", "responder")
	var list struct {
		Tokens []struct {
			Name string `json:"name"`
			Role string `json:"role"`
		} `json:"tokens"`
	}
	if err := json.Unmarshal(sitrep(t, db, "token", "list", "-o", "json"), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Tokens) != 2 || list.Tokens[0].Name != "ci" || list.Tokens[1].Role != "viewer" {
		t.Errorf("token list: %+v", list.Tokens)
	}
	if out := sitrep(t, db, "token", "list"); !bytes.Contains(out, []byte("NAME")) || bytes.Contains(out, []byte("sitrep_")) {
		t.Errorf("token list (text) shows no table or a secret:\n%s", out)
	}
	sitrep(t, db, "token", "revoke", "ops")

	for _, args := range [][]string{
		{"token", "revoke", "ops"},                                // gone already
		{"token", "create", "--name", "ci", "--role", "viewer"},   // name taken
		{"token", "create", "--name", "x", "--role", "superuser"}, // no such role
	} {
		cmd := exec.Command(binary, append([]string{"--db", db}, args...)...)
		out, err := cmd.CombinedOutput()
		if err == nil || !bytes.Contains(out, []byte("error: ")) {
			t.Errorf("sitrep %v: want a failure with an error message, got %v:\n%s", args, err, out)
		}
	}
}
