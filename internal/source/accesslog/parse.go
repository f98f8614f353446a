package accesslog

import (
	"bytes"
	"strconv"

	"github.com/cespare/xxhash/v2"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// Derived dimension names. They come first in every Request, before the raw
// fields, so that their positions are the same for every format.
var derivedNames = []string{"source", "status_class", "path", "client_net", "client_net16", "ua_family", "ua_product", "upstream", "no_upstream", "failed_upstream"}

const (
	dSource = iota
	dStatusClass
	dPath
	dClientNet
	dClientNet16
	dUAFamily
	dUAProduct
	dUpstream
	dNoUpstream
	dFailedUpstream
	nDerived
)

// parser is one worker's state for one format: the reused Request and the
// caches of derived values. It is not safe for concurrent use.
type parser struct {
	f   *Format
	req signal.Request
	raw [][]byte // raw values, by index in f.names (JSON: by learned key)

	// well-known raw field indexes (-1 when the format lacks them)
	iUpstreamAddr, iUpstreamName, iUpstreamStatus, iUA, iURI, iClient, iStatus, iXFF int

	der  deriver
	json *jsonState
	cols [][]byte // reused column slices (alb, haproxy, w3c)
	tbuf []byte   // scratch for a W3C line's date and time
	// end is where the last nginx parse stopped: before len(line), the
	// line carries text after the format.
	end int
	// keySalt is folded into each line's sampling key: the same line in
	// two inputs is two requests (their source differs).
	keySalt uint64
}

func newParser(f *Format, source string) *parser {
	p := &parser{f: f, keySalt: xxhash.Sum64String(source)}
	p.raw = make([][]byte, len(f.names))
	p.req.Fields = make([]signal.Field, nDerived+len(f.names))
	for i, n := range derivedNames {
		p.req.Fields[i].Name = n
	}
	for i, n := range f.names {
		p.req.Fields[nDerived+i].Name = n
	}
	p.req.Fields[dSource].Value = []byte(source)
	p.indexWellKnown()
	p.der.init()
	if f.kind == kindJSON || f.kind == kindLogfmt {
		p.json = newJSONState()
		p.json.logfmt = f.kind == kindLogfmt
	}
	return p
}

func (p *parser) indexWellKnown() {
	p.iUpstreamAddr, p.iUpstreamName, p.iUpstreamStatus, p.iUA, p.iURI, p.iClient, p.iStatus, p.iXFF = -1, -1, -1, -1, -1, -1, -1, -1
	for i, n := range p.f.names {
		p.noteWellKnown(n, i)
	}
}

// noteWellKnown records the slot of a field the derived dimensions read.
// The first upstream field of a format wins (upstream_addr before server).
func (p *parser) noteWellKnown(name string, i int) {
	switch name {
	case "upstream_addr", "target", "server":
		if p.iUpstreamAddr < 0 {
			p.iUpstreamAddr = i
		}
	case "upstream_name", "target_group_arn", "backend":
		if p.iUpstreamName < 0 {
			p.iUpstreamName = i
		}
	case "upstream_status":
		p.iUpstreamStatus = i
	case "user_agent":
		p.iUA = i
	case "uri":
		p.iURI = i
	case "client":
		p.iClient = i
	case "status":
		p.iStatus = i
	case "forwarded_for":
		p.iXFF = i
	}
}

// parse fills p.req from line. It returns a reason when the line does not
// match the format.
func (p *parser) parse(line []byte) string {
	p.req.Time, p.req.Status, p.req.Duration, p.req.Client, p.req.Retries = 0, 0, -1, nil, 0
	for i := range p.raw {
		p.raw[i] = nil
	}
	var reason string
	switch p.f.kind {
	case kindNginx:
		reason = p.parseNginx(line)
	case kindALB:
		reason = p.parseALB(line)
	case kindJSON:
		reason = p.parseJSON(line)
	case kindHAProxy:
		reason = p.parseHAProxy(line)
	case kindW3C:
		reason = p.parseW3C(line)
	case kindLogfmt:
		reason = p.parseLogfmt(line)
	}
	if reason != "" {
		return reason
	}
	p.finish()
	return ""
}

// finish copies the raw values into the Request and computes the derived
// dimensions.
func (p *parser) finish() {
	f := p.req.Fields
	for i, v := range p.raw {
		f[nDerived+i].Value = v
	}
	if p.req.Client == nil {
		switch {
		case p.iClient >= 0:
			p.req.Client = hostOnly(p.raw[p.iClient])
		case p.iXFF >= 0:
			// No client address but X-Forwarded-For (Envoy's default
			// format): the client is its first address.
			p.req.Client = firstForwarded(p.raw[p.iXFF])
		}
	}
	f[dStatusClass].Value = statusClass(p.req.Status)
	// The derived dimensions cost more than the raw ones: skip those the
	// sink said it no longer reads.
	if p.iURI >= 0 && p.raw[p.iURI] != nil && !f[dPath].Unwanted {
		f[dPath].Value = p.der.path(p.raw[p.iURI])
	} else {
		f[dPath].Value = nil
	}
	if !f[dClientNet].Unwanted || !f[dClientNet16].Unwanted {
		f[dClientNet].Value, f[dClientNet16].Value = p.der.clientNets(p.req.Client)
	} else {
		f[dClientNet].Value, f[dClientNet16].Value = nil, nil
	}
	if p.iUA >= 0 && p.raw[p.iUA] != nil && (!f[dUAFamily].Unwanted || !f[dUAProduct].Unwanted) {
		// The user agent is hashed once, for the cache and the sink.
		u := p.der.ua(p.raw[p.iUA])
		f[dUAFamily].Value, f[dUAProduct].Value = u.family, u.product
		f[dUAFamily].Key, f[dUAProduct].Key, f[nDerived+p.iUA].Key = u.familyKey, u.productKey, u.h
	} else {
		f[dUAFamily].Value, f[dUAProduct].Value = nil, nil
		f[dUAFamily].Key, f[dUAProduct].Key = 0, 0
		if p.iUA >= 0 {
			f[nDerived+p.iUA].Key = 0
		}
	}
	if p.iUpstreamAddr >= 0 && p.raw[p.iUpstreamAddr] != nil && (!f[dUpstream].Unwanted || !f[dNoUpstream].Unwanted) {
		var name []byte
		if p.iUpstreamName >= 0 {
			name = p.raw[p.iUpstreamName]
		}
		f[dUpstream].Value, f[dNoUpstream].Value = p.der.upstream(p.raw[p.iUpstreamAddr], name)
	} else {
		f[dUpstream].Value, f[dNoUpstream].Value = nil, nil
	}
	f[dFailedUpstream].Value = nil
	if p.iUpstreamAddr >= 0 && bytes.IndexByte(p.raw[p.iUpstreamAddr], ',') >= 0 {
		// Retried: rare, so the work is done only here.
		var name []byte
		if p.iUpstreamName >= 0 {
			name = p.raw[p.iUpstreamName]
		}
		var status []byte
		if p.iUpstreamStatus >= 0 {
			status = p.raw[p.iUpstreamStatus]
		}
		var first []byte
		if p.req.Retries, first = retries(p.raw[p.iUpstreamAddr], status); p.req.Retries > 0 {
			f[dFailedUpstream].Value = p.der.named(first, name)
		}
	}
}

var statusClasses = [][]byte{[]byte("other"), []byte("1xx"), []byte("2xx"), []byte("3xx"), []byte("4xx"), []byte("5xx")}

func statusClass(s int) []byte {
	if s >= 100 && s < 600 {
		return statusClasses[s/100]
	}
	return statusClasses[0]
}

// parseNginx splits the line along the format's literals, walking the
// compiled steps: find each variable's terminator, consume it, set the value.
func (p *parser) parseNginx(line []byte) string {
	pos := 0
	p.end = 0
	steps := p.f.steps
	for i := range steps {
		s := &steps[i]
		t := s.tok
		if s.lead != "" {
			if !hasAt(line, pos, s.lead) {
				return "expected " + strconv.Quote(s.lead) + " at column " + strconv.Itoa(pos+1)
			}
			pos += len(s.lead)
		}
		var v []byte
		if s.term != "" {
			var e int
			if s.list {
				e = indexListEnd(line, pos, s)
			} else {
				e = indexTerm(line, pos, s)
			}
			if e < 0 {
				return "expected " + strconv.Quote(s.term) + " after $" + t.v
			}
			v = line[pos:e]
			pos = e + len(s.term)
		} else {
			end := len(line)
			if t.role != roleRequest && t.out >= 0 {
				// Last variable: up to the next space, so that extra
				// fields a team appended stay out of it.
				if s.list {
					if e := indexListEnd(line, pos, &spaceTerm); e >= 0 {
						end = e
					}
				} else if e := bytes.IndexByte(line[pos:], ' '); e >= 0 {
					end = pos + e
				}
			}
			v = line[pos:end]
			pos = end
		}
		if t.role == roleField {
			p.raw[t.out] = v // most variables: no call
			continue
		}
		if r := p.setVar(t, v); r != "" {
			return r
		}
	}
	p.end = pos
	return ""
}

// indexTerm finds the step's terminator in line from pos: its first byte by
// IndexByte, the rest (one or two bytes in the usual formats) compared in
// place. A terminator that opens with a quote does not match a quote
// escaped with a backslash inside the value.
func indexTerm(line []byte, pos int, s *step) int {
	for from := pos; from < len(line); {
		i := bytes.IndexByte(line[from:], s.c)
		if i < 0 {
			return -1
		}
		i += from
		from = i + 1
		if s.esc && i > pos && line[i-1] == '\\' && (i < pos+2 || line[i-2] != '\\') {
			continue
		}
		if hasAt(line, i+1, s.rest) {
			return i
		}
	}
	return -1
}

// hasAt reports whether line holds lit at position at. Literals are a few
// bytes: a loop in place beats a call to memequal.
func hasAt(line []byte, at int, lit string) bool {
	if len(line)-at < len(lit) {
		return false
	}
	for j := 0; j < len(lit); j++ {
		if line[at+j] != lit[j] {
			return false
		}
	}
	return true
}

// indexListEnd finds the literal (starting with a space) that ends an
// upstream list value, skipping the spaces inside the list: after a comma,
// and around nginx's " : " group separator.
func indexListEnd(line []byte, pos int, s *step) int {
	for from := pos; ; {
		e := indexTerm(line, from, s)
		if e < 0 {
			return -1
		}
		switch {
		case e > pos && line[e-1] == ',':
			from = e + 1
			continue
		case e+2 < len(line) && line[e+1] == ':' && line[e+2] == ' ':
			from = e + 3
			continue
		case e > pos+1 && line[e-1] == ':' && line[e-2] == ' ':
			from = e + 1
			continue
		}
		return e
	}
}

// spaceTerm is the terminator of a list that ends the format: the first
// space outside the list (indexListEnd).
var spaceTerm = step{term: " ", c: ' '}

func (p *parser) setVar(t *token, v []byte) string {
	switch t.role {
	case roleTimeLocal:
		ns, ok := p.der.timeLocal(v)
		if !ok {
			return "time " + strconv.Quote(string(v)) + " is not like 17/May/2015:10:05:03 +0000"
		}
		p.req.Time = ns
		return ""
	case roleTimeISO:
		ns, ok := parseISO(v)
		if !ok {
			return "time " + strconv.Quote(string(v)) + " is not ISO 8601"
		}
		p.req.Time = ns
		return ""
	case roleMsec:
		ns, ok := parseEpoch(v)
		if !ok {
			return "time " + strconv.Quote(string(v)) + " is not seconds since the epoch"
		}
		p.req.Time = ns
		return ""
	case roleRequest:
		m, u, proto := splitRequest(v)
		p.raw[t.out], p.raw[t.out+1], p.raw[t.out+2] = m, u, proto
		return ""
	case roleStatus:
		s, ok := atoi3(v)
		if !ok {
			return "status " + strconv.Quote(string(v)) + " is not a number"
		}
		p.req.Status = s
	case roleRequestTime:
		p.req.Duration = parseSeconds(v)
	case roleRequestTimeMs:
		if d := parseSeconds(v); d >= 0 {
			p.req.Duration = d / 1000
		}
	case roleClient:
		p.req.Client = hostOnly(v)
	}
	p.raw[t.out] = v
	return ""
}

// hostOnly drops the port of an address written with one (Envoy's
// 10.0.0.1:51234, [2001:db8::1]:443): the client is the host, whatever
// connection it came on. Other values are returned as they are.
func hostOnly(v []byte) []byte {
	// A port is at most five digits after the last colon: look there
	// only (this runs on every line's client).
	i := len(v) - 1
	for ; i >= 0 && i >= len(v)-6 && v[i] != ':'; i-- {
	}
	if i < 0 || i < len(v)-6 {
		return v
	}
	if v[0] == '[' {
		if j := bytes.IndexByte(v, ']'); j > 0 {
			return v[1:j]
		}
		return v
	}
	if bytes.IndexByte(v[:i], ':') < 0 && bytes.IndexByte(v[:i], '.') > 0 {
		return v[:i] // one colon after a dotted quad: a port
	}
	return v
}

// firstForwarded returns the first address of an X-Forwarded-For list.
func firstForwarded(v []byte) []byte {
	if i := bytes.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	v = bytes.TrimSpace(v)
	if len(v) == 0 || (len(v) == 1 && v[0] == '-') {
		return nil
	}
	return hostOnly(v)
}

// splitRequest splits "GET /path HTTP/1.1". A request that is not three
// parts (garbage sent to the server) keeps the whole text as the uri.
func splitRequest(v []byte) (method, uri, proto []byte) {
	i := bytes.IndexByte(v, ' ')
	if i < 0 {
		return nil, v, nil
	}
	j := bytes.LastIndexByte(v, ' ')
	if j == i {
		return v[:i], v[i+1:], nil
	}
	return v[:i], v[i+1 : j], v[j+1:]
}

// atoi3 parses a status code ("-" and empty are not numbers).
func atoi3(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 4 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// parseSeconds parses "0.123"; "-", "" and garbage give -1. With retries
// ingress-nginx writes "0.003, 0.120": the times add up.
func parseSeconds(b []byte) float64 {
	if len(b) == 0 || b[0] == '-' {
		return -1
	}
	total := 0.0
	for len(b) > 0 {
		i := 0
		var whole, frac, scale float64 = 0, 0, 1
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			whole = whole*10 + float64(b[i]-'0')
			i++
		}
		if i < len(b) && b[i] == '.' {
			i++
			for i < len(b) && b[i] >= '0' && b[i] <= '9' {
				frac = frac*10 + float64(b[i]-'0')
				scale *= 10
				i++
			}
		}
		if i == 0 {
			return -1
		}
		total += whole + frac/scale
		for i < len(b) && (b[i] == ',' || b[i] == ' ' || b[i] == ':') {
			i++
		}
		if i < len(b) && (b[i] < '0' || b[i] > '9') {
			break
		}
		b = b[i:]
	}
	return total
}
