// Package pgtest starts a private PostgreSQL server for tests: a fresh
// cluster in t.TempDir(), listening on a free 127.0.0.1 port and on a unix
// socket inside the temporary directory, stopped and removed when the test
// ends.
//
// When the PostgreSQL binaries are missing the test is skipped, unless
// CI=true, where it fails: CI installs them with scripts/install-deps.sh.
//
// PostgreSQL refuses to run as root. When the test runs as root the server
// runs as the "postgres" system user (or "nobody" when there is none); the
// temporary directory is made traversable for it.
//
//	srv := pgtest.Start(t, pgtest.Options{})
//	dsn := srv.CreateDatabase(t, "store")
//	conn, err := pgx.Connect(ctx, dsn)
//
// To share one server between a package's tests, start it in TestMain
// with New and Stop it after m.Run; give each test its own database with
// CreateDatabase(t, name).
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Superuser is the name of the cluster's superuser. Authentication is
// "trust" on loopback and on the socket, so it needs no password.
const Superuser = "postgres"

// Options configure the server. The zero value is a good default.
type Options struct {
	// BinDir holds initdb and postgres. Default: $SITREP_PG_BIN, else the
	// newest /usr/lib/postgresql/*/bin, else the directory of initdb in
	// $PATH.
	BinDir string
	// MaxConnections is max_connections (default 20).
	MaxConnections int
	// SuperuserReservedConnections is superuser_reserved_connections
	// (default 3). Must be below MaxConnections.
	SuperuserReservedConnections int
	// Settings are extra server settings passed as -c name=value, e.g.
	// {"log_min_duration_statement": "0"}.
	Settings map[string]string
	// StartTimeout bounds initdb plus start-up (default 60s: the test
	// machines are shared and slow).
	StartTimeout time.Duration
}

// Server is a running PostgreSQL server owned by one test.
type Server struct {
	// Host is 127.0.0.1.
	Host string
	// Port is the TCP port the server listens on.
	Port int
	// Dir is the temporary directory holding the data directory
	// (Dir/data), the unix socket (Dir/sock) and the server log
	// (Dir/postgres.log).
	Dir string
	// Version is the server's version string, e.g. "15.8".
	Version string

	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	mu      sync.Mutex
	dbs     map[string]bool
	ownDir  bool
}

// DSN returns a postgres:// URL for the superuser and dbname on the
// server's TCP port. An empty dbname means the "postgres" database.
func (s *Server) DSN(dbname string) string {
	return s.UserDSN(Superuser, dbname)
}

// UserDSN returns a postgres:// URL connecting as role to dbname (default
// "postgres"). Create roles with Exec.
func (s *Server) UserDSN(role, dbname string) string {
	if dbname == "" {
		dbname = "postgres"
	}
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(role),
		Host:     net.JoinHostPort(s.Host, strconv.Itoa(s.Port)),
		Path:     "/" + dbname,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// SocketDir is the directory of the server's unix socket, for clients that
// want host=SocketDir.
func (s *Server) SocketDir() string { return filepath.Join(s.Dir, "sock") }

// LogFile is the path of the server's log.
func (s *Server) LogFile() string { return filepath.Join(s.Dir, "postgres.log") }

// CreateDatabase creates database name (owned by the superuser) unless it
// exists already, and returns its DSN.
func (s *Server) CreateDatabase(t testing.TB, name string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.dbs[name] {
		s.Exec(t, "", "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
		s.dbs[name] = true
	}
	return s.DSN(name)
}

// Exec runs sql as the superuser in dbname (default "postgres") and fails
// the test on error. Use it for set-up such as CREATE ROLE.
func (s *Server) Exec(t testing.TB, dbname, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.DSN(dbname))
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
}

// ErrNotInstalled is returned by New when the PostgreSQL binaries are
// missing.
var ErrNotInstalled = errors.New("PostgreSQL binaries (initdb, postgres) not found")

// Start initialises a cluster in a fresh temporary directory, starts the
// server and registers its shutdown with t.Cleanup. It skips the test when
// PostgreSQL is not installed (fails under CI=true).
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin, err := findBinDir(opts.BinDir)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("pgtest: %v (CI=true: run scripts/install-deps.sh)", err)
		}
		t.Skipf("pgtest: %v; skipping (install with scripts/install-deps.sh)", err)
	}
	dir := t.TempDir()
	// t.TempDir makes 0700 directories owned by us; a server running as
	// another user must traverse the per-test parent too.
	s, err := launch(bin, opts, dir, filepath.Dir(dir))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("pgtest: server log (%s):\n%s", s.LogFile(), s.logTail())
		}
	})
	return s
}

// New starts a server outside any one test, for a package's TestMain that
// shares one server between its tests; Stop it when done. Its directory
// is created under os.TempDir() and removed by Stop. When the binaries are
// missing it returns an error wrapping ErrNotInstalled: skip the package
// then, unless CI=true.
func New(opts Options) (*Server, error) {
	bin, err := findBinDir(opts.BinDir)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	s, err := launch(bin, opts, dir, "")
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.ownDir = true
	return s, nil
}

