package dbhealth

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
)

// Engine names the database family a DSN points at.
type Engine string

// Engines sitrep can check. MariaDB and MySQL share the mysql:// scheme;
// which one answered is known only after connecting (Snapshot.Engine).
const (
	EnginePostgres Engine = "postgresql"
	EngineMySQL    Engine = "mysql"
	EngineMariaDB  Engine = "mariadb"
)

// Target is a parsed --dsn: the engine family, the driver configuration and
// a printable form without the password.
type Target struct {
	// Engine is EnginePostgres or EngineMySQL (MariaDB included).
	Engine Engine
	// Addr is host:port (or the socket path), for messages.
	Addr string
	// User and Database as given in the DSN (may be empty).
	User     string
	Database string

	pg    *pgx.ConnConfig
	mysql *mysql.Config
}

// String is the DSN without its password, e.g.
// "postgresql://app@127.0.0.1:5432/shop".
func (t *Target) String() string {
	u := url.URL{Scheme: string(t.Engine), Host: t.Addr, Path: "/" + t.Database}
	if t.User != "" {
		u.User = url.User(t.User)
	}
	if strings.HasPrefix(t.Addr, "/") {
		// A unix socket: spelled the way each family's DSN takes it.
		u.Host = ""
		q := url.Values{"socket": {t.Addr}}
		if t.Engine == EnginePostgres {
			q = url.Values{"host": {t.Addr}, "port": {fmt.Sprint(t.pg.Port)}}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

const dsnHelp = "use postgres://user:password@host:5432/dbname or mysql://user:password@host:3306/dbname"

// ParseDSN parses a --dsn value: postgres:// or postgresql:// URLs (every
// option libpq/pgx accepts, e.g. ?sslmode=require) and mysql:// or
// mariadb:// URLs of the form mysql://user:password@host:port/dbname?param=value,
// where params are go-sql-driver/mysql's (tls=true, …) and socket=/path
// connects through a unix socket instead of TCP.
func ParseDSN(dsn string) (*Target, error) {
	dsn = strings.TrimSpace(dsn)
	if dsn == "" {
		return nil, errors.New("--dsn is empty: " + dsnHelp)
	}
	scheme, _, ok := strings.Cut(dsn, "://")
	if !ok {
		return nil, fmt.Errorf("--dsn has no scheme: %s", dsnHelp)
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		return parsePostgres(dsn)
	case "mysql", "mariadb":
		return parseMySQL(dsn)
	default:
		return nil, fmt.Errorf("--dsn scheme %q is not supported: %s", scheme, dsnHelp)
	}
}

func parsePostgres(dsn string) (*Target, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx masks the password in its parse errors.
		return nil, fmt.Errorf("parse --dsn: %w (%s)", err, dsnHelp)
	}
	t := &Target{Engine: EnginePostgres, User: cfg.User, Database: cfg.Database, pg: cfg}
	if strings.HasPrefix(cfg.Host, "/") {
		t.Addr = cfg.Host
	} else {
		t.Addr = net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port))
	}
	return t, nil
}

func parseMySQL(dsn string) (*Target, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse --dsn: %s", redactURLError(err))
	}
	if u.Opaque != "" {
		return nil, fmt.Errorf("parse --dsn: want mysql://user:password@host:port/dbname: %s", dsnHelp)
	}
	q := u.Query()
	socket := q.Get("socket")
	q.Del("socket")

	var addr, netw string
	switch {
	case socket != "":
		if !strings.HasPrefix(socket, "/") {
			return nil, fmt.Errorf("--dsn socket=%q: want an absolute path to the server's unix socket", socket)
		}
		netw, addr = "unix", socket
	case u.Host == "":
		return nil, fmt.Errorf("--dsn has no host: %s", dsnHelp)
	default:
		host, port := u.Hostname(), u.Port()
		if host == "" {
			return nil, fmt.Errorf("--dsn has no host: %s", dsnHelp)
		}
		if port == "" {
			port = "3306"
		}
		netw, addr = "tcp", net.JoinHostPort(host, port)
	}
	if strings.ContainsAny(addr, "()") {
		return nil, fmt.Errorf("--dsn address %q contains parentheses", addr)
	}
	db := strings.TrimPrefix(u.Path, "/")
	if strings.Contains(db, "/") {
		return nil, fmt.Errorf("--dsn database name %q contains a slash: %s", db, dsnHelp)
	}
	// Let the driver parse its own options (tls, charset, …), with the
	// address in place so that tls=true verifies the right host name.
	cfg, err := mysql.ParseDSN(netw + "(" + addr + ")/?" + q.Encode())
	if err != nil {
		return nil, fmt.Errorf("--dsn options: %w", err)
	}
	cfg.DBName = db
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	if cfg.User == "" {
		return nil, fmt.Errorf("--dsn has no user name: %s", dsnHelp)
	}
	return &Target{Engine: EngineMySQL, Addr: addr, User: cfg.User, Database: db, mysql: cfg}, nil
}

// redactURLError drops the URL from a url.Parse error: it may hold a
// password.
func redactURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return "malformed URL"
}
