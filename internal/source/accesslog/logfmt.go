package accesslog

import (
	"strconv"
)

// logfmt lines are key=value pairs, values bare or "quoted": Heroku's
// router log, the text logs of many Go services (logrus, log/slog's text
// handler). They are read as JSON objects are — keys map to fields by the
// same names (status, method, path, duration …) — after an optional prefix
// that is not a pair: a timestamp and a syslog tag ("2026-11-20T12:00:00.123456+00:00
// heroku[router]: "), the timestamp being the time when no key gives one.

// logfmtAliases are keys whose meaning in logfmt logs differs from JSON's
// or that only logfmt logs use: Heroku's router writes the dyno that
// served the request, the client's address as fwd, the router's error
// code (code=H12, a status in JSON logs), its level as at=error and the
// app's time as service=18ms.
var logfmtAliases = map[string]jsonKey{
	"dyno":    {name: "upstream_addr", unit: 1},
	"fwd":     {name: "forwarded_for", unit: 1},
	"code":    {name: "error_code", unit: 1},
	"desc":    {name: "error_desc", unit: 1},
	"service": {name: "request_time", unit: 1},
	"connect": {name: "connect_time", unit: 1},
	"at":      {name: "level", unit: 1},
}

// parseLogfmt reads one logfmt line.
func (p *parser) parseLogfmt(line []byte) string {
	js := p.json
	js.scratch = js.scratch[:0]
	js.k = 0
	start := logfmtStart(line)
	if start < 0 {
		return "no key=value pair"
	}
	pairs := 0
	for i := start; i < len(line); {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		if i == len(line) {
			break
		}
		k := i
		for i < len(line) && isKeyByte(line[i]) {
			i++
		}
		if i == k || i == len(line) || line[i] != '=' {
			return "expected key=value at column " + strconv.Itoa(k+1)
		}
		key := line[k:i]
		i++
		var v []byte
		if i < len(line) && line[i] == '"' {
			var ok bool
			v, i, ok = unquote(&js.scratch, line, i)
			if !ok {
				return "unterminated quoted value of " + string(key)
			}
			if i < len(line) && line[i] != ' ' {
				return "text after the quoted value of " + string(key)
			}
		} else {
			e := i
			for e < len(line) && line[e] != ' ' {
				e++
			}
			v, i = line[i:e], e
		}
		p.raw[p.slotAt(key)] = v
		pairs++
	}
	if pairs < 3 {
		return "fewer than 3 key=value pairs"
	}
	if reason := p.interpretKeyed(); reason != "" {
		return reason
	}
	if p.req.Time == 0 && start > 0 {
		// The prefix's first word: heroku logs' and syslog's timestamp.
		w := line[:start]
		for j, c := range w {
			if c == ' ' {
				w = w[:j]
				break
			}
		}
		if ns, ok := parseISO(w); ok {
			p.req.Time = ns
		}
	}
	return ""
}

// logfmtStart is where the line's first key=value pair starts: at a word
// (after a space, or the line's start) made of key bytes up to '='; -1
// when there is none.
func logfmtStart(line []byte) int {
	for i := 0; i < len(line); {
		j := i
		for j < len(line) && isKeyByte(line[j]) {
			j++
		}
		if j > i && j < len(line) && line[j] == '=' && isKeyStart(line[i]) {
			return i
		}
		for j < len(line) && line[j] != ' ' {
			j++
		}
		for j < len(line) && line[j] == ' ' {
			j++
		}
		i = j
	}
	return -1
}
