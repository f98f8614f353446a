package dbhealth

import (
	"strings"
	"testing"
)

func TestParseDSN(t *testing.T) {
	for _, tc := range []struct {
		dsn                 string
		engine              Engine
		addr, user, db, str string
		mysqlNet, password  string
	}{
		{dsn: "postgres://app:s3cret@db.internal:6543/shop?sslmode=disable", engine: EnginePostgres,
			addr: "db.internal:6543", user: "app", db: "shop", str: "postgresql://app@db.internal:6543/shop", password: "s3cret"},
		{dsn: "postgresql://app@127.0.0.1/shop?sslmode=disable", engine: EnginePostgres,
			addr: "127.0.0.1:5432", user: "app", db: "shop", str: "postgresql://app@127.0.0.1:5432/shop"},
		{dsn: "mysql://root:p%40ss@127.0.0.1:3307/shop?tls=false", engine: EngineMySQL,
			addr: "127.0.0.1:3307", user: "root", db: "shop", str: "mysql://root@127.0.0.1:3307/shop", mysqlNet: "tcp", password: "p@ss"},
		{dsn: "mysql://app@db.internal/", engine: EngineMySQL,
			addr: "db.internal:3306", user: "app", db: "", str: "mysql://app@db.internal:3306/", mysqlNet: "tcp"},
		{dsn: "mariadb://app:x@[::1]:3306/shop", engine: EngineMySQL,
			addr: "[::1]:3306", user: "app", db: "shop", str: "mysql://app@[::1]:3306/shop", mysqlNet: "tcp", password: "x"},
		{dsn: "mysql://root@localhost/shop?socket=/run/mysqld/mysqld.sock", engine: EngineMySQL,
			addr: "/run/mysqld/mysqld.sock", user: "root", db: "shop", str: "mysql://root@/shop?socket=%2Frun%2Fmysqld%2Fmysqld.sock", mysqlNet: "unix"},
	} {
		t.Run(tc.dsn, func(t *testing.T) {
			got, err := ParseDSN(tc.dsn)
			if err != nil {
				t.Fatal(err)
			}
			if got.Engine != tc.engine || got.Addr != tc.addr || got.User != tc.user || got.Database != tc.db {
				t.Errorf("got %s %s %s %s, want %s %s %s %s", got.Engine, got.Addr, got.User, got.Database, tc.engine, tc.addr, tc.user, tc.db)
			}
			if s := got.String(); s != tc.str {
				t.Errorf("String() = %q, want %q", s, tc.str)
			}
			if tc.mysqlNet != "" {
				if got.mysql.Net != tc.mysqlNet || got.mysql.Passwd != tc.password || got.mysql.DBName != tc.db {
					t.Errorf("driver config net=%s passwd=%q db=%q", got.mysql.Net, got.mysql.Passwd, got.mysql.DBName)
				}
			} else if got.pg.Password != tc.password {
				t.Errorf("pg password %q, want %q", got.pg.Password, tc.password)
			}
		})
	}
}

func TestParseDSNErrors(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"", "--dsn is empty"},
		{"host=db user=app", "--dsn has no scheme"},
		{"oracle://db/x", `--dsn scheme "oracle" is not supported: use postgres://`},
		{"mysql:///shop", "--dsn has no host"},
		{"mysql://db.internal/shop", "--dsn has no user name"},
		{"mysql://app:pw@db/a/b", "contains a slash"},
		{"mysql://app@db/shop?socket=relative.sock", "want an absolute path"},
		{"mysql://app@db/shop?tls=maybe", "--dsn options"},
		{"mysql://app:hunter2@db:notaport/shop", "parse --dsn"},
		{"postgres://app:hunter2@db:notaport/shop", "parse --dsn"},
	} {
		t.Run(tc.dsn, func(t *testing.T) {
			_, err := ParseDSN(tc.dsn)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}

// FuzzParseDSN: any input either parses or errors, never panics, and the
// printable form never carries the password.
func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{
		"postgres://app:s3cret@db.internal:6543/shop?sslmode=disable",
		"mysql://root:p%40ss@127.0.0.1:3307/shop?tls=false",
		"mysql://root@localhost/shop?socket=/run/mysqld/mysqld.sock",
		"mariadb://app:x@[::1]:3306/shop",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		tg, err := ParseDSN(dsn)
		if err != nil {
			return
		}
		if tg.Engine != EnginePostgres && tg.Engine != EngineMySQL {
			t.Fatalf("engine %q", tg.Engine)
		}
		pw := ""
		if tg.mysql != nil {
			pw = tg.mysql.Passwd
			if tg.Addr == "" || tg.mysql.User == "" {
				t.Fatalf("mysql target without address or user: %+v", tg)
			}
		} else if tg.pg != nil {
			pw = tg.pg.Password
		}
		if len(pw) >= 4 && strings.Contains(tg.String(), ":"+pw+"@") {
			t.Fatalf("String() %q leaks the password", tg.String())
		}
	})
}
