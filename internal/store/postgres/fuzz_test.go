package postgres

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzRedact: whatever a user passes as --db, the redacted form shown in
// messages carries no password. Seeds live in testdata/fuzz/FuzzRedact.
func FuzzRedact(f *testing.F) {
	f.Add("postgres://sitrep:hunter2@db.internal:5432/sitrep?sslmode=require")
	f.Fuzz(func(t *testing.T, dsn string) {
		r := Redact(dsn)
		if r == "(connection string)" {
			return
		}
		u, err := url.Parse(r)
		if err != nil {
			t.Fatalf("Redact(%q) = %q, which does not parse: %v", dsn, r, err)
		}
		if p, ok := u.User.Password(); ok && p != "xxxxx" {
			t.Fatalf("Redact(%q) = %q keeps password %q", dsn, r, p)
		}
		for k, vs := range u.Query() {
			if strings.EqualFold(k, "password") {
				for _, v := range vs {
					if v != "xxxxx" {
						t.Fatalf("Redact(%q) = %q keeps password parameter %q", dsn, r, v)
					}
				}
			}
		}
	})
}
