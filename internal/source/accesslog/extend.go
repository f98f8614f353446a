package accesslog

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Teams often append fields to a preset: nginx's default "main" format is
// combined and "$http_x_forwarded_for"; many add $request_time and the
// upstream's address, status and time, bare, quoted or as key=value pairs
// (NGINX Amplify's "main_ext": rt=$request_time ua="$upstream_addr" …).
// Read with the preset alone, those fields are lost — the request time and
// the upstream first. extend reads them: it splits what the preset leaves
// over on each sample line into columns, names each column from its key
// or from its values, and compiles the preset's log_format with the
// columns appended. The names are a guess the report shows, with the
// log_format to correct them.

// maxExtraColumns bounds the columns extend appends.
const maxExtraColumns = 24

// extraCol is one appended column as a sample line shows it.
type extraCol struct {
	sep   string // the literal before the value: spaces, and "key=" if any
	key   string
	quote byte // '"', '[' or 0 for a bare value
}

// splitExtra splits the text a format left over into columns: values bare
// (up to a space, an upstream list's ", " and " : " included), quoted or
// in brackets, each after spaces and an optional key=. ok is false when
// the text does not split so (a stray quote, a value glued to the next).
func splitExtra(rest []byte) (cols []extraCol, vals []string, ok bool) {
	i := 0
	for i < len(rest) {
		j := i
		for j < len(rest) && rest[j] == ' ' {
			j++
		}
		if j == i || j == len(rest) || len(cols) == maxExtraColumns {
			return nil, nil, false // values must be apart; no trailing spaces
		}
		c := extraCol{}
		k := j
		if isKeyStart(rest[k]) {
			for k < len(rest) && isKeyByte(rest[k]) {
				k++
			}
			if k < len(rest) && rest[k] == '=' {
				c.key = string(rest[j:k])
				k++
			} else {
				k = j
			}
		}
		c.sep = string(rest[i:k])
		var v []byte
		switch {
		case k < len(rest) && (rest[k] == '"' || rest[k] == '['):
			c.quote = rest[k]
			closer := byte('"')
			if c.quote == '[' {
				closer = ']'
			}
			e := k + 1
			for e < len(rest) && (rest[e] != closer || (closer == '"' && rest[e-1] == '\\' && e > k+1)) {
				e++
			}
			if e == len(rest) {
				return nil, nil, false
			}
			v, i = rest[k+1:e], e+1
			if i < len(rest) && rest[i] != ' ' {
				return nil, nil, false
			}
		default:
			e := k
			for e < len(rest) {
				if rest[e] != ' ' {
					e++
					continue
				}
				// nginx's upstream lists: "a:80, b:80" and "a:80 : b:80".
				if e > k && rest[e-1] == ',' {
					e++
					continue
				}
				if e+2 < len(rest) && rest[e+1] == ':' && rest[e+2] == ' ' {
					e += 3
					continue
				}
				break
			}
			if c.key != "" && e == k {
				return nil, nil, false
			}
			v, i = rest[k:e], e
		}
		cols = append(cols, c)
		vals = append(vals, string(v))
	}
	return cols, vals, len(cols) > 0
}

func isKeyStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isKeyByte(c byte) bool  { return isKeyStart(c) || c >= '0' && c <= '9' || c == '-' || c == '.' }

// keyHints names the short keys of the widely copied extended formats
// (NGINX Amplify's main_ext, NGINX's blog on logging for performance
// monitoring, Angie's "extended"), each with the shape its values must
// have for the hint to be taken.
var keyHints = map[string]struct {
	v     string
	shape shape
}{
	"rt":  {"request_time", shapeSeconds},
	"ut":  {"upstream_response_time", shapeSeconds},
	"urt": {"upstream_response_time", shapeSeconds},
	"uct": {"upstream_connect_time", shapeSeconds},
	"uht": {"upstream_header_time", shapeSeconds},
	"ua":  {"upstream_addr", shapeHostPort},
	"us":  {"upstream_status", shapeStatus},
	"ul":  {"upstream_response_length", shapeAny},
	"cs":  {"upstream_cache_status", shapeAny},
	"ucs": {"upstream_cache_status", shapeAny},
	"sn":  {"server_name", shapeAny},
	"h":   {"host", shapeAny},
}

