package dnsprobe

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/miekg/dns"
)

// ErrMalformed is returned (wrapped) for a response that cannot be decoded or
// does not answer the question that was asked.
var ErrMalformed = errors.New("malformed response")

// maxChain bounds the CNAME links followed for one question.
const maxChain = 16

// Record is one resource record of an answer, in presentation form.
type Record struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	TTL   uint32 `json:"ttl"`
	Value string `json:"value"`
}

// Response is a decoded DNS response to one question.
type Response struct {
	// ID is the message ID.
	ID uint16
	// Rcode is the response code in words: NOERROR, NXDOMAIN, SERVFAIL …
	Rcode string
	// Truncated is set when the server set the TC bit: the answer did not
	// fit and the question must be asked again over TCP.
	Truncated bool
	// Authoritative is the AA bit.
	Authoritative bool
	// Chain holds the CNAME records followed from the question's name, in
	// order.
	Chain []Record
	// Records holds the records of the asked type owned by the end of the
	// chain, sorted by value.
	Records []Record
	// Target is the name at the end of the CNAME chain (the question's name
	// when there is no chain).
	Target string
	// NegativeTTL is the TTL of the SOA in the authority section of a
	// negative answer (NXDOMAIN or no data): how long it may be cached.
	NegativeTTL uint32
	// SOAOwner is the owner of a SOA record in the answer or authority
	// section: the zone the answer came from, when the server said so.
	SOAOwner string
	// NS holds the name servers of an NS answer for the chain's target.
	NS []string
}

// ParseResponse decodes raw as the response to the question qname/qtype.
// It never panics on bad input: a message that cannot be decoded, is not a
// response, or answers another question yields an error wrapping
// ErrMalformed.
func ParseResponse(raw []byte, qname string, qtype uint16) (*Response, error) {
	m := new(dns.Msg)
	if err := m.Unpack(raw); err != nil {
		// A truncated UDP response may end mid-record; the header is still
		// meaningful and says to retry over TCP.
		if len(raw) >= 12 && raw[2]&0x02 != 0 {
			return &Response{ID: uint16(raw[0])<<8 | uint16(raw[1]), Truncated: true, Rcode: dns.RcodeToString[int(raw[3]&0x0f)]}, nil
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return FromMsg(m, qname, qtype)
}

// FromMsg interprets a decoded message as the response to qname/qtype.
func FromMsg(m *dns.Msg, qname string, qtype uint16) (*Response, error) {
	if !m.Response {
		return nil, fmt.Errorf("%w: the QR bit is not set (a query, not a response)", ErrMalformed)
	}
	r := &Response{ID: m.Id, Truncated: m.Truncated, Authoritative: m.Authoritative}
	r.Rcode = dns.RcodeToString[m.Rcode]
	if r.Rcode == "" {
		r.Rcode = fmt.Sprintf("RCODE%d", m.Rcode)
	}
	if m.Truncated {
		return r, nil
	}
	// Servers may omit the question in some error responses; when present it
	// must be ours.
	if len(m.Question) > 0 {
		q := m.Question[0]
		if !strings.EqualFold(dns.Fqdn(q.Name), dns.Fqdn(qname)) || q.Qtype != qtype {
			return nil, fmt.Errorf("%w: answers %s %s, not the question %s %s", ErrMalformed,
				q.Name, dns.TypeToString[q.Qtype], qname, dns.TypeToString[qtype])
		}
	} else if m.Rcode == dns.RcodeSuccess && len(m.Answer) > 0 {
		return nil, fmt.Errorf("%w: answer without a question section", ErrMalformed)
	}

	target := dns.CanonicalName(qname)
	seen := map[string]bool{target: true}
	for range maxChain {
		if qtype == dns.TypeCNAME {
			break
		}
		var next string
		for _, rr := range m.Answer {
			if c, ok := rr.(*dns.CNAME); ok && dns.CanonicalName(c.Hdr.Name) == target {
				r.Chain = append(r.Chain, record(rr))
				next = dns.CanonicalName(c.Target)
				break
			}
		}
		if next == "" {
			break
		}
		if seen[next] {
			return nil, fmt.Errorf("%w: CNAME loop at %s", ErrMalformed, next)
		}
		seen[next] = true
		target = next
	}
	r.Target = target
	for _, rr := range m.Answer {
		h := rr.Header()
		if h.Rrtype == qtype && dns.CanonicalName(h.Name) == target {
			r.Records = append(r.Records, record(rr))
			if ns, ok := rr.(*dns.NS); ok {
				r.NS = append(r.NS, dns.CanonicalName(ns.Ns))
			}
		}
		if soa, ok := rr.(*dns.SOA); ok && r.SOAOwner == "" {
			r.SOAOwner = dns.CanonicalName(soa.Hdr.Name)
		}
	}
	for _, rr := range m.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			if r.SOAOwner == "" {
				r.SOAOwner = dns.CanonicalName(soa.Hdr.Name)
			}
			// RFC 2308: a negative answer may be cached for the lesser of the
			// SOA's TTL and its MINIMUM field.
			r.NegativeTTL = min(soa.Hdr.Ttl, soa.Minttl)
		}
	}
	sort.Slice(r.Records, func(i, j int) bool { return r.Records[i].Value < r.Records[j].Value })
	return r, nil
}

// record renders rr in presentation form, without its header.
func record(rr dns.RR) Record {
	h := rr.Header()
	full := rr.String()
	hdr := h.String()
	value := strings.TrimSpace(strings.TrimPrefix(full, hdr))
	if !strings.HasPrefix(full, hdr) {
		// Fall back to the last tab-separated field group.
		if i := strings.LastIndex(full, "\t"); i >= 0 {
			value = full[i+1:]
		}
	}
	if c, ok := rr.(*dns.CNAME); ok {
		value = dns.CanonicalName(c.Target)
	}
	return Record{Name: dns.CanonicalName(h.Name), Type: dns.TypeToString[h.Rrtype], TTL: h.Ttl, Value: value}
}

// Values returns the records' values.
func (r *Response) Values() []string {
	out := make([]string, 0, len(r.Records))
	for _, rec := range r.Records {
		out = append(out, rec.Value)
	}
	return out
}

// TTL returns the lowest TTL of the answer records: the time until a cache
// holding this answer must ask again. For a negative answer it is the
// negative-caching TTL.
func (r *Response) TTL() uint32 {
	if len(r.Records) == 0 {
		return r.NegativeTTL
	}
	t := r.Records[0].TTL
	for _, rec := range r.Records[1:] {
		t = min(t, rec.TTL)
	}
	return t
}
