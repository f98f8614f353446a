// Package accesslog reads access logs — nginx log_format strings and Envoy
// format strings given verbatim, and the presets combined, common,
// ingress-nginx, envoy, istio, traefik, alb, json and haproxy — into
// signal.Requests, at close to disk speed on every core.
//
// A Format is compiled once; each worker gets its own parser state, reuses
// one signal.Request, and allocates nothing per line in the common case.
package accesslog

import (
	"fmt"
	"strings"
)

// Presets maps preset names to their nginx log_format (or to "" for the
// presets with a dedicated parser).
var Presets = map[string]string{
	"combined": `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`,
	"common":   `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent`,
	// Apache's vhost_combined (%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i"
	// "%{User-Agent}i"): Debian's and Ubuntu's other_vhosts_access.log.
	"vhost_combined": `$host:$server_port $remote_addr - $remote_user [$time_local] "$request" $status $bytes_sent "$http_referer" "$http_user_agent"`,
	// The ingress-nginx controller's default log format ("upstreaminfo").
	"ingress-nginx": `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id`,
	// Envoy's default access-log format, in Envoy's own syntax.
	"envoy": `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"`,
	// Istio's default (TEXT) access-log format for its Envoy sidecars and gateways.
	"istio": `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%`,
	// Traefik's "common" access-log format: combined, then the requests
	// served so far, the router, the server's URL and the duration in ms.
	"traefik": `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_count "$router_name" "$upstream_addr" ${duration_ms}ms`,
	"alb":     "",
	"json":    "",
	"haproxy": "",
	// W3C extended (IIS, CloudFront): the columns come from the file's
	// #Fields directive.
	"w3c": "",
	// key=value pairs (Heroku's router, Go services' text logs).
	"logfmt": "",
}

// PresetNames lists the presets in the order detection prefers them on a
// tie (the richer format first).
var PresetNames = []string{"ingress-nginx", "traefik", "vhost_combined", "combined", "common", "istio", "envoy", "alb", "json", "logfmt", "haproxy", "w3c"}

// Format is a compiled log format.
type Format struct {
	// Name is the preset's name, or "custom" for a log_format string.
	Name string
	// Spec is the log_format string ("" for alb, json, haproxy).
	Spec string

	tokens []token  // nginx formats
	steps  []step   // nginx formats, compiled: one per variable
	names  []string // raw field names, in output order
	kind   parserKind
	w3c    *w3cLayout // W3C extended logs, from the file's #Fields
}

type parserKind int

const (
	kindNginx parserKind = iota
	kindALB
	kindJSON
	kindHAProxy
	kindW3C
	kindLogfmt
)

// token is one piece of an nginx format: a literal, or a variable.
type token struct {
	lit string // literal text (when v == "")
	v   string // variable name without '$'
	// out is the index in the raw fields of this variable's value (-1 for
	// variables that feed only Request fields, such as the time).
	out  int
	role varRole
	// list is set for nginx's upstream_* variables, whose values are lists
	// with spaces: "10.0.0.1:80, 10.0.0.2:80 : 10.0.1.1:80".
	list bool
}

// varRole says how a variable's value feeds the Request.
type varRole int

const (
	roleField varRole = iota
	roleTimeLocal
	roleTimeISO
	roleMsec
	roleRequest // "$request": method, uri, protocol
	roleStatus
	roleRequestTime
	roleRequestTimeMs // Envoy's %DURATION%, Traefik's duration: milliseconds
	roleClient
)

// canonical maps nginx variables to the dimension names sitrep uses.
var canonical = map[string]string{
	"remote_addr": "client", "binary_remote_addr": "client", "realip_remote_addr": "client",
	"remote_user": "remote_user", "status": "status", "body_bytes_sent": "bytes",
	"bytes_sent": "bytes_sent", "http_referer": "referer", "http_user_agent": "user_agent",
	"request_time": "request_time", "upstream_addr": "upstream_addr", "upstream_status": "upstream_status",
	"upstream_response_time": "upstream_response_time", "upstream_connect_time": "upstream_connect_time",
	"upstream_header_time": "upstream_header_time", "proxy_upstream_name": "upstream_name",
	"proxy_alternative_upstream_name": "upstream_alt_name", "req_id": "req_id", "request_id": "req_id",
	"host": "host", "http_host": "host", "server_name": "server_name", "request_uri": "uri", "uri": "uri",
	"request_method": "method", "server_protocol": "protocol", "request_length": "request_length",
	"upstream_response_length": "upstream_response_length", "scheme": "scheme",
	"http_x_forwarded_for": "forwarded_for", "ssl_protocol": "ssl_protocol", "ssl_cipher": "ssl_cipher",
	"upstream_cache_status": "cache_status", "server_port": "server_port", "server_addr": "server_addr",
	"hostname": "hostname", "pipe": "pipe", "connection": "connection", "connection_requests": "connection_requests",
	"query_string": "query_string", "args": "query_string", "content_type": "content_type",
	// Envoy, Istio and Traefik, through their presets and Envoy format strings.
	"duration_ms": "request_time", "upstream_cluster": "upstream_name",
	"downstream_remote_address": "client", "router_name": "router",
}

