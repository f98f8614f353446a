package accesslog

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// jsonNames lists, for each dimension, the JSON keys that feed it: the
// common names, and those of the proxies and shippers that write JSON
// access logs — Envoy and Istio, Traefik, Caddy, Kong, Google Cloud load
// balancers (httpRequest), Cloudflare, the Elastic Common Schema (Filebeat,
// Elastic Agent) and OpenTelemetry's HTTP conventions. Nested objects are
// flattened with dots; keys match whatever their case, '_' and '-'
// (DownstreamStatus = downstream_status). A duration's unit is in its
// name: request_time is seconds (or the unit written after the number,
// "0.012s"), request_time_ms milliseconds, request_time_ns nanoseconds, and
// a bare "duration" follows the log's dialect (see durationUnit).
var jsonNames = map[string][]string{
	"status": {"status", "status_code", "http_status", "response_code", "sc-status", "elb_status_code", "code",
		"DownstreamStatus", "EdgeResponseStatus", "http.response.status_code", "http.status_code",
		"httpRequest.status", "response.status"},
	"upstream_status": {"upstream_status", "OriginStatus", "OriginResponseStatus"},
	"request_time": {"request_time", "latency", "time_taken", "response_time", "elapsed",
		"httpRequest.latency"},
	"request_time_auto": {"duration"},
	"request_time_ms": {"duration_ms", "latency_ms", "time_taken_ms", "response_time_ms", "elapsed_ms",
		"latencies.request", "EdgeTimeToFirstByteMs"},
	"request_time_ns": {"event.duration"},
	"time": {"time", "@timestamp", "timestamp", "ts", "time_iso8601", "datetime", "date", "time_local", "msec",
		"start_time", "StartUTC", "EdgeStartTimestamp", "started_at"},
	"upstream_addr": {"upstream_addr", "upstream", "upstream_address", "backend", "target", "origin",
		"upstream_host", "ServiceAddr", "OriginIP", "httpRequest.serverIp"},
	"upstream_name": {"proxy_upstream_name", "upstream_name", "upstream_cluster", "ServiceName",
		"resource.labels.backend_service_name"},
	"client": {"remote_addr", "client_ip", "client", "ip", "remote_ip", "c-ip", "client_addr", "remote",
		"ClientHost", "downstream_remote_address", "source.ip", "source.address", "client.ip", "client.address",
		"httpRequest.remoteIp", "request.client_ip", "net.peer.ip"},
	"forwarded_for": {"x_forwarded_for", "http_x_forwarded_for", "forwarded_for", "xff"},
	"uri": {"path", "uri", "request_uri", "url", "cs-uri-stem", "RequestPath", "ClientRequestURI",
		"url.path", "url.original", "http.target", "http.url", "httpRequest.requestUrl", "request.uri", "request.url"},
	"method": {"method", "request_method", "verb", "http_method", "RequestMethod", "ClientRequestMethod",
		"http.request.method", "http.method", "httpRequest.requestMethod", "request.method"},
	"user_agent": {"user_agent", "http_user_agent", "useragent", "agent", "ua", "cs(user-agent)",
		"request_User-Agent", "ClientRequestUserAgent", "user_agent.original", "http.user_agent",
		"httpRequest.userAgent", "request.headers.User-Agent"},
	"host": {"host", "http_host", "hostname", "domain", "RequestHost", "ClientRequestHost", "authority",
		"url.domain", "server.address", "request.host", "request.headers.host"},
	"bytes": {"body_bytes_sent", "bytes", "bytes_sent", "size", "DownstreamContentSize", "EdgeResponseBytes",
		"http.response.body.bytes", "response.size", "httpRequest.responseSize"},
	"referer":  {"http_referer", "referer", "referrer", "httpRequest.referer"},
	"request":  {"request"},
	"protocol": {"protocol", "server_protocol", "RequestProtocol", "request.proto", "httpRequest.protocol"},
	"req_id":   {"req_id", "request_id", "requestid", "x_request_id"},
}

// jsonKey is what a JSON key feeds: a dimension and, for a duration, its
// unit as the number of units in a second (0: the log's dialect decides).
type jsonKey struct {
	name string
	unit float64
}

// jsonAliases maps normalised keys (see normKey) to what they feed.
var jsonAliases = func() map[string]jsonKey {
	m := map[string]jsonKey{}
	for name, keys := range jsonNames {
		k := jsonKey{name: name, unit: 1}
		switch name {
		case "request_time_auto":
			k = jsonKey{name: "request_time"}
		case "request_time_ms":
			k = jsonKey{name: "request_time", unit: 1e3}
		case "request_time_ns":
			k = jsonKey{name: "request_time", unit: 1e9}
		}
		for _, key := range keys {
			m[normKey(key)] = k
		}
	}
	return m
}()

