// Package audit lists DNS records of production endpoints whose TTL exceeds
// a policy, with the risk in words: how long a switch of the record would
// strand clients on caching resolvers.
package audit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"

	dnsprobe "github.com/sitrep-dev/sitrep/internal/probe/dns"
)

// DefaultMaxTTL is the default policy: 300 s.
const DefaultMaxTTL = 300

// endpointTypes are the record types that send clients to an endpoint.
var endpointTypes = map[string]bool{
	"A": true, "AAAA": true, "CNAME": true, "SRV": true, "HTTPS": true, "SVCB": true, "MX": true,
}

// IsEndpointType reports whether records of type t route clients to an
// endpoint (and so are audited).
func IsEndpointType(t string) bool { return endpointTypes[strings.ToUpper(t)] }

// Record is one record set to audit.
type Record struct {
	Name   string   `json:"name"`
	Type   string   `json:"type"`
	TTL    uint32   `json:"ttl"`
	Values []string `json:"values"`
	// Source says where the record came from: "zone.db:12" or the server
	// that answered.
	Source string `json:"source,omitempty"`
}

// Finding is a record set whose TTL exceeds the policy.
type Finding struct {
	Record
	MaxTTL uint32 `json:"max_ttl"`
	// Risk says what the TTL means for a switch, in words.
	Risk string `json:"risk"`
	// Fix says what to do.
	Fix string `json:"fix"`
}

// Report is the outcome of an audit.
type Report struct {
	MaxTTL uint32 `json:"max_ttl"`
	// Checked counts the endpoint record sets looked at.
	Checked  int       `json:"checked"`
	Findings []Finding `json:"findings"`
	// Errors lists names that could not be looked up.
	Errors []string `json:"errors,omitempty"`
}

// Audit returns the endpoint record sets of records whose TTL exceeds
// maxTTL, longest TTL first. Records of other types are ignored.
func Audit(records []Record, maxTTL uint32) *Report {
	rep := &Report{MaxTTL: maxTTL, Findings: []Finding{}}
	for _, r := range records {
		if !IsEndpointType(r.Type) {
			continue
		}
		rep.Checked++
		if r.TTL <= maxTTL {
			continue
		}
		rep.Findings = append(rep.Findings, Finding{Record: r, MaxTTL: maxTTL, Risk: Risk(r.TTL), Fix: Fix(r.TTL, maxTTL)})
	}
	sort.SliceStable(rep.Findings, func(i, j int) bool {
		a, b := rep.Findings[i], rep.Findings[j]
		if a.TTL != b.TTL {
			return a.TTL > b.TTL
		}
		return a.Name+a.Type < b.Name+b.Type
	})
	return rep
}

// Risk says in words what a TTL means for a switch of the record.
func Risk(ttl uint32) string {
	return fmt.Sprintf("a switch of this record strands clients for up to %s: caching resolvers keep the old answer that long, and nobody can flush them",
		spoken(ttl))
}

// Fix says what to do about a TTL above the policy.
func Fix(ttl, maxTTL uint32) string {
	return fmt.Sprintf("lower the TTL to %s; before a switch, lower it to 60 s at least %s ahead (sitrep dns plan)",
		spoken(maxTTL), spoken(max(ttl, 48*3600)))
}

// spoken renders seconds for a sentence: "24 h", "5 min", "45 s", "2 days".
func spoken(s uint32) string {
	d := time.Duration(s) * time.Second
	switch {
	case s < 60:
		return fmt.Sprintf("%d s", s)
	case s < 3600:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", d.Minutes()), ".0") + " min"
	case s <= 2*86400:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", d.Hours()), ".0") + " h"
	default:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", d.Hours()/24), ".0") + " days"
	}
}

