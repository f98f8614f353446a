// Package mariadb starts a private MariaDB server for tests: a fresh data
// directory in t.TempDir(), listening on a free 127.0.0.1 port and on a unix
// socket inside the temporary directory, stopped when the test ends.
//
// When mariadbd or mariadb-install-db is missing the test is skipped, unless
// CI=true, where it fails: CI installs them with scripts/install-deps.sh.
//
// When the test runs as root the server runs as the "mysql" system user (or
// "nobody"); the temporary directory is made traversable for it.
//
// The server has a superuser "root" with no password, reachable over TCP
// from 127.0.0.1 and over the socket.
//
//	srv := mariadb.Start(t, mariadb.Options{})
//	db, err := sql.Open("mysql", srv.DSN("app"))
package mariadb

import (
	"bytes"
	"context"
	"database/sql"
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

	"github.com/go-sql-driver/mysql"
)

// Options configure the server. The zero value is a good default.
type Options struct {
	// Mariadbd is the server binary. Default: $SITREP_MARIADBD, else
	// mariadbd (or mysqld) in $PATH or /usr/sbin.
	Mariadbd string
	// InstallDB is mariadb-install-db. Default: in $PATH or /usr/bin.
	InstallDB string
	// MaxConnections is max_connections (default 20; MariaDB raises values
	// below 10 to 10). MariaDB admits one
	// more connection for a user with the SUPER/CONNECTION ADMIN privilege
	// (root) when they are all taken.
	MaxConnections int
	// Settings are extra server options passed as --name=value, e.g.
	// {"innodb_lock_wait_timeout": "5"}.
	Settings map[string]string
	// StartTimeout bounds initialisation plus start-up (default 60s).
	StartTimeout time.Duration
}

// Server is a running MariaDB server owned by one test.
type Server struct {
	// Host is 127.0.0.1.
	Host string
	// Port is the TCP port the server listens on.
	Port int
	// Dir is the temporary directory holding the data directory
	// (Dir/data), the socket (Dir/run/mysqld.sock) and the server log
	// (Dir/mariadbd.log).
	Dir string
	// Version is the server's version string, e.g. "10.11.6-MariaDB-0+deb12u1".
	Version string

	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	mu      sync.Mutex
}

// DSN returns a go-sql-driver/mysql DSN for root on the TCP port and dbname
// (which may be empty).
func (s *Server) DSN(dbname string) string { return s.UserDSN("root", "", dbname) }

// UserDSN returns a go-sql-driver/mysql DSN for user/password on the TCP
// port. Create users with Exec.
func (s *Server) UserDSN(user, password, dbname string) string {
	cfg := mysql.NewConfig()
	cfg.User = user
	cfg.Passwd = password
	cfg.Net = "tcp"
	cfg.Addr = net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	cfg.DBName = dbname
	cfg.Timeout = 10 * time.Second
	return cfg.FormatDSN()
}

// URL returns a mysql://user:password@host:port/dbname URL (the form
// sitrep's --dsn flags take) for user (default root).
func (s *Server) URL(user, password, dbname string) string {
	if user == "" {
		user = "root"
	}
	u := url.URL{Scheme: "mysql", Host: net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), Path: "/" + dbname}
	if password != "" {
		u.User = url.UserPassword(user, password)
	} else {
		u.User = url.User(user)
	}
	return u.String()
}

// Socket is the path of the server's unix socket.
func (s *Server) Socket() string { return filepath.Join(s.Dir, "run", "mysqld.sock") }

// LogFile is the path of the server's error log.
func (s *Server) LogFile() string { return filepath.Join(s.Dir, "mariadbd.log") }

// CreateDatabase creates database name unless it exists and returns its DSN.
func (s *Server) CreateDatabase(t testing.TB, name string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Exec(t, "CREATE DATABASE IF NOT EXISTS `"+strings.ReplaceAll(name, "`", "``")+"`")
	return s.DSN(name)
}