// normKey lower-cases a key and drops '_' and '-', so that status_code,
// statusCode and StatusCode are one key.
func normKey(k string) string {
	b := make([]byte, 0, len(k))
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '_' || c == '-':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return string(b)
}

// Keys that tell a JSON log's dialect, and so the unit of a bare
// "duration": Envoy and Istio write milliseconds, Traefik nanoseconds,
// Caddy and most others seconds.
var (
	envoyKeys   = map[string]bool{"responseflags": true, "upstreamcluster": true, "responsecodedetails": true, "upstreamhost": true}
	traefikKeys = map[string]bool{"DownstreamStatus": true, "OriginStatus": true, "RouterName": true, "OriginDuration": true}
)

// jsonState is one worker's learned key schema for a JSON input: keys map
// to raw field slots, in the order they were first seen.
type jsonState struct {
	slot    map[string]jsonSlot
	scratch []byte // unescaped strings of the current line
	prefix  []byte // key path while flattening nested objects
	// Lines of one log usually carry the same keys in the same order: the
	// k-th key of the last line and its slot let most keys skip the map.
	posKey  []string
	posSlot []jsonSlot
	k       int
	// unit holds, per raw slot, the unit of the key that wrote the
	// current line's value (keys aliasing one name share a slot).
	unit []float64
	// The dialect, from the keys seen: the unit of a bare "duration".
	envoy, traefik bool
	// logfmt: the keys are logfmt's (logfmtAliases first).
	logfmt bool
}

// jsonSlot is a key's raw field slot and its duration unit.
type jsonSlot struct {
	i    int
	unit float64
	key  string // the key as stored in jsonState.slot, shared by the position cache
}

// slotAt returns the slot of the line's k-th (flattened) key, and records
// the key's unit for the value about to be stored there.
func (p *parser) slotAt(key []byte) int {
	js := p.json
	k := js.k
	js.k++
	var s jsonSlot
	if k < len(js.posKey) && js.posKey[k] == string(key) {
		s = js.posSlot[k]
	} else {
		s = p.jsonSlot(key)
		if k < len(js.posKey) {
			js.posKey[k], js.posSlot[k] = s.key, s
		} else if k == len(js.posKey) {
			js.posKey = append(js.posKey, s.key)
			js.posSlot = append(js.posSlot, s)
		}
	}
	js.unit[s.i] = s.unit
	return s.i
}

func newJSONState() *jsonState { return &jsonState{slot: map[string]jsonSlot{}} }

// jsonSlot returns the field slot for a (flattened) key, growing the
// Request's fields the first time the key is seen.
func (p *parser) jsonSlot(key []byte) jsonSlot {
	js := p.json
	if s, ok := js.slot[string(key)]; ok {
		return s
	}
	name := string(key)
	keyStr := name
	norm := normKey(name)
	js.envoy = js.envoy || envoyKeys[norm]
	js.traefik = js.traefik || traefikKeys[name]
	unit := 1.0
	if a, ok := logfmtAliases[norm]; ok && js.logfmt {
		name, unit = a.name, a.unit
	} else if a, ok := jsonAliases[norm]; ok {
		name, unit = a.name, a.unit
	}
	if name == "" {
		name = "(empty key)"
	}
	// Keys that alias one name (status and status_code) share its slot.
	for i, f := range p.req.Fields[nDerived:] {
		if f.Name == name {
			s := jsonSlot{i, unit, keyStr}
			js.slot[keyStr] = s
			return s
		}
	}
	i := len(p.raw)
	p.raw = append(p.raw, nil)
	js.unit = append(js.unit, unit)
	p.req.Fields = append(p.req.Fields, signal.Field{Name: name})
	s := jsonSlot{i, unit, keyStr}
	js.slot[keyStr] = s
	if name != "server" { // in JSON logs "server" is usually the virtual host, not an upstream
		p.noteWellKnown(name, i)
	}
	return s
}

// durationUnit is the unit of a bare "duration", in units per second.
func (js *jsonState) durationUnit() float64 {
	switch {
	case js.traefik:
		return 1e9
	case js.envoy:
		return 1e3
	}
	return 1
}

// parseJSON reads one JSON object per line. Nested objects are flattened
// with dots; arrays are kept as their JSON text.
func (p *parser) parseJSON(line []byte) string {
	js := p.json
	js.scratch = js.scratch[:0]
	js.prefix = js.prefix[:0]
	js.k = 0
	i := skipWS(line, 0)
	if i >= len(line) || line[i] != '{' {
		return "not a JSON object"
	}
	i, reason := p.jsonObject(line, i)
	if reason != "" {
		return reason
	}
	if skipWS(line, i) != len(line) {
		return "text after the JSON object"
	}
	return p.interpretKeyed()
}