// ParseZone reads the record sets of a zone file in RFC 1035 format.
// origin is the zone's name when the file has no $ORIGIN (may be empty).
// Errors name the file and line.
func ParseZone(r io.Reader, file, origin string) ([]Record, error) {
	if origin != "" {
		origin = dns.Fqdn(origin)
	}
	zp := dns.NewZoneParser(r, origin, file)
	zp.SetIncludeAllowed(false)
	type key struct{ name, typ string }
	idx := map[key]int{}
	var out []Record
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		h := rr.Header()
		k := key{dns.CanonicalName(h.Name), dns.TypeToString[h.Rrtype]}
		v := strings.TrimSpace(strings.TrimPrefix(rr.String(), h.String()))
		if i, seen := idx[k]; seen {
			out[i].Values = append(out[i].Values, v)
			// Resolvers cache an RRset for its lowest TTL; the policy cares
			// about the longest one a record can be held for.
			out[i].TTL = max(out[i].TTL, h.Ttl)
			continue
		}
		idx[k] = len(out)
		out = append(out, Record{Name: k.name, Type: k.typ, TTL: h.Ttl, Values: []string{v}, Source: file})
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("zone file: %w (check the line named; records need a name, TTL or $TTL, class and type)", err)
	}
	return out, nil
}

// Name is one entry of a names file: a name and the record types to look up.
type Name struct {
	Name  string
	Types []string
	Line  int
}

// ParseNames reads a names file: one name per line, optionally followed by
// record types ("api.example.com A AAAA"); '#' starts a comment. Without
// types, A, AAAA and CNAME are looked up.
func ParseNames(r io.Reader, file string) ([]Name, error) {
	var out []Name
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64*1024)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		f := strings.Fields(text)
		if len(f) == 0 {
			continue
		}
		name := dns.CanonicalName(f[0])
		if _, ok := dns.IsDomainName(name); !ok || strings.Contains(f[0], "..") || name == "." {
			return nil, fmt.Errorf("%s:%d: %q is not a domain name", file, line, f[0])
		}
		n := Name{Name: name, Line: line}
		for _, t := range f[1:] {
			t = strings.ToUpper(t)
			if _, ok := dns.StringToType[t]; !ok {
				return nil, fmt.Errorf("%s:%d: %q is not a record type (A, AAAA, CNAME …)", file, line, t)
			}
			n.Types = append(n.Types, t)
		}
		if len(n.Types) == 0 {
			n.Types = []string{"A", "AAAA", "CNAME"}
		}
		out = append(out, n)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%s:%d: line longer than 64 KiB", file, line+1)
		}
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	return out, nil
}

// LookupOptions say where to look names up.
type LookupOptions struct {
	// Resolver is asked to find each name's authoritative servers.
	Resolver string
	// Authority overrides the authoritative servers (host:port).
	Authority []string
}

// Lookup asks the authoritative servers of each name for its records, so
// that the TTLs are the configured ones, not a cache's remaining time. When
// no authority can be found the resolver's answer is used and marked so.
func Lookup(ctx context.Context, c *dnsprobe.Client, names []Name, opts LookupOptions) ([]Record, []string) {
	var out []Record
	var errs []string
	seen := map[string]bool{}
	add := func(r Record) {
		if k := r.Name + " " + r.Type; !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	for _, n := range names {
		servers := opts.Authority
		source := "authority "
		if len(servers) == 0 {
			_, addrs, err := c.FindAuthority(ctx, n.Name, opts.Resolver)
			if err != nil || len(addrs) == 0 {
				servers, source = []string{opts.Resolver}, "resolver (remaining TTL, may be lower than configured) "
			} else {
				servers = addrs[:1]
			}
		}
		for _, t := range n.Types {
			qtype := dns.StringToType[t]
			res := c.Resolve(ctx, servers[0], n.Name, qtype, source != "authority ")
			switch {
			case res.OK():
				// For a name that is a CNAME, the chain's first link is the
				// record a switch would change.
				if len(res.Chain) > 0 && qtype != dns.TypeCNAME {
					c0 := res.Chain[0]
					add(Record{Name: n.Name, Type: "CNAME", TTL: c0.TTL, Values: []string{c0.Value}, Source: source + servers[0]})
					continue
				}
				add(Record{Name: n.Name, Type: t, TTL: res.TTL, Values: res.Values, Source: source + servers[0]})
			case res.ErrorKind == dnsprobe.ErrKindNoData, res.ErrorKind == dnsprobe.ErrKindNXDomain && t != n.Types[0]:
			default:
				errs = append(errs, fmt.Sprintf("%s %s (names file line %d): %s", n.Name, t, n.Line, res.Error))
			}
		}
	}
	return out, errs
}