// fieldName is the dimension name of an nginx variable.
func fieldName(v string) string {
	if c, ok := canonical[v]; ok {
		return c
	}
	if strings.HasPrefix(v, "http_x_") && len(v) > len("http_x_") {
		return v[len("http_x_"):] // $http_x_region → region
	}
	return v
}

// ParseFormat compiles a preset name or an nginx log_format string given
// verbatim (with or without the surrounding quotes, the "log_format NAME"
// prefix and the trailing ';' users paste from nginx.conf).
func ParseFormat(spec string) (*Format, error) {
	s := strings.TrimSpace(spec)
	if strings.ContainsAny(s, "\r\n") {
		// No line holds a newline: one in the format is a line break of
		// the config file or of a terminal that wrapped a copied format.
		var parts []string
		for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
			if l = strings.TrimSpace(l); l != "" {
				parts = append(parts, l)
			}
		}
		s = strings.Join(parts, " ")
	}
	if s == "" {
		return nil, fmt.Errorf("empty log format: give a preset (%s) or an nginx log_format string", strings.Join(PresetNames, ", "))
	}
	if p, ok := Presets[strings.ToLower(s)]; ok {
		name := strings.ToLower(s)
		switch name {
		case "alb":
			return &Format{Name: name, names: albNames, kind: kindALB}, nil
		case "json":
			return &Format{Name: name, kind: kindJSON}, nil
		case "haproxy":
			return &Format{Name: name, names: haproxyNames, kind: kindHAProxy}, nil
		case "w3c":
			return &Format{Name: name, kind: kindW3C}, nil // the columns come with the file
		case "logfmt":
			return &Format{Name: name, kind: kindLogfmt}, nil
		}
		if es, ok := fromEnvoy(p); ok {
			p = es
		}
		f, err := compileNginx(p)
		if err != nil {
			return nil, err
		}
		f.Name = name
		return f, nil
	}
	if strings.Contains(s, "$") {
		s = unwrapLogFormat(s)
	} else if es, ok := fromEnvoy(s); ok {
		s = es // not unwrapped: an Envoy format may open with a quote
	} else {
		return nil, fmt.Errorf("log format %q is neither a preset (%s), an nginx log_format string (it has no $variables) nor an Envoy format string (it has no %%OPERATORS%%)", spec, strings.Join(PresetNames, ", "))
	}
	f, err := compileNginx(s)
	if err != nil {
		return nil, err
	}
	f.Name = "custom"
	return f, nil
}

// unwrapLogFormat strips what users paste around the format itself:
// `log_format main escape=json '…' '…';` → the concatenated strings.
func unwrapLogFormat(s string) string {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), ";"))
	if strings.HasPrefix(s, "log_format") {
		rest := strings.TrimSpace(s[len("log_format"):])
		for rest != "" && rest[0] != '\'' && rest[0] != '"' {
			i := strings.IndexAny(rest, " \t\n")
			if i < 0 {
				return rest
			}
			rest = strings.TrimSpace(rest[i:])
		}
		s = rest
	}
	if s == "" || (s[0] != '\'' && s[0] != '"') {
		return s
	}
	// Concatenate nginx's adjacent quoted strings.
	var b strings.Builder
	for s != "" {
		q := s[0]
		if q != '\'' && q != '"' {
			break
		}
		// nginx's quoted strings know \t, \n, \r and escaped quotes.
		i := 1
		for ; i < len(s) && s[i] != q; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				switch s[i] {
				case 't':
					b.WriteByte('\t')
				case 'n':
					b.WriteByte('\n')
				case 'r':
					b.WriteByte('\r')
				default:
					b.WriteByte(s[i])
				}
				continue
			}
			b.WriteByte(s[i])
		}
		if i >= len(s) {
			break
		}
		s = strings.TrimSpace(s[i+1:])
	}
	return b.String()
}

func isVarByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func compileNginx(spec string) (*Format, error) {
	f := &Format{Spec: spec, kind: kindNginx}
	var lit strings.Builder
	seen := map[string]bool{}
	flush := func() {
		if lit.Len() > 0 {
			f.tokens = append(f.tokens, token{lit: lit.String(), out: -1})
			lit.Reset()
		}
	}
	for i := 0; i < len(spec); {
		c := spec[i]
		if c != '$' {
			lit.WriteByte(c)
			i++
			continue
		}
		// $name or ${name}
		j := i + 1
		var v string
		if j < len(spec) && spec[j] == '{' {
			end := strings.IndexByte(spec[j:], '}')
			if end < 0 {
				return nil, fmt.Errorf("log format: unclosed ${ at byte %d", i)
			}
			v = spec[j+1 : j+end]
			i = j + end + 1
		} else {
			for j < len(spec) && isVarByte(spec[j]) {
				j++
			}
			v = spec[i+1 : j]
			i = j
		}
		if v == "" {
			lit.WriteByte('$')
			continue
		}
		flush()
		if n := len(f.tokens); n > 0 && f.tokens[n-1].v != "" {
			return nil, fmt.Errorf("log format: $%s follows $%s with nothing between them, so the line cannot be split", v, f.tokens[n-1].v)
		}
		t := token{v: v, out: -1, list: strings.HasPrefix(v, "upstream_")}
		switch v {
		case "time_local":
			t.role = roleTimeLocal
		case "time_iso8601":
			t.role = roleTimeISO
		case "msec":
			t.role = roleMsec
		case "request":
			t.role = roleRequest
		default:
			name := fieldName(v)
			if seen[name] {
				name = v // two variables mapping to one name: the second keeps its own
			}
			seen[name] = true
			t.out = len(f.names)
			f.names = append(f.names, name)
			switch name {
			case "status":
				t.role = roleStatus
			case "request_time":
				t.role = roleRequestTime
				if v == "duration_ms" {
					t.role = roleRequestTimeMs
				}
			case "client":
				t.role = roleClient
			}
		}
		f.tokens = append(f.tokens, t)
	}
	flush()
	vars := 0
	for k, t := range f.tokens {
		if t.v == "" {
			continue
		}
		vars++
		if t.role == roleRequest { // $request expands into three fields
			f.tokens[k].out = len(f.names)
			f.names = append(f.names, "method", "uri", "protocol")
		}
	}
	if vars == 0 {
		return nil, fmt.Errorf("log format %q has no $variables", spec)
	}
	f.compileSteps()
	return f, nil
}

// step is one variable of an nginx format as the parser walks it: the
// literal that must open the line before it (first variable only), and the
// literal that ends it, split into its first byte (searched for) and the
// rest (compared in place). c, rest and esc could be derived from term on
// each call; doing so cost the reader 3% more instructions per line.
type step struct {
	tok  *token
	lead string // literal required at the current position first ("" if none)
	term string // literal that ends the value ("" for a final variable)
	c    byte   // term[0]
	rest string // term[1:]
	// esc: the terminator opens with a quote, which must not be one
	// escaped with a backslash inside the value.
	esc bool
	// list: an upstream list whose terminator opens with a space (or
	// that ends the format).
	list bool
}

// compileSteps turns the token list into steps. Two variables always have
// a literal between them (parseSpec refuses the rest), so each literal is
// either the line's opening or the terminator of the variable before it.
func (f *Format) compileSteps() {
	lead := ""
	for k := 0; k < len(f.tokens); k++ {
		t := &f.tokens[k]
		if t.v == "" {
			lead = t.lit // only the opening literal reaches here
			continue
		}
		s := step{tok: t, lead: lead}
		lead = ""
		if k+1 < len(f.tokens) {
			k++
			s.term = f.tokens[k].lit
			s.c, s.rest = s.term[0], s.term[1:]
			s.esc = s.c == '"'
			s.list = t.list && s.c == ' '
		} else {
			s.list = t.list // a final list ends at a space outside it
		}
		f.steps = append(f.steps, s)
	}
}

// Fields returns the names of the raw fields this format produces. The
// derived dimensions come before them in each Request (see DerivedFields).
func (f *Format) Fields() []string { return append([]string(nil), f.names...) }

// DerivedFields lists the derived dimensions every Request starts with.
func DerivedFields() []string { return append([]string(nil), derivedNames...) }

func (f *Format) String() string { return f.Name }
