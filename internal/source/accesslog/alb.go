package accesslog

import (
	"bytes"
	"strconv"
)

// albNames are the AWS Application Load Balancer access-log fields, in the
// documented order, with sitrep's names for the ones other formats share
// (client, target → upstream, status, bytes, user_agent, host). $request
// becomes method, uri and protocol.
var albNames = []string{
	"type", "elb", "client", "client_port", "target", "target_port",
	"request_processing_time", "target_processing_time", "response_processing_time",
	"status", "target_status_code", "received_bytes", "bytes",
	"method", "uri", "protocol", "user_agent", "ssl_cipher", "ssl_protocol",
	"target_group_arn", "trace_id", "host", "chosen_cert_arn", "matched_rule_priority",
	"request_creation_time", "actions_executed", "redirect_url", "error_reason",
	"target_port_list", "target_status_code_list", "classification", "classification_reason",
	"conn_trace_id",
}

// albColumns is how many space-separated columns an ALB line has at least
// (fields up to error_reason; later fields were added over the years).
const albMinColumns = 25

// splitColumns splits a space-separated line whose fields may be quoted
// ("…" with backslash escapes). cols is reused.
func splitColumns(line []byte, cols [][]byte) ([][]byte, bool) {
	cols = cols[:0]
	i := 0
	for i < len(line) {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		if i >= len(line) {
			break
		}
		if line[i] == '"' {
			j := i + 1
			for j < len(line) {
				if line[j] == '\\' {
					j += 2
					continue
				}
				if line[j] == '"' {
					break
				}
				j++
			}
			if j >= len(line) {
				return cols, false
			}
			cols = append(cols, line[i+1:j])
			i = j + 1
			continue
		}
		j := bytes.IndexByte(line[i:], ' ')
		if j < 0 {
			cols = append(cols, line[i:])
			break
		}
		cols = append(cols, line[i:i+j])
		i += j
	}
	return cols, true
}

func splitHostPort(b []byte) ([]byte, []byte) {
	if len(b) == 1 && b[0] == '-' {
		return b, nil
	}
	i := bytes.LastIndexByte(b, ':')
	if i < 0 || bytes.IndexByte(b[i:], ']') >= 0 {
		return b, nil
	}
	return b[:i], b[i+1:]
}

func (p *parser) parseALB(line []byte) string {
	var ok bool
	p.cols, ok = splitColumns(line, p.cols)
	if !ok {
		return "unterminated quoted field"
	}
	c := p.cols
	if len(c) < albMinColumns {
		return "ALB lines have at least " + strconv.Itoa(albMinColumns) + " fields, this one has " + strconv.Itoa(len(c))
	}
	switch string(c[0]) {
	case "http", "https", "h2", "grpcs", "ws", "wss":
	default:
		return "ALB type " + strconv.Quote(string(c[0])) + " is not http, https, h2, grpcs, ws or wss"
	}
	ns, okT := parseISO(c[1])
	if !okT {
		return "time " + strconv.Quote(string(c[1])) + " is not ISO 8601"
	}
	p.req.Time = ns
	r := p.raw
	r[0], r[1] = c[0], c[2]
	r[2], r[3] = splitHostPort(c[3])
	r[2] = bytes.TrimSuffix(bytes.TrimPrefix(r[2], []byte("[")), []byte("]"))
	r[4] = c[4] // the target keeps its port: it names the upstream
	_, r[5] = splitHostPort(c[4])
	r[6], r[7], r[8] = c[5], c[6], c[7]
	st, okS := atoi3(c[8])
	if !okS {
		return "elb_status_code " + strconv.Quote(string(c[8])) + " is not a number"
	}
	p.req.Status = st
	r[9], r[10], r[11], r[12] = c[8], c[9], c[10], c[11]
	r[13], r[14], r[15] = splitRequest(c[12])
	r[16], r[17], r[18], r[19], r[20], r[21], r[22], r[23], r[24] = c[13], c[14], c[15], c[16], c[17], c[18], c[19], c[20], c[21]
	for k := 22; k < len(c) && k-22+25 < len(albNames); k++ {
		r[k-22+25] = c[k]
	}
	p.req.Client = r[2]
	a, b, d := parseSeconds(c[5]), parseSeconds(c[6]), parseSeconds(c[7])
	if a >= 0 && b >= 0 && d >= 0 {
		p.req.Duration = a + b + d
	}
	return ""
}

// targetGroupPrefix is a variable, not a conversion at the call: inlined
// into the per-line path under profile-guided optimisation, the conversion
// was allocated on the heap for every line.
var targetGroupPrefix = []byte("targetgroup/")

// targetGroupName shortens a target group ARN to its name.
func targetGroupName(arn []byte) []byte {
	i := bytes.Index(arn, targetGroupPrefix)
	if i < 0 {
		return arn
	}
	rest := arn[i+len(targetGroupPrefix):]
	if j := bytes.IndexByte(rest, '/'); j >= 0 {
		return rest[:j]
	}
	return rest
}