type shape int

const (
	shapeAny shape = iota
	shapeHostPort
	shapeSeconds  // nginx's times: seconds with three decimals
	shapeSecondsL // the same, with lists or "-" (an upstream's time)
	shapeStatus
	shapeIPList
	shapeHostName
)

// columnShape is the most specific shape every non-empty value of a column
// has (shapeAny when they share none, or all are "-").
func columnShape(vals []string) shape {
	var n, dashes, hostPort, secs, secsL, status, ips, hosts int
	for _, v := range vals {
		if v == "-" {
			dashes++
		}
		if v == "" || v == "-" {
			continue
		}
		n++
		items, list := listItems(v)
		all := func(pred func(string) bool) bool {
			for _, it := range items {
				if it != "-" && !pred(it) {
					return false
				}
			}
			return true
		}
		if all(isHostPort) {
			hostPort++
		}
		if all(isSeconds) {
			secs++
			if list {
				secsL++
			}
		}
		if all(isStatusCode) {
			status++
		}
		if isIPList(v) {
			ips++
		}
		if isHostName(v) {
			hosts++
		}
	}
	switch {
	case n == 0:
		return shapeAny
	case hostPort == n:
		return shapeHostPort
	case secs == n:
		if secsL > 0 || dashes > 0 {
			return shapeSecondsL
		}
		return shapeSeconds
	case status == n:
		return shapeStatus
	case ips == n:
		return shapeIPList
	case hosts == n:
		return shapeHostName
	}
	return shapeAny
}

// listItems splits one of nginx's upstream lists ("a, b : c").
func listItems(v string) ([]string, bool) {
	if !strings.Contains(v, ", ") && !strings.Contains(v, " : ") {
		return []string{v}, false
	}
	return strings.FieldsFunc(strings.ReplaceAll(v, " : ", ", "), func(r rune) bool { return r == ',' || r == ' ' }), true
}