// Exec runs query as root and fails the test on error. Use it for set-up
// such as CREATE USER.
func (s *Server) Exec(t testing.TB, query string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("mysql", s.DSN(""))
	if err != nil {
		t.Fatalf("mariadb: open: %v", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, query, args...); err != nil {
		t.Fatalf("mariadb: %s: %v", query, err)
	}
}

// Start initialises a data directory, starts the server and registers its
// shutdown with t.Cleanup. It skips the test when MariaDB is not installed
// (fails under CI=true).
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	var err error
	if opts.Mariadbd, err = findBin(opts.Mariadbd, os.Getenv("SITREP_MARIADBD"), "mariadbd", "mysqld"); err == nil {
		opts.InstallDB, err = findBin(opts.InstallDB, "", "mariadb-install-db", "mysql_install_db")
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mariadb: %v (CI=true: run scripts/install-deps.sh)", err)
		}
		t.Skipf("mariadb: %v; skipping (install with scripts/install-deps.sh)", err)
	}
	if opts.MaxConnections <= 0 {
		opts.MaxConnections = 20
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}

	dir := t.TempDir()
	cred, err := serverCredential()
	if err != nil {
		t.Fatalf("mariadb: %v", err)
	}
	if cred != nil {
		for _, d := range []string{filepath.Dir(dir), dir} {
			if err := os.Chmod(d, 0o711); err != nil {
				t.Fatalf("mariadb: %v", err)
			}
		}
	}
	for _, sub := range []string{"data", "run"} {
		p := filepath.Join(dir, sub)
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatalf("mariadb: %v", err)
		}
		if cred != nil {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				t.Fatalf("mariadb: %v", err)
			}
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), opts.StartTimeout)
	defer cancel()

	install := exec.CommandContext(ctx, opts.InstallDB, "--no-defaults",
		"--datadir="+filepath.Join(dir, "data"),
		"--auth-root-authentication-method=normal",
		"--skip-test-db",
		"--innodb-log-file-size=8M")
	install.Env = serverEnv()
	install.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("mariadb: mariadb-install-db: %v\n%s", err, out)
	}

	s := &Server{Host: "127.0.0.1", Dir: dir}
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("mariadb: %v", err)
		}
		s.Port = port
		err = s.start(ctx, cred, opts)
		if err == nil {
			break
		}
		tail := s.logTail()
		if attempt < 4 && (strings.Contains(tail, "Address already in use") || strings.Contains(tail, "Can't start server: Bind")) {
			continue
		}
		t.Fatalf("mariadb: %v\nserver log:\n%s", err, tail)
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("mariadb: server log (%s):\n%s", s.LogFile(), s.logTail())
		}
	})
	return s
}

func (s *Server) start(ctx context.Context, cred *syscall.Credential, opts Options) error {
	args := []string{
		"--no-defaults",
		"--datadir=" + filepath.Join(s.Dir, "data"),
		"--socket=" + s.Socket(),
		"--pid-file=" + filepath.Join(s.Dir, "run", "mysqld.pid"),
		"--tmpdir=" + filepath.Join(s.Dir, "run"),
		"--port=" + strconv.Itoa(s.Port),
		"--bind-address=127.0.0.1",
		"--skip-name-resolve",
		"--max-connections=" + strconv.Itoa(opts.MaxConnections),
		// Throwaway data: keep it small and fast on a shared machine.
		"--innodb-buffer-pool-size=16M",
		"--innodb-log-file-size=8M",
		"--innodb-flush-log-at-trx-commit=0",
		"--skip-log-bin",
		"--performance-schema=OFF",
	}
	keys := make([]string, 0, len(opts.Settings))
	for k := range opts.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "--"+k+"="+opts.Settings[k])
	}
	logf, err := os.OpenFile(s.LogFile(), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open server log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(opts.Mariadbd, args...)
	cmd.Env = serverEnv()
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start mariadbd: %w", err)
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()

	// root@localhost exists after install; with --skip-name-resolve TCP
	// clients are 127.0.0.1, so give root that host too, over the socket.
	sockCfg := mysql.NewConfig()
	sockCfg.User = "root"
	sockCfg.Net = "unix"
	sockCfg.Addr = s.Socket()
	sockCfg.Timeout = 2 * time.Second
	var lastErr error
	for {
		if lastErr = s.setupRoot(ctx, sockCfg.FormatDSN()); lastErr == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("mariadbd exited during start-up: %v", s.waitErr)
		case <-ctx.Done():
			s.stop()
			return fmt.Errorf("mariadbd not ready on %s:%d: %w", s.Host, s.Port, lastErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Server) setupRoot(ctx context.Context, sockDSN string) error {
	db, err := sql.Open("mysql", sockDSN)
	if err != nil {
		return err
	}
	defer db.Close()
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, q := range []string{
		"CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'",
		"GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION",
	} {
		if _, err := db.ExecContext(cctx, q); err != nil {
			return err
		}
	}
	tcp, err := sql.Open("mysql", s.DSN(""))
	if err != nil {
		return err
	}
	defer tcp.Close()
	return tcp.QueryRowContext(cctx, "SELECT VERSION()").Scan(&s.Version)
}

// stop shuts the server down with SIGTERM (a clean shutdown), then SIGKILL.
func (s *Server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return
	case <-time.After(30 * time.Second):
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
	}
}

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

func findBin(explicit, env string, names ...string) (string, error) {
	for _, p := range []string{explicit, env} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s: %w", p, err)
		}
		return p, nil
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
		for _, d := range []string{"/usr/sbin", "/usr/bin", "/usr/local/bin"} {
			p := filepath.Join(d, n)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
	}
	return "", errors.New(strings.Join(names, "/") + " not found in $PATH or /usr/sbin")
}

func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"mysql", "nobody"} {
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
	return nil, errors.New("running as root and neither a mysql nor a nobody user exists to run the server as")
}

func serverEnv() []string {
	return []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "LANG=C", "TZ=UTC", "HOME=/nonexistent"}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
