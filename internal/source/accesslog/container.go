package accesslog

import (
	"bytes"
	"path/filepath"
	"strings"
)

// container is the wrapper a container runtime or kubectl puts around each
// line a proxy writes: the files under /var/log/containers and
// /var/log/pods on a node, Docker's json-file logs, and the output of
// kubectl logs --timestamps. Each input is read through at most one.
type container uint8

const (
	noContainer container = iota
	// containerCRI: 2026-11-20T12:00:00.123456789Z stdout F <line>
	// (containerd and CRI-O; P marks a line the runtime split).
	containerCRI
	// containerDocker: {"log":"<line>\n","stream":"stdout","time":"…"}
	containerDocker
	// containerTimestamps: 2026-11-20T12:00:00.123456789Z <line>
	// (kubectl logs --timestamps).
	containerTimestamps
)

var containerNames = [...]string{"", "cri", "docker", "timestamps"}

func (c container) String() string { return containerNames[c] }

// unwrapped is one line out of its container wrapper.
type unwrapped struct {
	line    []byte // what the proxy wrote
	stamp   []byte // the runtime's RFC 3339 time of the line
	stderr  bool   // written to standard error: the proxy's own log
	partial bool   // the runtime split a long line; this is a piece
}

// unwrap takes l out of c's wrapper; ok is false when l does not carry
// it. Docker's escaped strings are unescaped into *scratch.
func (c container) unwrap(l []byte, scratch *[]byte) (u unwrapped, ok bool) {
	switch c {
	case containerCRI:
		n := stampLen(l)
		if n == 0 {
			return u, false
		}
		rest := l[n+1:]
		switch {
		case bytes.HasPrefix(rest, []byte("stdout ")):
		case bytes.HasPrefix(rest, []byte("stderr ")):
			u.stderr = true
		default:
			return u, false
		}
		// The tag: F (full) or P (partial), possibly with more
		// colon-separated tags after it.
		tag, line, _ := bytes.Cut(rest[7:], []byte{' '})
		if len(tag) == 0 || (tag[0] != 'F' && tag[0] != 'P') || (len(tag) > 1 && tag[1] != ':') {
			return u, false
		}
		u.partial = tag[0] == 'P'
		u.stamp, u.line = l[:n], line
		return u, true
	case containerDocker:
		s, stream, stamp, ok := dockerFields(l, scratch)
		if !ok {
			return u, false
		}
		// Docker ends every whole line with its newline; a piece of a
		// line it split (over 16 KiB) has none.
		if n := len(s); n > 0 && s[n-1] == '\n' {
			s = s[:n-1]
			if n := len(s); n > 0 && s[n-1] == '\r' {
				s = s[:n-1]
			}
		} else {
			u.partial = true
		}
		u.line, u.stderr, u.stamp = s, string(stream) == "stderr", stamp
		return u, true
	case containerTimestamps:
		n := stampLen(l)
		if n == 0 {
			return u, false
		}
		u.stamp, u.line = l[:n], l[n+1:]
		return u, true
	}
	return unwrapped{line: l}, true
}

// dockerFields reads a json-file line: an object with the string "log"
// and "stream" or "time" (Docker writes them in that order, with no
// space; a shipper that wrote the line again may not).
func dockerFields(l []byte, scratch *[]byte) (log, stream, stamp []byte, ok bool) {
	i := skipWS(l, 0)
	if i >= len(l) || l[i] != '{' {
		return nil, nil, nil, false
	}
	*scratch = (*scratch)[:0]
	haveLog, others := false, false
	for i = skipWS(l, i+1); i < len(l) && l[i] == '"'; {
		key, next, ok := unquote(scratch, l, i)
		if !ok {
			return nil, nil, nil, false
		}
		if i = skipWS(l, next); i >= len(l) || l[i] != ':' {
			return nil, nil, nil, false
		}
		i = skipWS(l, i+1)
		var v []byte
		isString := i < len(l) && l[i] == '"'
		if isString {
			if v, next, ok = unquote(scratch, l, i); !ok {
				return nil, nil, nil, false
			}
		} else if next, ok = skipScalar(l, i); !ok {
			return nil, nil, nil, false
		}
		switch string(key) {
		case "log":
			log, haveLog = v, isString
		case "stream":
			stream, others = v, true
		case "time":
			stamp, others = v, true
		}
		if i = skipWS(l, next); i < len(l) && l[i] == ',' {
			i = skipWS(l, i+1)
		}
	}
	return log, stream, stamp, haveLog && others && i < len(l) && l[i] == '}'
}

// skipScalar returns the end of the number, literal, array or object at
// l[i].
func skipScalar(l []byte, i int) (int, bool) {
	if i < len(l) && (l[i] == '{' || l[i] == '[') {
		return skipJSONValue(l, i)
	}
	j := scalarEnd(l, i)
	return j, j > i
}

// stampLen returns the length of the RFC 3339 time that opens l and is
// followed by a space (2026-11-20T12:00:00.123456789Z, or with an offset),
// or 0.
func stampLen(l []byte) int {
	if len(l) < 21 || l[4] != '-' || l[7] != '-' || l[10] != 'T' || l[13] != ':' || l[16] != ':' {
		return 0
	}
	end := bytes.IndexByte(l[19:min(len(l), 19+30)], ' ')
	if end < 0 {
		return 0
	}
	end += 19
	if _, ok := parseISO(l[:end]); !ok {
		return 0
	}
	return end
}

// detectContainer returns the wrapper most of the sample lines carry, or
// noContainer. A line that is only a time and text (kubectl's
// --timestamps) is ambiguous with a log_format that opens with
// $time_iso8601, so that wrapper is only a candidate: the caller drops it
// when the lines parse better with the time in them.
func detectContainer(lines [][]byte) container {
	if len(lines) == 0 {
		return noContainer
	}
	var count [len(containerNames)]int
	var scratch []byte
	for _, l := range lines {
		for c := containerCRI; c <= containerTimestamps; c++ {
			if _, ok := c.unwrap(l, &scratch); ok {
				count[c]++
				break
			}
		}
	}
	best := noContainer
	for c := containerCRI; c <= containerTimestamps; c++ {
		if count[c]*2 > len(lines) && (best == noContainer || count[c] > count[best]) {
			best = c
		}
	}
	return best
}

// unwrapSample takes the sample lines out of their wrapper for format
// detection, leaving out standard error (the proxy's own log) when
// standard output has lines.
func (c container) unwrapSample(lines [][]byte) [][]byte {
	var out, errs [][]byte
	for _, l := range lines {
		var scratch []byte // each line keeps its own: the sample outlives the loop
		u := unwrapLine(c, l, &scratch)
		switch {
		case u.partial || len(u.line) == 0:
		case u.stderr:
			errs = append(errs, u.line)
		default:
			out = append(out, u.line)
		}
	}
	if len(out) == 0 {
		return errs
	}
	return out
}

// containerSource names an input read from a node's /var/log/pods, where
// every file is called 0.log, 1.log… (rotated: 0.log.20261120-120000):
// <namespace>_<pod>_<uid>/<container>/0.log is the source <pod>/<container>,
// so that the dimension source tells the pods apart. Other paths keep
// their base name.
func containerSource(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), ".gz")
	num, rest, _ := strings.Cut(base, ".")
	if !isDigits([]byte(num)) || !strings.HasPrefix(rest, "log") {
		return base
	}
	dir := filepath.Dir(path)
	parts := strings.Split(filepath.Base(filepath.Dir(dir)), "_")
	if len(parts) != 3 || parts[1] == "" {
		return base
	}
	return parts[1] + "/" + filepath.Base(dir)
}
