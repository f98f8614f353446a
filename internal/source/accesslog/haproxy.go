package accesslog

import (
	"bytes"
	"strconv"
)

// haproxyNames are the fields of HAProxy's httplog format.
var haproxyNames = []string{
	"client", "client_port", "frontend", "backend", "server", "host",
	"timers", "status", "bytes", "termination_state", "retries",
	"method", "uri", "protocol", "captured_headers",
}

// parseHAProxy reads a syslog-prefixed HAProxy httplog line:
//
//	… haproxy[pid]: ci:cp [tr] ft b/s [host] TR/Tw/Tc/Tr/Ta ST B CC CS tsc ac/fc/bc/sc/rc sq/bq {hdrs} "request"
func (p *parser) parseHAProxy(line []byte) string {
	i := bytes.Index(line, []byte("]: "))
	if i < 0 || !bytes.Contains(line[:i], []byte("[")) {
		return "no \"haproxy[pid]: \" prefix"
	}
	rest := line[i+3:]
	q := bytes.IndexByte(rest, '"')
	if q < 0 || q == len(rest)-1 || rest[len(rest)-1] != '"' {
		return "no quoted request at the end"
	}
	reqText := rest[q+1 : len(rest)-1]
	var ok bool
	p.cols, ok = splitColumns(rest[:q], p.cols)
	if !ok || len(p.cols) < 10 {
		return "too few fields for httplog"
	}
	c := p.cols
	r := p.raw
	r[0], r[1] = splitHostPort(c[0])
	if len(c[1]) < 3 || c[1][0] != '[' {
		return "no [accept date]"
	}
	ns, okT := parseTimeLocal(c[1][1 : len(c[1])-1])
	if !okT {
		return "accept date " + strconv.Quote(string(c[1])) + " is not like [30/Jul/2018:09:03:52.726]"
	}
	p.req.Time = ns
	r[2] = bytes.TrimSuffix(c[2], []byte("~"))
	bs := c[3]
	if j := bytes.IndexByte(bs, '/'); j >= 0 {
		r[3], r[4] = bs[:j], bs[j+1:]
	} else {
		r[3] = bs
	}
	k := 4
	if bytes.Count(c[k], []byte("/")) != 4 { // an optional host or other capture before the timers
		r[5] = c[k]
		k++
	}
	if k+6 >= len(c) || bytes.Count(c[k], []byte("/")) != 4 {
		return "no TR/Tw/Tc/Tr/Ta timers"
	}
	r[6] = c[k]
	if t := c[k]; len(t) > 0 {
		if j := bytes.LastIndexByte(t, '/'); j >= 0 {
			if ta := parseSeconds(t[j+1:]); ta >= 0 {
				p.req.Duration = ta / 1000
			}
		}
	}
	st, okS := atoi3(c[k+1])
	if !okS {
		return "status " + strconv.Quote(string(c[k+1])) + " is not a number"
	}
	p.req.Status = st
	r[7], r[8] = c[k+1], c[k+2]
	r[9] = c[k+5]
	if conns := c[k+6]; len(conns) > 0 {
		if j := bytes.LastIndexByte(conns, '/'); j >= 0 {
			r[10] = conns[j+1:]
		}
	}
	for _, col := range c[k+7:] {
		if len(col) > 0 && col[0] == '{' {
			r[14] = col
			break
		}
	}
	r[11], r[12], r[13] = splitRequest(reqText)
	p.req.Client = r[0]
	return ""
}