func isHostPort(s string) bool {
	if strings.HasPrefix(s, "unix:") {
		return len(s) > len("unix:")
	}
	i := strings.LastIndexByte(s, ':')
	if i <= 0 || i == len(s)-1 || len(s)-i-1 > 5 {
		return false
	}
	for _, c := range s[i+1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	host := s[:i]
	if host[0] == '[' {
		_, err := netip.ParseAddr(strings.Trim(host, "[]"))
		return err == nil && host[len(host)-1] == ']'
	}
	for _, c := range host {
		if !(c == '.' || c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// isSeconds: nginx writes $request_time and the upstream times as seconds
// with milliseconds ("0.004"); an epoch ($msec) has more integer digits.
func isSeconds(s string) bool {
	d := strings.IndexByte(s, '.')
	if d < 1 || d > 6 || len(s)-d-1 != 3 {
		return false
	}
	for i, c := range s {
		if i != d && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func isStatusCode(s string) bool {
	return len(s) == 3 && s[0] >= '1' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9'
}

// isIPList: X-Forwarded-For, "203.0.113.7, 10.0.0.1".
func isIPList(s string) bool {
	for _, it := range strings.Split(s, ",") {
		if _, err := netip.ParseAddr(strings.TrimSpace(it)); err != nil {
			return false
		}
	}
	return true
}

// isHostName: a dotted name with a letter in its last label (not an
// address, not a path).
func isHostName(s string) bool {
	if len(s) < 3 || s[0] == '.' || s[len(s)-1] == '.' || !strings.Contains(s, ".") {
		return false
	}
	for _, c := range s {
		if !(c == '.' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	last := s[strings.LastIndexByte(s, '.')+1:]
	return strings.IndexFunc(last, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }) >= 0
}

// roleVars are variables whose name gives them a role in the parse; a key
// never names a column after one of them.
var roleVars = map[string]bool{"time_local": true, "time_iso8601": true, "msec": true, "request": true}

// extension is what extend found: the format with the columns appended and
// the names it gave them.
type extension struct {
	f     *Format
	names []string
}

// extend appends to base the columns that the sample lines carry after it
// (see the comment at the top). It needs every line base parses to leave
// the same columns over, and the extended format to parse them all.
func extend(base *Format, lines [][]byte) (extension, bool) {
	if base.kind != kindNginx || base.Spec == "" {
		return extension{}, false
	}
	p := newParser(base, "detect")
	var sig []extraCol
	var colVals [][]string
	parsed := 0
	for _, l := range lines {
		if p.parse(l) != "" {
			continue
		}
		parsed++
		cols, vals, ok := splitExtra(l[p.end:])
		if !ok {
			return extension{}, false
		}
		if sig == nil {
			sig, colVals = cols, make([][]string, len(cols))
		} else if !slices.Equal(sig, cols) {
			return extension{}, false
		}
		for i, v := range vals {
			colVals[i] = append(colVals[i], v)
		}
	}
	if parsed == 0 {
		return extension{}, false
	}
	used := map[string]bool{}
	for _, n := range base.names {
		used[n] = true
	}
	shapes := make([]shape, len(sig))
	upstream := false
	for i := range sig {
		shapes[i] = columnShape(colVals[i])
		if shapes[i] == shapeHostPort || keyHints[sig[i].key].v == "upstream_addr" || sig[i].key == "upstream_addr" {
			upstream = true
		}
	}
	vars := make([]string, len(sig))
	extra := 0
	take := func(v string) bool {
		if v == "" || roleVars[v] || used[fieldName(v)] {
			return false
		}
		used[fieldName(v)] = true
		return true
	}
	for i, c := range sig {
		v := ""
		if c.key != "" {
			key := strings.ToLower(strings.NewReplacer("-", "_", ".", "_").Replace(c.key))
			if h, ok := keyHints[key]; ok && (h.shape == shapeAny || h.shape == shapes[i] || h.shape == shapeSeconds && shapes[i] == shapeSecondsL) && take(h.v) {
				v = h.v
			} else if _, ok := canonical[key]; ok && take(key) {
				v = key
			} else if shapes[i] == shapeHostPort && take("upstream_addr") {
				v = "upstream_addr"
			} else if take(key) {
				v = key
			}
		} else {
			switch shapes[i] {
			case shapeHostPort:
				v = "upstream_addr"
			case shapeSeconds:
				v = "request_time"
			case shapeSecondsL:
				v = "upstream_response_time"
			case shapeStatus:
				if upstream {
					v = "upstream_status"
				}
			case shapeIPList:
				v = "http_x_forwarded_for"
			case shapeHostName:
				v = "host"
			}
			if shapes[i] == shapeSeconds && used["request_time"] {
				v = "upstream_response_time"
			}
			if !take(v) {
				v = ""
			}
		}
		for v == "" {
			extra++
			if n := fmt.Sprintf("extra_%d", extra); take(n) {
				v = n
			}
		}
		vars[i] = v
	}
	var spec strings.Builder
	spec.WriteString(base.Spec)
	names := make([]string, len(sig))
	for i, c := range sig {
		spec.WriteString(c.sep)
		closer := ""
		switch c.quote {
		case '"':
			spec.WriteByte('"')
			closer = `"`
		case '[':
			spec.WriteByte('[')
			closer = "]"
		}
		spec.WriteString("$" + vars[i] + closer)
		names[i] = fieldName(vars[i])
	}
	f, err := compileNginx(spec.String())
	if err != nil {
		return extension{}, false
	}
	f.Name = base.Name
	if n, exact := parseCounts(f, lines); n != parsed || exact != parsed {
		return extension{}, false
	}
	return extension{f: f, names: names}, true
}
