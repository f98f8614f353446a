package accesslog

import (
	"bytes"
	"sort"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// errorKinds maps what nginx's error log says about an upstream to a kind,
// in the order they are tried: nginx's own texts and the errno strings of
// the system calls it names.
var errorKinds = []struct{ text, kind string }{
	{"upstream timed out", "upstream timed out"},
	{"Connection refused", "connection refused"},
	{"No route to host", "no route to host"},
	{"Network is unreachable", "no route to host"},
	{"Host is unreachable", "no route to host"},
	{"Connection reset by peer", "connection reset"},
	{"upstream prematurely closed connection", "upstream closed the connection"},
	{"no live upstreams", "no live upstreams"},
	{"could not be resolved", "upstream name not resolved"},
	{"host not found in upstream", "upstream name not resolved"},
	{"certificate has expired", "upstream certificate expired"},
	{"certificate verify", "upstream certificate not trusted"},
	{"SSL_do_handshake() failed", "TLS handshake with the upstream failed"},
	{"upstream server temporarily disabled", "upstream marked down (max_fails)"},
	{"upstream sent too big header", "upstream sent too big a header"},
	{"upstream sent invalid", "upstream sent an invalid response"},
}

// maxErrorPairs bounds the kinds × upstreams one worker counts; the rest
// are counted under the upstream "other".
const maxErrorPairs = 1024

// errorLog counts one worker's error-log lines by kind, upstream and
// minute.
type errorLog struct {
	counts map[signal.ProxyError]int64
	pairs  map[[2]string]bool
}

func newErrorLog() *errorLog {
	return &errorLog{counts: map[signal.ProxyError]int64{}, pairs: map[[2]string]bool{}}
}

// errorLogLine reports whether l is laid out as a line of nginx's error
// log: 2026/11/20 12:00:00 [level] …
func errorLogLine(l []byte) bool {
	return len(l) > 22 && isDigits(l[0:4]) && l[4] == '/' && l[7] == '/' && l[10] == ' ' && l[13] == ':' &&
		l[16] == ':' && l[19] == ' ' && l[20] == '['
}

// add counts an error-log line; it returns false when l is not one nginx
// wrote. stamp, when set, is the container runtime's time of the line;
// offset is the access log's UTC offset in seconds (nginx writes its error
// log in local time with no zone).
func (e *errorLog) add(l, stamp []byte, offset int) bool {
	// 2026/11/20 12:00:00 [error] 31#31: *4501 upstream timed out (110:
	// Operation timed out) while reading response header from upstream,
	// client: 10.0.0.1, server: _, request: "GET / HTTP/1.1", upstream:
	// "http://10.1.2.3:8080/", host: "shop"
	if !errorLogLine(l) {
		return false
	}
	y, mo, d, h, mi, s, ok := civil(l)
	if !ok {
		return false
	}
	end := bytes.IndexByte(l[21:], ']')
	if end < 0 {
		return false
	}
	level := l[21 : 21+end]
	msg := l[21+end+1:]
	// "31#31: " then, for a request's connection, "*4501 "
	if i := bytes.Index(msg, []byte(": ")); i >= 0 && bytes.IndexByte(msg[:i], '#') >= 0 {
		msg = msg[i+2:]
	}
	if len(msg) > 0 && msg[0] == '*' {
		if i := bytes.IndexByte(msg, ' '); i >= 0 {
			msg = msg[i+1:]
		}
	}
	var upstream []byte
	if i := bytes.Index(msg, []byte(`, upstream: "`)); i >= 0 {
		u := msg[i+13:]
		if j := bytes.IndexByte(u, '"'); j >= 0 {
			upstream = hostPort(u[:j])
		}
	}
	if i := bytes.Index(msg, []byte(", client: ")); i >= 0 {
		msg = msg[:i]
	}
	kind := ""
	for _, k := range errorKinds {
		if bytes.Contains(msg, []byte(k.text)) {
			kind = k.kind
			break
		}
	}
	if kind == "" {
		// A kind nginx has no fixed text for: counted only at error level
		// and above (warnings are mostly buffering notices), by its
		// first words.
		switch string(level) {
		case "error", "crit", "alert", "emerg":
			kind = firstWords(msg)
		default:
			return true
		}
	}
	var sec int64
	if t, ok := parseISO(stamp); ok && len(stamp) > 0 {
		sec = t / 1e9
	} else {
		sec = unixNano(y, mo, d, h, mi, s, 0, offset) / 1e9
	}
	pair := [2]string{kind, string(upstream)}
	if !e.pairs[pair] {
		if len(e.pairs) >= maxErrorPairs {
			pair[1] = "other"
		}
		e.pairs[pair] = true
	}
	e.counts[signal.ProxyError{Minute: sec - sec%60, Kind: pair[0], Upstream: pair[1]}]++
	return true
}

// firstWords names a message nginx has no fixed text for by its words up
// to the first parenthesis, quote, colon or "while": open() "/x" failed (2:
// No such file or directory) → open().
func firstWords(msg []byte) string {
	end := len(msg)
	for _, stop := range []string{" (", ` "`, ": ", " while ", ","} {
		if i := bytes.Index(msg, []byte(stop)); i >= 0 && i < end {
			end = i
		}
	}
	if end > 60 {
		end = 60
	}
	return string(bytes.TrimSpace(msg[:end]))
}

// merge adds another worker's counts.
func (e *errorLog) merge(o *errorLog) {
	for k, n := range o.counts {
		e.counts[k] += n
	}
}

// list returns the counts, sorted by minute, kind and upstream.
func (e *errorLog) list() []signal.ProxyError {
	out := make([]signal.ProxyError, 0, len(e.counts))
	for k, n := range e.counts {
		k.Count = n
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Minute != b.Minute {
			return a.Minute < b.Minute
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Upstream < b.Upstream
	})
	return out
}

// offset returns the UTC offset, in seconds, of the last $time_local the
// parser read (0 when none): the zone of the error log's local times.
func (d *deriver) offset() int {
	b := d.lastTL
	if len(b) < 5 {
		return 0
	}
	z := b[len(b)-5:]
	h, ok1 := num(z[1:3])
	m, ok2 := num(z[3:5])
	if (z[0] != '+' && z[0] != '-') || !ok1 || !ok2 {
		return 0
	}
	if z[0] == '-' {
		return -(h*3600 + m*60)
	}
	return h*3600 + m*60
}
