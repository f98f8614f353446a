package accesslog

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// jsonAliases maps common key names to sitrep's dimension names.
var jsonAliases = map[string]string{
	"status": "status", "status_code": "status", "statuscode": "status", "http_status": "status",
	"response_code": "status", "sc-status": "status", "elb_status_code": "status", "code": "status",
	"request_time": "request_time", "duration": "request_time", "latency": "request_time",
	"time_taken": "request_time", "response_time": "request_time", "responsetime": "request_time",
	"elapsed": "request_time", "duration_ms": "request_time_ms", "latency_ms": "request_time_ms",
	"time_taken_ms": "request_time_ms", "response_time_ms": "request_time_ms", "elapsed_ms": "request_time_ms",
	"time": "time", "@timestamp": "time", "timestamp": "time", "ts": "time", "time_iso8601": "time",
	"datetime": "time", "date": "time", "time_local": "time", "msec": "time",
	"upstream_addr": "upstream_addr", "upstream": "upstream_addr", "upstream_address": "upstream_addr",
	"backend": "upstream_addr", "target": "upstream_addr", "origin": "upstream_addr",
	"remote_addr": "client", "client_ip": "client", "clientip": "client", "client": "client",
	"ip": "client", "remote_ip": "client", "c-ip": "client", "client_addr": "client",
	"path": "uri", "uri": "uri", "request_uri": "uri", "url": "uri", "cs-uri-stem": "uri",
	"method": "method", "request_method": "method", "verb": "method", "http_method": "method",
	"user_agent": "user_agent", "http_user_agent": "user_agent", "useragent": "user_agent",
	"agent": "user_agent", "ua": "user_agent", "cs(user-agent)": "user_agent",
	"host": "host", "http_host": "host", "hostname": "host", "domain": "host",
	"proxy_upstream_name": "upstream_name", "upstream_name": "upstream_name",
	"body_bytes_sent": "bytes", "bytes": "bytes", "bytes_sent": "bytes", "size": "bytes",
	"http_referer": "referer", "referer": "referer", "referrer": "referer",
	"request": "request", "protocol": "protocol", "server_protocol": "protocol",
	"req_id": "req_id", "request_id": "req_id", "requestid": "req_id",
}

// jsonState is one worker's learned key schema for a JSON input: keys map
// to raw field slots, in the order they were first seen.
type jsonState struct {
	slot    map[string]int
	scratch []byte // unescaped strings of the current line
	prefix  []byte // key path while flattening nested objects
	// Lines of one log usually carry the same keys in the same order: the
	// k-th key of the last line and its slot let most keys skip the map.
	posKey  []string
	posSlot []int
	k       int
}

// slotAt returns the slot of the line's k-th (flattened) key.
func (p *parser) slotAt(key []byte) int {
	js := p.json
	k := js.k
	js.k++
	if k < len(js.posKey) && js.posKey[k] == string(key) {
		return js.posSlot[k]
	}
	slot := p.jsonSlot(key)
	if k < len(js.posKey) {
		js.posKey[k], js.posSlot[k] = string(key), slot
	} else if k == len(js.posKey) {
		js.posKey = append(js.posKey, string(key))
		js.posSlot = append(js.posSlot, slot)
	}
	return slot
}

func newJSONState() *jsonState { return &jsonState{slot: map[string]int{}} }

// jsonSlot returns the field slot for a (flattened) key, growing the
// Request's fields the first time the key is seen.
func (p *parser) jsonSlot(key []byte) int {
	if i, ok := p.json.slot[string(key)]; ok {
		return i
	}
	name := string(key)
	if a, ok := jsonAliases[strings.ToLower(name)]; ok {
		name = a
	}
	if name == "" {
		name = "(empty key)"
	}
	// Keys that alias one name (status and status_code) share its slot.
	for i, f := range p.req.Fields[nDerived:] {
		if f.Name == name {
			p.json.slot[string(key)] = i
			return i
		}
	}
	i := len(p.raw)
	p.raw = append(p.raw, nil)
	p.req.Fields = append(p.req.Fields, signal.Field{Name: name})
	p.json.slot[string(key)] = i
	if name != "server" { // in JSON logs "server" is usually the virtual host, not an upstream
		p.noteWellKnown(name, i)
	}
	return i
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
	// Interpret the well-known fields.
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
			p.req.Status = s
		case "request_time":
			p.req.Duration = parseSeconds(v)
		case "request_time_ms":
			if d := parseSeconds(v); d >= 0 {
				p.req.Duration = d / 1000
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
				p.raw[p.jsonSlot([]byte("method"))] = m
				p.raw[p.jsonSlot([]byte("uri"))] = u
				p.raw[p.jsonSlot([]byte("protocol"))] = pr
			}
		}
	}
	if p.req.Status == 0 {
		return "no status field (status, status_code, …)"
	}
	return ""
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
			end := i
			for end < len(line) && line[end] != ',' && line[end] != '}' && line[end] != ' ' && line[end] != '\t' {
				end++
			}
			v := line[i:end]
			if !validLiteral(v) {
				return i, "invalid value " + strconv.Quote(string(v)) + " at column " + strconv.Itoa(i+1)
			}
			if string(v) != "null" {
				p.raw[p.slotAt(js.prefix)] = v
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
	js := p.json
	start := len(js.scratch)
	js.scratch = append(js.scratch, line[i+1:j]...)
	for j < len(line) {
		c := line[j]
		switch {
		case c == '"':
			return js.scratch[start:len(js.scratch):len(js.scratch)], j + 1, true
		case c == '\\' && j+1 < len(line):
			e := line[j+1]
			j += 2
			switch e {
			case 'n':
				js.scratch = append(js.scratch, '\n')
			case 't':
				js.scratch = append(js.scratch, '\t')
			case 'r':
				js.scratch = append(js.scratch, '\r')
			case 'b':
				js.scratch = append(js.scratch, '\b')
			case 'f':
				js.scratch = append(js.scratch, '\f')
			case 'u':
				if j+4 > len(line) {
					return nil, j, false
				}
				n, err := strconv.ParseUint(string(line[j:j+4]), 16, 32)
				if err != nil {
					return nil, j, false
				}
				js.scratch = utf8.AppendRune(js.scratch, rune(n))
				j += 4
			default:
				js.scratch = append(js.scratch, e)
			}
		default:
			js.scratch = append(js.scratch, c)
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
