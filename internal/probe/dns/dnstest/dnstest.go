// Package dnstest starts real DNS servers on loopback for tests: NSD as the
// authoritative server of a test zone and unbound as a caching resolver in
// front of it. It is imported by tests only.
package dnstest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// need returns the path of a server binary, skipping the test when it is
// missing (failing under CI=true, where scripts/install-deps.sh must have
// installed it).
func need(t testing.TB, name string) string {
	t.Helper()
	for _, p := range []string{name, "/usr/sbin/" + name} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed (run scripts/install-deps.sh)", name)
	}
	t.Skipf("%s is not installed; skipping the real-server test", name)
	return ""
}

// FreePort returns a loopback port that is free for both UDP and TCP.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 50 {
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		port := tl.Addr().(*net.TCPAddr).Port
		ul, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		tl.Close()
		if err != nil {
			continue
		}
		ul.Close()
		return port
	}
	t.Fatal("no free loopback port for UDP and TCP")
	return 0
}

// NSD is a running NSD serving one zone on loopback.
type NSD struct {
	// Addr is host:port of the server.
	Addr string
	// Zone is the zone's name, fully qualified.
	Zone string

	t       testing.TB
	dir     string
	conf    string
	control string
}

// StartNSD starts NSD authoritative for zone (fully qualified) with the zone
// file text, on a free loopback port. It is stopped when the test ends.
func StartNSD(t testing.TB, zone, zoneText string) *NSD {
	t.Helper()
	bin := need(t, "nsd")
	control := need(t, "nsd-control")
	dir := t.TempDir()
	port := FreePort(t)
	n := &NSD{Addr: fmt.Sprintf("127.0.0.1:%d", port), Zone: dns.Fqdn(zone), t: t, dir: dir, control: control}
	n.WriteZone(zoneText)
	n.conf = filepath.Join(dir, "nsd.conf")
	conf := fmt.Sprintf(`server:
  ip-address: 127.0.0.1@%[1]d
  port: %[1]d
  do-ip6: no
  username: ""
  chroot: ""
  zonesdir: "%[2]s"
  database: ""
  zonelistfile: "%[2]s/zone.list"
  xfrdfile: "%[2]s/xfrd.state"
  xfrdir: "%[2]s"
  pidfile: "%[2]s/nsd.pid"
  logfile: "%[2]s/nsd.log"
  server-count: 1
  verbosity: 1
  hide-version: yes
remote-control:
  control-enable: yes
  control-interface: "%[2]s/nsd.sock"
zone:
  name: "%[3]s"
  zonefile: "%[2]s/zone.db"
`, port, dir, n.Zone)
	if err := os.WriteFile(n.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, "nsd", exec.Command(bin, "-d", "-c", n.conf), filepath.Join(dir, "nsd.log"))
	waitAnswer(t, n.Addr, n.Zone, dns.TypeSOA)
	return n
}

// WriteZone replaces the zone file (call Reload to make NSD serve it).
func (n *NSD) WriteZone(zoneText string) {
	n.t.Helper()
	if err := os.WriteFile(filepath.Join(n.dir, "zone.db"), []byte(zoneText), 0o644); err != nil {
		n.t.Fatal(err)
	}
}

// SetZone rewrites the zone file and reloads it, waiting until NSD serves
// only the new SOA serial.
func (n *NSD) SetZone(zoneText string) {
	n.t.Helper()
	n.WriteZone(zoneText)
	out, err := exec.Command(n.control, "-c", n.conf, "reload", strings.TrimSuffix(n.Zone, ".")).CombinedOutput()
	if err != nil {
		n.t.Fatalf("nsd-control reload: %v: %s", err, out)
	}
	// A reload forks new server processes; the old ones answer from the
	// same socket until they have quit. The new serial once is not enough:
	// it must come back on every query of a run.
	const run = 20
	want := serialOf(n.t, zoneText)
	deadline := time.Now().Add(10 * time.Second)
	for seen := 0; time.Now().Before(deadline); {
		if s, ok := querySerial(n.Addr, n.Zone); ok && s == want {
			if seen++; seen == run {
				return
			}
			continue
		}
		seen = 0
		time.Sleep(20 * time.Millisecond)
	}
	n.t.Fatalf("nsd did not serve serial %d on %d queries in a row within 10 s", want, run)
}

