package audit

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	dnsprobe "github.com/sitrep-dev/sitrep/internal/probe/dns"
	"github.com/sitrep-dev/sitrep/internal/probe/dns/dnstest"
)

func TestAuditZoneFile(t *testing.T) {
	f, err := os.Open("testdata/shop.example.zone")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := ParseZone(f, "shop.example.zone", "")
	if err != nil {
		t.Fatal(err)
	}
	rep := Audit(recs, 300)
	var got []string
	for _, fd := range rep.Findings {
		got = append(got, fd.Name+" "+fd.Type+" "+strings.Join(fd.Values, ","))
	}
	want := []string{
		"www.shop.example. A 203.0.113.10,203.0.113.11",
		"cdn.shop.example. CNAME shop.cdn.example.net.",
		"ns1.shop.example. A 192.0.2.53",
		"shop.example. MX 10 mail.shop.example.",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rep.Checked != 7 {
		t.Errorf("checked %d endpoint record sets, want 7 (A, CNAME, MX; not SOA, NS, TXT)", rep.Checked)
	}
	if r := rep.Findings[0].Risk; !strings.Contains(r, "strands clients for up to 24 h") {
		t.Errorf("risk: %s", r)
	}
	if fx := rep.Findings[0].Fix; !strings.Contains(fx, "at least 48 h ahead") {
		t.Errorf("fix: %s", fx)
	}
}

func TestParseZoneError(t *testing.T) {
	f, _ := os.Open("testdata/bad.zone")
	defer f.Close()
	_, err := ParseZone(f, "bad.zone", "")
	if err == nil || !strings.Contains(err.Error(), "bad.zone") || !strings.Contains(err.Error(), "line: 3") {
		t.Fatalf("want an error naming bad.zone line 3, got %v", err)
	}
}

func TestSpoken(t *testing.T) {
	for s, want := range map[uint32]string{30: "30 s", 300: "5 min", 5400: "1.5 h", 86400: "24 h", 604800: "7 days"} {
		if got := spoken(s); got != want {
			t.Errorf("spoken(%d) = %q, want %q", s, got, want)
		}
	}
}

func TestParseNames(t *testing.T) {
	f, _ := os.Open("testdata/names.txt")
	defer f.Close()
	names, err := ParseNames(f, "names.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 3 || names[0].Name != "www.shop.example." || len(names[0].Types) != 3 ||
		strings.Join(names[2].Types, ",") != "A,AAAA" || names[2].Line != 4 {
		t.Fatalf("%+v", names)
	}
	for in, want := range map[string]string{
		"www.example\nbad..name\n": "n.txt:2: \"bad..name\" is not a domain name",
		"www.example NOPE\n":       "n.txt:1: \"NOPE\" is not a record type",
	} {
		if _, err := ParseNames(strings.NewReader(in), "n.txt"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", in, err, want)
		}
	}
}

// TestLookupRealAuthority looks the names up live at a real NSD on loopback:
// the TTLs are the configured ones.
func TestLookupRealAuthority(t *testing.T) {
	nsd := dnstest.StartNSD(t, "shop.example.", dnstest.Zone("shop.example.", 1,
		"www 86400 IN A 203.0.113.10", "api 300 IN CNAME lb", "lb 60 IN A 198.51.100.20"))
	f, _ := os.Open("testdata/names.txt")
	defer f.Close()
	names, err := ParseNames(f, "names.txt")
	if err != nil {
		t.Fatal(err)
	}
	c := dnsprobe.NewClient(dnsprobe.Options{Timeout: time.Second})
	recs, errs := Lookup(context.Background(), c, names, LookupOptions{Authority: []string{nsd.Addr}})
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	rep := Audit(recs, 300)
	if len(rep.Findings) != 1 || rep.Findings[0].Name != "www.shop.example." || rep.Findings[0].TTL != 86400 {
		t.Fatalf("findings: %+v (records %+v)", rep.Findings, recs)
	}
	if rep.Checked != 3 {
		t.Errorf("checked %d, want 3 (www A, api CNAME, lb A)", rep.Checked)
	}
}

// FuzzParseNames checks that no names file crashes the reader.
func FuzzParseNames(f *testing.F) {
	f.Add("www.example.com\napi.example.com A AAAA # lb\n")
	f.Add("# only a comment\n\n")
	f.Add("bad..name\n")
	f.Fuzz(func(t *testing.T, s string) {
		names, err := ParseNames(strings.NewReader(s), "fuzz.txt")
		if err != nil {
			return
		}
		for _, n := range names {
			if n.Name == "" || len(n.Types) == 0 || n.Line < 1 {
				t.Fatalf("bad entry %+v", n)
			}
		}
	})
}

// FuzzParseZone checks that no zone file crashes the audit's reader.
func FuzzParseZone(f *testing.F) {
	b, _ := os.ReadFile("testdata/shop.example.zone")
	f.Add(string(b))
	f.Add("$ORIGIN x.\n@ 1 IN A 192.0.2.1\n")
	f.Fuzz(func(t *testing.T, s string) {
		recs, err := ParseZone(strings.NewReader(s), "fuzz.zone", "fuzz.example.")
		if err != nil {
			return
		}
		Audit(recs, 300)
	})
}