// interpretKeyed reads the well-known fields of a line whose values were
// stored by key (JSON, logfmt) into the Request.
func (p *parser) interpretKeyed() string {
	js := p.json
	haveStatus := false
	for k, f := range p.req.Fields[nDerived:] {
		v := p.raw[k]
		if v == nil {
			continue
		}
		switch f.Name {
		case "status":
			s, ok := atoi3(v)
			if !ok {
				return "status " + strconv.Quote(string(v)) + " is not a number"
			}
			p.req.Status, haveStatus = s, true
		case "request_time":
			unit := js.unit[k]
			if unit == 0 {
				unit = js.durationUnit()
			}
			p.req.Duration = jsonDuration(v, unit)
		case "user_agent", "host", "client", "forwarded_for":
			// Caddy logs headers as arrays: "User-Agent": ["curl/8.5.0"].
			if len(v) > 0 && v[0] == '[' {
				p.raw[k] = oneString(v)
			}
		case "time":
			ns, ok := parseAnyTime(v)
			if !ok {
				return "time " + strconv.Quote(string(v)) + " is neither RFC 3339, nginx's time_local nor an epoch"
			}
			p.req.Time = ns
		case "request":
			if p.iURI < 0 || p.raw[p.iURI] == nil {
				m, u, pr := splitRequest(v)
				p.raw[p.jsonSlot([]byte("method")).i] = m
				p.raw[p.jsonSlot([]byte("uri")).i] = u
				p.raw[p.jsonSlot([]byte("protocol")).i] = pr
			}
		}
	}
	if !haveStatus {
		return "no status field (status, status_code, …)"
	}
	return ""
}

// jsonDuration reads a duration in seconds: a number of the given unit
// (units per second), or a number followed by its own unit ("0.012s", "12ms", Google
// Cloud's "0.004912s"). "-", empty and garbage give -1.
func jsonDuration(v []byte, unit float64) float64 {
	end := 0
	exp := false
	for end < len(v) {
		c := v[end]
		if c >= '0' && c <= '9' || c == '.' || c == '-' && end == 0 {
			end++
			continue
		}
		if (c == 'e' || c == 'E') && end > 0 && end+1 < len(v) && (v[end+1] == '-' || v[end+1] == '+' || v[end+1] >= '0' && v[end+1] <= '9') {
			exp = true
			end += 2
			continue
		}
		break
	}
	var n float64
	if exp {
		// Go's encoding/json writes small floats as 9.29675e-05.
		f, err := strconv.ParseFloat(string(v[:end]), 64)
		if err != nil {
			return -1
		}
		n = f
	} else {
		n = parseSeconds(v[:end])
	}
	if n < 0 {
		return -1
	}
	switch string(bytes.TrimSpace(v[end:])) {
	case "":
		return n / unit
	case "s":
		return n
	case "ms":
		return n / 1e3
	case "us", "µs":
		return n / 1e6
	case "ns":
		return n / 1e9
	case "m", "min":
		return n * 60
	}
	return -1
}

// oneString returns the string of a JSON array holding one string without
// escapes (["curl/8.5.0"] → curl/8.5.0); other arrays are returned whole.
func oneString(v []byte) []byte {
	if len(v) < 4 || v[1] != '"' || v[len(v)-2] != '"' || v[len(v)-1] != ']' {
		return v
	}
	in := v[2 : len(v)-2]
	if bytes.IndexByte(in, '"') >= 0 || bytes.IndexByte(in, '\\') >= 0 {
		return v
	}
	return in
}

