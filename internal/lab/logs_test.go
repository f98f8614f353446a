package lab

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rec is one request read back from a generated log, by a reader written
// from the formats' documentation rather than from the generator.
type rec struct {
	source   string
	t        time.Time
	status   int
	dur      float64
	client   string
	path     string
	upstream string // ingress upstream_addr / ALB target / CDN origin
	ustatus  string
	lb       string // ALB elb field
	cache    string
	result   string
	ua       string
}

// ingress-nginx's default upstreaminfo format.
var ingressRe = regexp.MustCompile(`^(\S+) - (\S+) \[(\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} \+0000)\] "(\S+) (\S+) (HTTP/[\d.]+)" (\d{3}) (\d+) "([^"]*)" "([^"]*)" (\d+) (\d+\.\d{3}) \[([^\]]*)\] \[([^\]]*)\] ((?:\S+, )*\S+) ((?:\S+, )*\S+) ((?:\S+, )*\S+) ((?:\S+, )*\S+) ([0-9a-f]{32})$`)

// splitALB splits an ALB log line into its fields: spaces separate them,
// double quotes group.
func splitALB(line string) []string {
	var out []string
	for len(line) > 0 {
		if line[0] == '"' {
			j := strings.IndexByte(line[1:], '"')
			if j < 0 {
				return nil
			}
			out = append(out, line[1:1+j])
			line = line[2+j:]
		} else {
			j := strings.IndexByte(line, ' ')
			if j < 0 {
				out = append(out, line)
				break
			}
			out = append(out, line[:j])
			line = line[j:]
		}
		line = strings.TrimPrefix(line, " ")
	}
	return out
}

// albFields is the documented field order of ALB access logs.
var albFields = []string{"type", "time", "elb", "client:port", "target:port", "request_processing_time", "target_processing_time",
	"response_processing_time", "elb_status_code", "target_status_code", "received_bytes", "sent_bytes", "request", "user_agent",
	"ssl_cipher", "ssl_protocol", "target_group_arn", "trace_id", "domain_name", "chosen_cert_arn", "matched_rule_priority",
	"request_creation_time", "actions_executed", "redirect_url", "error_reason", "target:port_list", "target_status_code_list",
	"classification", "classification_reason", "conn_trace_id", "transformed_host", "transformed_uri", "request_transform_status"}

func parseLine(format, source, line string) (rec, error) {
	r := rec{source: source}
	switch format {
	case "ingress-nginx":
		m := ingressRe.FindStringSubmatch(line)
		if m == nil {
			return r, fmt.Errorf("not ingress-nginx upstreaminfo: %s", line)
		}
		t, err := time.Parse("02/Jan/2006:15:04:05 -0700", m[3])
		if err != nil {
			return r, err
		}
		r.t, r.client, r.path, r.ua = t, m[1], m[5], m[10]
		r.status, _ = strconv.Atoi(m[7])
		r.dur, _ = strconv.ParseFloat(m[12], 64)
		r.upstream, r.ustatus = m[15], m[18]
		if n := strings.Count(m[15], ","); n != strings.Count(m[16], ",") || n != strings.Count(m[17], ",") || n != strings.Count(m[18], ",") {
			return r, fmt.Errorf("upstream lists of different lengths: %s", line)
		}
	case "alb":
		f := splitALB(line)
		if len(f) != len(albFields) {
			return r, fmt.Errorf("%d fields, want %d: %s", len(f), len(albFields), line)
		}
		t, err := time.Parse(time.RFC3339Nano, f[1])
		if err != nil {
			return r, err
		}
		r.t, r.lb, r.upstream, r.ua = t, f[2], f[4], f[13]
		r.client = f[3][:strings.LastIndexByte(f[3], ':')]
		r.status, err = strconv.Atoi(f[8])
		if err != nil {
			return r, fmt.Errorf("elb_status_code %q", f[8])
		}
		r.ustatus = f[9]
		req := strings.Fields(f[12])
		if len(req) != 3 || !strings.HasPrefix(req[1], "https://api.example.com:443/") {
			return r, fmt.Errorf("request %q", f[12])
		}
		r.path = strings.TrimPrefix(req[1], "https://api.example.com:443")
		if f[6] == "-1" {
			r.dur = 0
			if f[4] != "-" && r.status < 500 {
				return r, fmt.Errorf("-1 processing time on a %d: %s", r.status, line)
			}
		} else {
			var sum float64
			for _, x := range f[5:8] {
				v, err := strconv.ParseFloat(x, 64)
				if err != nil {
					return r, fmt.Errorf("processing time %q", x)
				}
				sum += v
			}
			r.dur = sum
		}
		if _, err := time.Parse(time.RFC3339Nano, f[21]); err != nil {
			return r, fmt.Errorf("request_creation_time: %w", err)
		}
	case "json":
		var j struct {
			Timestamp   time.Time `json:"timestamp"`
			Pop         string    `json:"pop"`
			ClientIP    string    `json:"client_ip"`
			Method      string    `json:"method"`
			Host        string    `json:"host"`
			Path        string    `json:"path"`
			Status      int       `json:"status"`
			CacheStatus string    `json:"cache_status"`
			EdgeResult  string    `json:"edge_result"`
			Origin      string    `json:"origin"`
			OriginStat  *int      `json:"origin_status"`
			TimeTaken   float64   `json:"time_taken"`
			UserAgent   string    `json:"user_agent"`
		}
		if err := json.Unmarshal([]byte(line), &j); err != nil {
			return r, fmt.Errorf("cdn line: %w: %s", err, line)
		}
		if j.Pop == "" || j.ClientIP == "" || j.Status == 0 || j.Timestamp.IsZero() {
			return r, fmt.Errorf("cdn line lacks fields: %s", line)
		}
		r.t, r.client, r.path, r.status, r.dur, r.cache, r.result, r.upstream, r.ua = j.Timestamp, j.ClientIP, j.Path, j.Status, j.TimeTaken, j.CacheStatus, j.EdgeResult, j.Origin, j.UserAgent
	default:
		return r, fmt.Errorf("unknown format %q", format)
	}
	return r, nil
}

// readLogs reads every log of a manifest back, checking each line's format
// and that each file is in time order.
func readLogs(t *testing.T, m *Manifest) []rec {
	t.Helper()
	var all []rec
	for _, l := range m.Logs {
		f, err := os.Open(l.Path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var last time.Time
		n := int64(0)
		for sc.Scan() {
			n++
			r, err := parseLine(l.Format, filepath.Base(l.Path), sc.Text())
			if err != nil {
				f.Close()
				t.Fatalf("%s:%d: %v", l.Path, n, err)
			}
			if r.t.Before(last) {
				f.Close()
				t.Fatalf("%s:%d: time %s before the previous line's %s", l.Path, n, r.t, last)
			}
			last = r.t
			all = append(all, r)
		}
		f.Close()
		if n != l.Lines {
			t.Fatalf("%s: %d lines, manifest says %d", l.Path, n, l.Lines)
		}
	}
	return all
}

type window struct{ from, to time.Time }

func (w window) in(t time.Time) bool { return !t.Before(w.from) && t.Before(w.to) }

// errRate is the share of 5xx among recs in w matching keep.
func errRate(recs []rec, w window, keep func(rec) bool) (rate float64, n int) {
	var e int
	for _, r := range recs {
		if !w.in(r.t) || (keep != nil && !keep(r)) {
			continue
		}
		n++
		if r.status >= 500 {
			e++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return float64(e) / float64(n), n
}