// Unbound is a running unbound caching resolver on loopback.
type Unbound struct {
	// Addr is host:port of the resolver.
	Addr string
}

// StartUnbound starts unbound as a caching resolver whose only upstream is
// the authoritative server at authority (host:port) for zone; it refuses
// every other name, so nothing leaves loopback. It is stopped when the test
// ends.
//
// The stub is configured at the zone itself (not at a parent) because
// unbound caches the zone's NS records from the answers and would otherwise
// follow them to port 53, where nothing serves.
func StartUnbound(t testing.TB, zone, authority string) *Unbound {
	t.Helper()
	bin := need(t, "unbound")
	dir := t.TempDir()
	port := FreePort(t)
	host, aport, err := net.SplitHostPort(authority)
	if err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`server:
  interface: 127.0.0.1@%[1]d
  port: %[1]d
  do-ip6: no
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "%[2]s"
  pidfile: "%[2]s/unbound.pid"
  logfile: "%[2]s/unbound.log"
  use-syslog: no
  verbosity: 1
  num-threads: 1
  so-reuseport: no
  do-not-query-localhost: no
  module-config: "iterator"
  qname-minimisation: no
  prefetch: no
  serve-expired: no
  cache-min-ttl: 0
  access-control: 127.0.0.0/8 allow
  # Nothing may leave loopback: refuse every name outside the zone and send
  # the zone to the test's authoritative server.
  local-zone: "." refuse
  local-zone: "%[5]s" transparent
remote-control:
  control-enable: no
stub-zone:
  name: "%[5]s"
  stub-addr: %[3]s@%[4]s
`, port, dir, host, aport, dns.Fqdn(zone))
	cf := filepath.Join(dir, "unbound.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	u := &Unbound{Addr: fmt.Sprintf("127.0.0.1:%d", port)}
	startDaemon(t, "unbound", exec.Command(bin, "-d", "-c", cf), filepath.Join(dir, "unbound.log"))
	waitUp(t, u.Addr)
	return u
}

// startDaemon starts cmd and stops it when the test ends; on failure it
// prints the daemon's log.
func startDaemon(t testing.TB, name string, cmd *exec.Cmd, logfile string) {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			logText, _ := os.ReadFile(logfile)
			t.Logf("%s output:\n%s\n%s log:\n%s", name, out.String(), name, logText)
		}
	})
}

// waitAnswer polls until server answers name/qtype with NOERROR.
func waitAnswer(t testing.TB, server, name string, qtype uint16) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	for time.Now().Before(deadline) {
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		r, _, err := c.Exchange(m, server)
		if err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not answer %s within 10 s", server, name)
}

// waitUp polls until server answers any query at all.
func waitUp(t testing.TB, server string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	for time.Now().Before(deadline) {
		m := new(dns.Msg)
		m.SetQuestion("version.bind.", dns.TypeTXT)
		m.Question[0].Qclass = dns.ClassCHAOS
		if _, _, err := c.Exchange(m, server); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not come up within 10 s", server)
}

func querySerial(server, zone string) (uint32, bool) {
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	m := new(dns.Msg)
	m.SetQuestion(zone, dns.TypeSOA)
	r, _, err := c.Exchange(m, server)
	if err != nil || len(r.Answer) == 0 {
		return 0, false
	}
	soa, ok := r.Answer[0].(*dns.SOA)
	if !ok {
		return 0, false
	}
	return soa.Serial, true
}

func serialOf(t testing.TB, zoneText string) uint32 {
	zp := dns.NewZoneParser(strings.NewReader(zoneText), "", "zone.db")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if soa, isSOA := rr.(*dns.SOA); isSOA {
			return soa.Serial
		}
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("zone text: %v", err)
	}
	t.Fatal("zone text has no SOA")
	return 0
}

// Zone returns a zone file for zone with a SOA of serial, one NS, and the
// given extra record lines (relative or absolute names).
func Zone(zone string, serial uint32, records ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "$ORIGIN %s\n$TTL 300\n", dns.Fqdn(zone))
	fmt.Fprintf(&b, "@ 300 IN SOA ns1 hostmaster %s 3600 600 86400 5\n", strconv.FormatUint(uint64(serial), 10))
	b.WriteString("@ 300 IN NS ns1\nns1 300 IN A 127.0.0.1\n")
	for _, r := range records {
		b.WriteString(r + "\n")
	}
	return b.String()
}