func parseAnyTime(v []byte) (int64, bool) {
	if ns, ok := parseISO(v); ok {
		return ns, true
	}
	if ns, ok := parseTimeLocal(v); ok {
		return ns, true
	}
	return parseEpoch(v)
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// jsonObject parses the object at line[i] ('{'), storing scalar values.
func (p *parser) jsonObject(line []byte, i int) (int, string) {
	js := p.json
	i = skipWS(line, i+1)
	if i < len(line) && line[i] == '}' {
		return i + 1, ""
	}
	for {
		if i >= len(line) || line[i] != '"' {
			return i, "expected a key at column " + strconv.Itoa(i+1)
		}
		key, next, ok := p.jsonString(line, i)
		if !ok {
			return i, "unterminated string at column " + strconv.Itoa(i+1)
		}
		i = skipWS(line, next)
		if i >= len(line) || line[i] != ':' {
			return i, "expected ':' at column " + strconv.Itoa(i+1)
		}
		i = skipWS(line, i+1)
		if i >= len(line) {
			return i, "missing value"
		}
		plen := len(js.prefix)
		js.prefix = append(js.prefix, key...)
		switch c := line[i]; {
		case c == '{':
			js.prefix = append(js.prefix, '.')
			var r string
			i, r = p.jsonObject(line, i)
			if r != "" {
				return i, r
			}
		case c == '"':
			v, next, ok := p.jsonString(line, i)
			if !ok {
				return i, "unterminated string at column " + strconv.Itoa(i+1)
			}
			p.raw[p.slotAt(js.prefix)] = v
			i = next
		case c == '[':
			end, ok := skipJSONValue(line, i)
			if !ok {
				return i, "unterminated array at column " + strconv.Itoa(i+1)
			}
			p.raw[p.slotAt(js.prefix)] = line[i:end]
			i = end
		default:
			end := scalarEnd(line, i)
			v := line[i:end]
			if !validLiteral(v) {
				return i, "invalid value " + strconv.Quote(string(v)) + " at column " + strconv.Itoa(i+1)
			}
			switch s := p.slotAt(js.prefix); {
			case string(v) != "null":
				p.raw[s] = v
			case s == p.iUpstreamAddr:
				// Envoy's JSON format writes null where its text format
				// writes "-": no upstream was picked (no route, no healthy
				// host, a local reply).
				p.raw[s] = vDash
			}
			i = end
		}
		js.prefix = js.prefix[:plen]
		i = skipWS(line, i)
		if i >= len(line) {
			return i, "unterminated object"
		}
		if line[i] == '}' {
			return i + 1, ""
		}
		if line[i] != ',' {
			return i, "expected ',' or '}' at column " + strconv.Itoa(i+1)
		}
		i = skipWS(line, i+1)
	}
}

// scalarEnd returns the end of the number or literal at line[i].
func scalarEnd(line []byte, i int) int {
	for i < len(line) && line[i] != ',' && line[i] != '}' && line[i] != ' ' && line[i] != '\t' {
		i++
	}
	return i
}

func validLiteral(v []byte) bool {
	switch string(v) {
	case "true", "false", "null":
		return true
	}
	if len(v) == 0 {
		return false
	}
	for _, c := range v {
		if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
			return false
		}
	}
	return true
}

// jsonString returns the string at line[i] ('"'), unescaped. Strings
// without escapes alias the line; others are written to the scratch buffer.
func (p *parser) jsonString(line []byte, i int) ([]byte, int, bool) {
	return unquote(&p.json.scratch, line, i)
}

// unquote returns the JSON string at line[i] ('"') and the index after it.
// A string without escapes aliases the line; one with escapes is appended
// to *scratch, unescaped, and the result aliases that.
func unquote(scratch *[]byte, line []byte, i int) ([]byte, int, bool) {
	// The closing quote and a backslash before it, each found by
	// IndexByte: most strings have no escape and alias the line.
	q := bytes.IndexByte(line[i+1:], '"')
	if q < 0 {
		return nil, len(line), false
	}
	q += i + 1
	b := bytes.IndexByte(line[i+1:q], '\\')
	if b < 0 {
		return line[i+1 : q], q + 1, true
	}
	j := i + 1 + b
	out := *scratch
	defer func() { *scratch = out }()
	start := len(out)
	out = append(out, line[i+1:j]...)
	for j < len(line) {
		c := line[j]
		switch {
		case c == '"':
			return out[start:len(out):len(out)], j + 1, true
		case c == '\\' && j+1 < len(line):
			e := line[j+1]
			j += 2
			switch e {
			case 'n':
				out = append(out, '\n')
			case 't':
				out = append(out, '\t')
			case 'r':
				out = append(out, '\r')
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'u':
				if j+4 > len(line) {
					return nil, j, false
				}
				n, err := strconv.ParseUint(string(line[j:j+4]), 16, 32)
				if err != nil {
					return nil, j, false
				}
				out = utf8.AppendRune(out, rune(n))
				j += 4
			default:
				out = append(out, e)
			}
		default:
			out = append(out, c)
			j++
		}
	}
	return nil, j, false
}

// skipJSONValue returns the end of the array or object at line[i].
func skipJSONValue(line []byte, i int) (int, bool) {
	depth := 0
	for j := i; j < len(line); j++ {
		switch line[j] {
		case '"':
			j++
			for j < len(line) && line[j] != '"' {
				if line[j] == '\\' {
					j++
				}
				j++
			}
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth == 0 {
				return j + 1, true
			}
		}
	}
	return len(line), false
}