// Stop shuts down a server made by New and removes its directory. Servers
// made by Start stop by themselves when their test ends.
func (s *Server) Stop() {
	s.stop()
	if s.ownDir {
		os.RemoveAll(s.Dir)
	}
}

func launch(bin string, opts Options, dir, parent string) (*Server, error) {
	if opts.MaxConnections <= 0 {
		opts.MaxConnections = 20
	}
	if opts.SuperuserReservedConnections <= 0 {
		opts.SuperuserReservedConnections = 3
	}
	if opts.SuperuserReservedConnections >= opts.MaxConnections {
		return nil, fmt.Errorf("SuperuserReservedConnections (%d) must be below MaxConnections (%d)",
			opts.SuperuserReservedConnections, opts.MaxConnections)
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	if cred != nil {
		for _, d := range []string{parent, dir} {
			if d == "" {
				continue
			}
			if err := os.Chmod(d, 0o711); err != nil {
				return nil, err
			}
		}
	}
	for _, sub := range []string{"data", "sock"} {
		p := filepath.Join(dir, sub)
		if err := os.Mkdir(p, 0o700); err != nil {
			return nil, err
		}
		if cred != nil {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, err
			}
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), opts.StartTimeout)
	defer cancel()

	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", data, "-U", Superuser, "--auth=trust", "--encoding=UTF8",
		"--locale=C", "--no-sync", "--no-instructions")
	initdb.Env = serverEnv()
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}

	s := &Server{Host: "127.0.0.1", Dir: dir, dbs: map[string]bool{"postgres": true}}
	// A free port can be taken between our probe and the server's bind;
	// retry a few times on that race.
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s.Port = port
		err = s.start(ctx, bin, cred, opts)
		if err == nil {
			return s, nil
		}
		if attempt < 4 && strings.Contains(s.logTail(), "could not bind") {
			continue
		}
		return nil, fmt.Errorf("%w\nserver log:\n%s", err, s.logTail())
	}
}

func (s *Server) start(ctx context.Context, bin string, cred *syscall.Credential, opts Options) error {
	args := []string{
		"-D", filepath.Join(s.Dir, "data"),
		"-h", s.Host,
		"-p", strconv.Itoa(s.Port),
		"-k", s.SocketDir(),
		"-c", "max_connections=" + strconv.Itoa(opts.MaxConnections),
		"-c", "superuser_reserved_connections=" + strconv.Itoa(opts.SuperuserReservedConnections),
		// Throwaway data: durability only costs time on a shared machine.
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "shared_buffers=16MB",
		"-c", "logging_collector=off",
	}
	keys := make([]string, 0, len(opts.Settings))
	for k := range opts.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-c", k+"="+opts.Settings[k])
	}
	logf, err := os.OpenFile(s.LogFile(), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open server log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.Env = serverEnv()
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()

	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(cctx, s.DSN(""))
		if err == nil {
			err = conn.QueryRow(cctx, "SHOW server_version").Scan(&s.Version)
			conn.Close(context.Background())
			cancel()
			if err == nil {
				return nil
			}
		} else {
			cancel()
		}
		select {
		case <-s.done:
			return fmt.Errorf("postgres exited during start-up: %v", s.waitErr)
		case <-ctx.Done():
			s.stop()
			return fmt.Errorf("postgres not ready on %s:%d: %w", s.Host, s.Port, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop shuts the server down: fast shutdown (SIGINT), then SIGQUIT, then
// SIGKILL of its process group.
func (s *Server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	for _, step := range []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{syscall.SIGINT, 20 * time.Second}, {syscall.SIGQUIT, 5 * time.Second}, {syscall.SIGKILL, 10 * time.Second}} {
		select {
		case <-s.done:
			return
		default:
		}
		if step.sig == syscall.SIGKILL {
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		} else {
			_ = s.cmd.Process.Signal(step.sig)
		}
		select {
		case <-s.done:
			return
		case <-time.After(step.wait):
		}
	}
}

// logTail returns the last 4 KiB of the server log.
func (s *Server) logTail() string {
	b, err := os.ReadFile(s.LogFile())
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > 4096 {
		b = b[len(b)-4096:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

func findBinDir(dir string) (string, error) {
	if dir == "" {
		dir = os.Getenv("SITREP_PG_BIN")
	}
	if dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err != nil {
			return "", fmt.Errorf("%w in %s: %v", ErrNotInstalled, dir, err)
		}
		return dir, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	sort.Slice(matches, func(i, j int) bool { return majorOf(matches[i]) > majorOf(matches[j]) })
	if len(matches) > 0 {
		return filepath.Dir(matches[0]), nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("%w in /usr/lib/postgresql/*/bin or $PATH; set SITREP_PG_BIN", ErrNotInstalled)
}

func majorOf(path string) int {
	// /usr/lib/postgresql/<major>/bin/postgres
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return n
}

// serverCredential returns the user to run the server as: nil (ourselves)
// unless we are root.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, errors.New("running as root and neither a postgres nor a nobody user exists to run the server as")
}

func serverEnv() []string {
	return []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "LANG=C", "TZ=UTC", "HOME=/nonexistent"}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
