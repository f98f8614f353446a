package changes

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// rrset is the records of one name and type in a zone.
type rrset struct {
	name  string // canonical: lower case, fully qualified
	rtype uint16
	ttl   uint32 // the smallest TTL in the set: what a resolver caches
	data  []string
}

// skipTypes change on every zone edit or re-signing; reporting them would
// bury the real changes.
var skipTypes = map[uint16]bool{
	dns.TypeSOA: true, dns.TypeRRSIG: true, dns.TypeNSEC: true, dns.TypeNSEC3: true,
	dns.TypeNSEC3PARAM: true, dns.TypeZONEMD: true,
}

// maxZoneRecords bounds a zone's size.
const maxZoneRecords = 1_000_000

func parseZone(r io.Reader, origin, which string) (map[string]*rrset, error) {
	zp := dns.NewZoneParser(r, origin, which)
	zp.SetIncludeAllowed(false)
	sets := map[string]*rrset{}
	n := 0
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		n++
		if n > maxZoneRecords {
			return nil, fmt.Errorf("%s zone has more than %d records", which, maxZoneRecords)
		}
		h := rr.Header()
		if skipTypes[h.Rrtype] {
			continue
		}
		name := strings.ToLower(dns.CanonicalName(h.Name))
		key := name + "\x00" + dns.TypeToString[h.Rrtype]
		s, ok := sets[key]
		if !ok {
			s = &rrset{name: name, rtype: h.Rrtype, ttl: h.Ttl}
			sets[key] = s
		}
		if h.Ttl < s.ttl {
			s.ttl = h.Ttl
		}
		s.data = append(s.data, rdata(rr))
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("%s zone: %w", which, err)
	}
	for _, s := range sets {
		sort.Strings(s.data)
		s.data = dedupe(s.data)
	}
	return sets, nil
}

// rdata is the record's presentation form without its header.
func rdata(rr dns.RR) string {
	full := rr.String()
	hdr := rr.Header().String()
	if strings.HasPrefix(full, hdr) {
		return strings.TrimSpace(full[len(hdr):])
	}
	f := strings.Fields(full)
	if len(f) > 4 {
		return strings.Join(f[4:], " ")
	}
	return full
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// DiffZones compares two RFC 1035 zone files of the same zone and returns a
// dns change for every RRset (name and type) that was added, removed or
// changed, at time at:
//
//   - details name (without the trailing dot), type, old and new (the
//     record data; several records joined by ", "; "" when absent), ttl (the
//     TTL before the change: how long resolvers may keep serving the old
//     answer; absent for an added set) and new_ttl (absent for a removed
//     set), and action (add, remove, change);
//   - scope host=<name>;
//   - id dns-<name>-<type>-<unix time of at>.
//
// origin is the zone's origin for relative names ($ORIGIN in the files
// overrides it). SOA, RRSIG, NSEC, NSEC3, NSEC3PARAM and ZONEMD are ignored:
// they change with every edit or re-signing. $INCLUDE is refused. Errors name
// the zone (before or after) and the line.
func DiffZones(before, after io.Reader, origin string, at time.Time) ([]signal.Change, error) {
	if origin != "" {
		origin = dns.Fqdn(origin)
		if _, ok := dns.IsDomainName(origin); !ok {
			return nil, fmt.Errorf("origin %q is not a domain name", origin)
		}
	}
	old, err := parseZone(before, origin, "before")
	if err != nil {
		return nil, err
	}
	cur, err := parseZone(after, origin, "after")
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for k := range old {
		keys[k] = true
	}
	for k := range cur {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)

	var out []signal.Change
	for _, k := range sorted {
		o, n := old[k], cur[k]
		if o != nil && n != nil && o.ttl == n.ttl && equal(o.data, n.data) {
			continue
		}
		set := o
		if set == nil {
			set = n
		}
		name := strings.TrimSuffix(set.name, ".")
		if name == "" {
			name = "."
		}
		typ := dns.TypeToString[set.rtype]
		if typ == "" {
			typ = fmt.Sprintf("TYPE%d", set.rtype)
		}
		details := map[string]any{"name": name, "type": typ}
		var action, summary string
		switch {
		case o == nil:
			action = "add"
			details["old"], details["new"], details["new_ttl"] = "", strings.Join(n.data, ", "), int(n.ttl)
			summary = fmt.Sprintf("%s %s added: %s (TTL %d)", name, typ, details["new"], n.ttl)
		case n == nil:
			action = "remove"
			details["old"], details["new"], details["ttl"] = strings.Join(o.data, ", "), "", int(o.ttl)
			summary = fmt.Sprintf("%s %s removed: was %s (TTL %d)", name, typ, details["old"], o.ttl)
		default:
			action = "change"
			details["old"], details["new"] = strings.Join(o.data, ", "), strings.Join(n.data, ", ")
			details["ttl"], details["new_ttl"] = int(o.ttl), int(n.ttl)
			if equal(o.data, n.data) {
				summary = fmt.Sprintf("%s %s TTL changed %d → %d", name, typ, o.ttl, n.ttl)
			} else {
				summary = fmt.Sprintf("%s %s changed %s → %s (TTL %d → %d; resolvers may serve the old answer for up to %s)",
					name, typ, details["old"], details["new"], o.ttl, n.ttl, humanTTL(o.ttl))
			}
		}
		details["action"] = action
		out = append(out, signal.Change{
			ID:      fmt.Sprintf("dns-%s-%s-%d", name, strings.ToLower(typ), at.Unix()),
			Time:    at.UTC(),
			Kind:    signal.KindDNS,
			Summary: summary,
			Scope:   map[string]string{"host": name},
			Details: details,
		})
	}
	return out, nil
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// humanTTL writes a TTL as 24h, 5m or 90s.
func humanTTL(ttl uint32) string {
	switch {
	case ttl >= 3600 && ttl%3600 == 0:
		return fmt.Sprintf("%dh", ttl/3600)
	case ttl >= 60 && ttl%60 == 0:
		return fmt.Sprintf("%dm", ttl/60)
	}
	return fmt.Sprintf("%ds", ttl)
}
