package dnsops_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/cli"
	"github.com/sitrep-dev/sitrep/internal/probe/dns/dnstest"
)

// run runs the sitrep CLI in-process and returns its exit code and output.
func run(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), args, strings.NewReader(""), &out, &errb)
	if errb.Len() > 0 && code != 0 && out.Len() == 0 {
		t.Logf("stderr: %s", errb.String())
	}
	return code, out.String()
}

// TestMigrationScenarioCLI drives `sitrep dns check` and `sitrep dns guard`
// against real servers on loopback (NSD authoritative for shop.example.,
// unbound caching in front of it) through the classic migration: the record
// is cached, switched at the authority, and both commands report the
// resolver as stale — with the remaining TTL — and refuse until the cache
// runs out; then both pass.
func TestMigrationScenarioCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real servers and waits for a cache to expire")
	}
	const ttl = 7
	nsd := dnstest.StartNSD(t, "shop.example.", dnstest.Zone("shop.example.", 1, fmt.Sprintf("www %d IN A 192.0.2.10", ttl)))
	ub := dnstest.StartUnbound(t, nsd.Zone, nsd.Addr)
	resolver := "--resolver=cache=" + ub.Addr
	authority := "--authority=" + nsd.Addr

	// Fill the cache, then switch the record at the authority.
	if code, out := run(t, "dns", "check", "www.shop.example", resolver, authority); code != 0 || !strings.Contains(out, "192.0.2.10") {
		t.Fatalf("before the switch: exit %d\n%s", code, out)
	}
	cached := time.Now()
	nsd.SetZone(dnstest.Zone("shop.example.", 2, fmt.Sprintf("www %d IN A 192.0.2.20", ttl)))

	// An access log of the old endpoint whose last request is two hours
	// old: only the cache holds the guard back.
	logPath := filepath.Join(t.TempDir(), "old-lb.access.log")
	ts := time.Now().UTC().Add(-2 * time.Hour).Format("02/Jan/2006:15:04:05 -0700")
	os.WriteFile(logPath, []byte(`198.51.100.7 - - [`+ts+`] "GET /api/cart HTTP/1.1" 200 512 "-" "curl/8.5"`+"\n"), 0o644)

	code, out := run(t, "dns", "check", "www.shop.example", resolver, authority, "--expect", "192.0.2.20", "-o", "json")
	if code != 1 {
		t.Fatalf("check of a stale cache: exit %d, want 1\n%s", code, out)
	}
	var rep struct {
		Resolvers []struct {
			Status    string   `json:"status"`
			Values    []string `json:"values"`
			ExpiresIn *float64 `json:"expires_in"`
		} `json:"resolvers"`
		Stale int `json:"stale"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("check -o json: %v\n%s", err, out)
	}
	want := ttl - time.Since(cached).Seconds()
	r := rep.Resolvers[0]
	if rep.Stale != 1 || r.Status != "stale" || r.Values[0] != "192.0.2.10" || r.ExpiresIn == nil || *r.ExpiresIn < want-1.5 || *r.ExpiresIn > want+1 {
		t.Fatalf("want cache stale for %.1f ± 1 s more:\n%s", want, out)
	}

	guard := []string{"dns", "guard", "--old", "192.0.2.10", "--name", "www.shop.example", "--expect", "192.0.2.20", resolver, authority, "--log", logPath}
	code, out = run(t, guard...)
	if code != 1 || !strings.Contains(out, "REFUSE") || !strings.Contains(out, "1 of 1 resolvers still return 192.0.2.10") {
		t.Fatalf("guard while the cache holds the old address: exit %d\n%s", code, out)
	}

	// Both clear once the cache runs out, and not before.
	deadline := cached.Add((ttl + 5) * time.Second)
	for {
		code, out = run(t, "dns", "check", "www.shop.example", resolver, authority, "--expect", "192.0.2.20")
		if code == 0 {
			if el := time.Since(cached); el < (ttl-1)*time.Second {
				t.Fatalf("check cleared after %v, before the %d s TTL ran out\n%s", el, ttl, out)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("check still failing %v after caching:\n%s", time.Since(cached), out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, out = run(t, guard...); code != 0 || !strings.Contains(out, "OK: decommission 192.0.2.10") {
		t.Fatalf("guard after the cache ran out: exit %d\n%s", code, out)
	}
}

// TestCLIUsageErrors: bad input gives a clear error and a non-zero exit.
func TestCLIUsageErrors(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(cfg, []byte("resolvers:\n  default:\n    - eu=127.0.0.1:notaport\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"dns", "check", "www.example", "--resolver", "eu="}, "--resolver"},
		{[]string{"dns", "check", "www.example", "--config", cfg}, "config.yaml:3: resolvers.default"},
		{[]string{"dns", "check", "www.example", "--type", "NOPE", "--resolver", "127.0.0.1"}, "--type"},
		{[]string{"dns", "audit"}, "exactly one of --zone"},
		{[]string{"dns", "plan", "www.example"}, "--to"},
		{[]string{"dns", "plan", "www.example", "--to", "192.0.2.1", "--at", "tomorrow"}, "--at"},
		{[]string{"dns", "guard", "--old", "192.0.2.1"}, "nothing to check"},
	} {
		var out, errb bytes.Buffer
		code := cli.Main(context.Background(), tc.args, strings.NewReader(""), &out, &errb)
		if code == 0 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want an error mentioning %q", tc.args, code, errb.String(), tc.want)
		}
	}
}
