package hypothesis

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/triage"
)

// errorKindCauses says which causes each kind of line in the proxy's error
// log is what one would expect of, and which it speaks against: a refused
// connection means nothing listened on the port (a pod down, restarting or
// not ready), which a slow query or a full pool does not cause; a timeout
// means the upstream took the connection and did not answer in time; no
// route means the host itself is gone.
var errorKindCauses = map[string]struct{ fits, against []string }{
	"connection refused":                     {fits: []string{"bad-pod", "bad-deploy", "memory-leak"}, against: []string{"slow-queries", "db-pool-exhaustion"}},
	"upstream timed out":                     {fits: []string{"slow-queries", "db-pool-exhaustion", "capacity", "bad-node", "zone-outage", "dependency"}},
	"no route to host":                       {fits: []string{"bad-node", "zone-outage"}, against: []string{"slow-queries", "db-pool-exhaustion"}},
	"connection reset":                       {fits: []string{"bad-pod", "bad-deploy", "memory-leak", "bad-node"}},
	"upstream closed the connection":         {fits: []string{"bad-pod", "bad-deploy", "memory-leak"}},
	"no live upstreams":                      {fits: []string{"bad-deploy", "zone-outage"}},
	"upstream certificate expired":           {fits: []string{"cert-expired"}},
	"upstream certificate not trusted":       {fits: []string{"cert-expired"}},
	"TLS handshake with the upstream failed": {fits: []string{"cert-expired"}},
}

// minErrorLines is how many lines of a kind the incident needs before the
// error log is quoted as evidence.
const minErrorLines = 5

// risingErrors returns the error log's kinds and upstreams that rose in
// the incident: at least minErrorLines lines, at three times the
// baseline's rate per minute or more.
func risingErrors(res *triage.Result) []triage.ProxyErrorSummary {
	var out []triage.ProxyErrorSummary
	for _, e := range res.ProxyErrors {
		if e.Incident >= minErrorLines && e.IncidentPerMinute >= 3*e.BaselinePerMinute {
			out = append(out, e)
		}
	}
	return out
}

func errorLine(e triage.ProxyErrorSummary) string {
	from := ""
	switch {
	case e.Upstream != "":
		from = " from " + e.Upstream
	case e.Upstreams > 1:
		from = fmt.Sprintf(" spread over %d upstreams", e.Upstreams)
	}
	before := "none in the baseline"
	if e.BaselinePerMinute > 0 {
		before = fmt.Sprintf("%.1f/min in the baseline", e.BaselinePerMinute)
	}
	return fmt.Sprintf("the proxy's error log: %d × %s%s since %s (%.1f/min; %s)", e.Incident, e.Kind, from, e.First.UTC().Format("15:04"), e.IncidentPerMinute, before)
}

// withErrorLog adds to a hypothesis what the proxy's error log says for
// and against it. It leaves the score alone: the lab's logs carry no error
// log to weigh it on, so it is shown, not counted.
func withErrorLog(h *scored, rising []triage.ProxyErrorSummary) {
	for i, e := range rising {
		if i == 3 {
			break
		}
		kc, ok := errorKindCauses[e.Kind]
		switch {
		case ok && slices.Contains(kc.against, h.cause):
			h.against = append(h.against, errorLine(e)+": not what "+h.cause+" causes")
		case ok && slices.Contains(kc.fits, h.cause), placed(h, e.Upstream):
			h.evidence = append(h.evidence, errorLine(e))
		}
	}
}

// placed says whether the hypothesis is about the upstream the error-log
// line names (its scope holds the same host:port).
func placed(h *scored, upstream string) bool {
	if upstream == "" {
		return false
	}
	for _, v := range h.scope {
		if v == upstream || strings.HasPrefix(v, upstream+" ") {
			return true
		}
	}
	return false
}
