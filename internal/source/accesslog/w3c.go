package accesslog

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// The W3C extended log file format — Microsoft IIS's default, Amazon
// CloudFront's standard logs — names its columns in a #Fields directive at
// the top of each file ("#Fields: date time c-ip cs-method cs-uri-stem
// sc-status …"); the values follow, space-separated (IIS, which writes a
// space inside a value as '+') or tab-separated (CloudFront).

// w3cNames gives the W3C fields other formats share sitrep's names; the
// others keep theirs, lower-cased with '-' and '(' as '_' (x-edge-location
// → x_edge_location, cs(Cookie) → cs_cookie).
var w3cNames = map[string]string{
	"c-ip": "client", "cs-method": "method", "cs-uri-stem": "uri", "cs-uri-query": "query_string",
	"sc-status": "status", "time-taken": "request_time", "cs(user-agent)": "user_agent",
	"cs(referer)": "referer", "cs(referrer)": "referer", "cs-host": "host", "cs(host)": "host",
	"x-host-header": "host", "s-ip": "server_addr", "s-port": "server_port", "cs-username": "remote_user",
	"sc-bytes": "bytes", "cs-bytes": "request_length", "cs-protocol": "scheme",
	"cs-protocol-version": "protocol", "cs-version": "protocol", "x-forwarded-for": "forwarded_for",
	"s-computername": "hostname", "s-sitename": "site",
}

// w3cOwnName spells a W3C field sitrep has no name for as a field name.
var w3cOwnName = strings.NewReplacer("-", "_", "(", "_", ")", "")

// w3cLayout is where a W3C log's #Fields put what the Request needs.
type w3cLayout struct {
	cols              int
	date, time        int  // columns (read into Request.Time, not fields)
	status, taken, cl int  // -1 when absent
	takenMs           bool // IIS writes time-taken in milliseconds, CloudFront in seconds
}

// w3cDirective reports whether a line is one of the format's directives
// (#Version, #Fields, #Software, #Date, #Remark, #Start-Date, #End-Date),
// which are no requests.
func w3cDirective(line []byte) bool {
	if len(line) < 2 || line[0] != '#' {
		return false
	}
	for _, d := range []string{"#Fields:", "#Version:", "#Software:", "#Date:", "#Remark:", "#Start-Date:", "#End-Date:"} {
		if bytes.HasPrefix(line, []byte(d)) {
			return true
		}
	}
	return false
}

// w3cFields returns the first line of text that is a #Fields directive,
// or nil.
func w3cFields(text []byte) []byte {
	for len(text) > 0 {
		var l []byte
		l, text, _ = bytes.Cut(text, []byte{'\n'})
		if bytes.HasPrefix(l, []byte("#Fields:")) {
			return bytes.TrimRight(l, "\r")
		}
	}
	return nil
}

// w3cFormat compiles a W3C log's #Fields directive.
func w3cFormat(directive []byte) (*Format, error) {
	fields := strings.Fields(strings.TrimPrefix(string(directive), "#Fields:"))
	if len(fields) == 0 {
		return nil, fmt.Errorf("the #Fields directive names no field")
	}
	l := &w3cLayout{cols: len(fields), date: -1, time: -1, status: -1, taken: -1, cl: -1, takenMs: true}
	f := &Format{Name: "w3c", Spec: string(directive), kind: kindW3C, w3c: l}
	seen := map[string]bool{}
	for i, field := range fields {
		lf := strings.ToLower(field)
		if strings.HasPrefix(lf, "x-edge-") {
			l.takenMs = false // CloudFront: seconds, with milliseconds
		}
		switch lf {
		case "date":
			l.date = i
		case "time":
			l.time = i
		}
		own := w3cOwnName.Replace(lf)
		name, ok := w3cNames[lf]
		if !ok || seen[name] {
			name = own // CloudFront's x-host-header after cs(Host)
		}
		if seen[name] {
			name = own + "_" + strconv.Itoa(i)
		}
		seen[name] = true
		switch name {
		case "status":
			l.status = i
		case "request_time":
			l.taken = i
		case "client":
			l.cl = i
		}
		f.names = append(f.names, name)
	}
	if l.date < 0 || l.time < 0 || l.status < 0 {
		return nil, fmt.Errorf("the #Fields directive lacks date, time or sc-status: %s", directive)
	}
	return f, nil
}

// parseW3C reads one line of a W3C extended log: the columns the #Fields
// directive names, in its order.
func (p *parser) parseW3C(line []byte) string {
	l := p.f.w3c
	if l == nil {
		return "no #Fields directive before the first line: is this a W3C extended log?"
	}
	sep := byte(' ')
	if bytes.IndexByte(line, '\t') >= 0 {
		sep = '\t'
	}
	c := p.cols[:0]
	for {
		i := bytes.IndexByte(line, sep)
		if i < 0 {
			c = append(c, line)
			break
		}
		c = append(c, line[:i])
		line = line[i+1:]
	}
	p.cols = c
	if len(c) != l.cols {
		return "the line has " + strconv.Itoa(len(c)) + " fields, #Fields names " + strconv.Itoa(l.cols)
	}
	d, t := c[l.date], c[l.time]
	p.tbuf = append(append(append(append(p.tbuf[:0], d...), 'T'), t...), 'Z')
	ns, ok := parseISO(p.tbuf)
	if !ok {
		return "date and time " + strconv.Quote(string(d)+" "+string(t)) + " are not like 2026-11-20 12:00:00"
	}
	p.req.Time = ns
	st, ok := atoi3(c[l.status])
	if !ok {
		return "sc-status " + strconv.Quote(string(c[l.status])) + " is not a number"
	}
	p.req.Status = st
	copy(p.raw, c)
	p.raw[l.date], p.raw[l.time] = nil, nil
	if l.taken >= 0 {
		if s := parseSeconds(c[l.taken]); s >= 0 {
			if l.takenMs {
				s /= 1000
			}
			p.req.Duration = s
		}
	}
	if l.cl >= 0 {
		p.req.Client = p.raw[l.cl]
	}
	return ""
}
