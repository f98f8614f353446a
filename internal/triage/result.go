package triage

import (
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// Result is the outcome of a triage run. Its JSON form is the stable
// contract of design.md §4.4 (window, impact, findings, changes,
// hypotheses, inputs); the other fields are additions.
type Result struct {
	Window     Window       `json:"window"`
	Impact     Impact       `json:"impact"`
	Findings   []Finding    `json:"findings"`
	Changes    []Change     `json:"changes"`
	Hypotheses []Hypothesis `json:"hypotheses"`
	Inputs     Inputs       `json:"inputs"`

	// Onset explains how the onset was found (nil when there is none).
	Onset *OnsetEvidence `json:"onset_evidence"`
	// Series is the request series per time bucket.
	Series Series `json:"series"`
	// Notes are caveats a reader should know (no timestamps, few requests …).
	Notes []string `json:"notes"`
	// Stages reports the time each engine stage took.
	Stages []StageTiming `json:"stages,omitempty"`
	// Slow is the second pass over a latency incident (nil otherwise): what
	// the slow requests share when the error rate did not move.
	Slow *SlowAnalysis `json:"slow,omitempty"`
	// ClientErrors is a step in client errors (4xx), looked for when the
	// error rate and latency show no onset (nil otherwise).
	ClientErrors *ClientErrorAnalysis `json:"client_errors,omitempty"`
	// ProxyErrors is what the proxy's error log, found among the access
	// log's lines, says about its upstreams in the incident (absent when
	// the logs carry none).
	ProxyErrors []ProxyErrorSummary `json:"proxy_errors,omitempty"`
}

// ClientErrorAnalysis is a step up in the share of client errors (4xx),
// which the default error expression does not count as failures, and —
// when the logs could be read again — what the requests answered with
// those codes share. Its findings read like the error findings with "the
// client errors" for "the failing requests".
type ClientErrorAnalysis struct {
	// Onset is when the share of client errors stepped up; End when it
	// fell back (null while it lasts).
	Onset time.Time  `json:"onset"`
	End   *time.Time `json:"end"`
	// Share and BaselineShare are the client errors' share of the requests
	// after and before the onset.
	Share         float64 `json:"share"`
	BaselineShare float64 `json:"baseline_share"`
	// Codes counts the 4xx codes after the onset.
	Codes map[string]int64 `json:"codes"`
	// Expression selects the codes that rose ("status==401", or every
	// 4xx); --error with it makes them the errors of the whole report.
	Expression string    `json:"expression"`
	Findings   []Finding `json:"findings"`
}

// Which names the client errors the expression selects: the code ("401")
// when one code rose, "4xx" otherwise.
func (c *ClientErrorAnalysis) Which() string {
	if code, ok := strings.CutPrefix(c.Expression, "status=="); ok {
		return code
	}
	return "4xx"
}

// SlowAnalysis compares the slow requests of a latency incident with the
// others. Its findings read like the error findings with "slow" for
// "failing": error_share is the share of the slow requests a scope holds,
// error_rate the share of its requests that are slow.
type SlowAnalysis struct {
	// Expression is the error expression the pass used, e.g.
	// "request_time>0.67"; --error with it repeats the pass in full.
	Expression string `json:"expression"`
	// ThresholdSeconds is the request time above which a request is slow:
	// the geometric mean of the moved quantile before and after the onset.
	ThresholdSeconds float64 `json:"threshold_seconds"`
	// Requests and SlowRequests count the incident window;
	// BaselineSlowRate is the share of slow requests before the onset.
	Requests         int64     `json:"requests"`
	SlowRequests     int64     `json:"slow_requests"`
	SlowRate         float64   `json:"slow_rate"`
	BaselineSlowRate *float64  `json:"baseline_slow_rate"`
	Findings         []Finding `json:"findings"`
}

// Span is a time range; nil ends are unknown (JSON null).
type Span struct {
	Start *time.Time `json:"start"`
	End   *time.Time `json:"end"`
}

// Window holds the baseline and incident windows the comparison used.
type Window struct {
	Baseline Span `json:"baseline"`
	Incident Span `json:"incident"`
}

// Impact scopes the incident window against the baseline.
type Impact struct {
	Requests          int64            `json:"requests"`
	Errors            int64            `json:"errors"`
	ErrorRate         float64          `json:"error_rate"`
	BaselineErrorRate float64          `json:"baseline_error_rate"`
	Onset             *time.Time       `json:"onset"`
	StatusCodes       map[string]int64 `json:"status_codes"`
	ClientsAffected   int64            `json:"clients_affected"`

	// Clients is the number of distinct clients in the incident window.
	Clients int64 `json:"clients"`
	// BaselineRequests and BaselineErrors count the baseline window.
	BaselineRequests int64 `json:"baseline_requests"`
	BaselineErrors   int64 `json:"baseline_errors"`
	// Latency holds request-time quantiles in seconds (nil without durations).
	Latency *Latency `json:"latency"`
	// Timeout is the duration most of the incident's failing requests
	// ended at — the wall a timeout makes in their latency (nil when they
	// do not pile up at one duration).
	Timeout *Timeout `json:"timeout,omitempty"`
	// TopPaths are the paths with the most failing requests in the incident.
	TopPaths []PathImpact `json:"top_paths"`
	// Significant is true when the incident window differs from the
	// baseline beyond noise.
	Significant bool `json:"significant"`
}

// Latency compares request-time quantiles (seconds).
type Latency struct {
	P50         float64  `json:"p50"`
	P95         float64  `json:"p95"`
	P99         float64  `json:"p99"`
	BaselineP50 *float64 `json:"baseline_p50"`
	BaselineP95 *float64 `json:"baseline_p95"`
	BaselineP99 *float64 `json:"baseline_p99"`
}

// Timeout is a wall in the failing requests' latency: most of them ended
// at one duration, as they do when something waits until a timeout.
type Timeout struct {
	// Seconds is the duration they ended at.
	Seconds float64 `json:"seconds"`
	// Share is the fraction of the failing requests with a duration that
	// ended within a few percent of Seconds; Failures counts them.
	Share    float64 `json:"share"`
	Failures int64   `json:"failures"`
}

// PathImpact is one path's share of the incident's failures.
type PathImpact struct {
	Path      string  `json:"path"`
	Requests  int64   `json:"requests"`
	Errors    int64   `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
}

// Finding is one fact the correlation established: a dimension value (or a
// combination) that concentrates the failing requests.
type Finding struct {
	Dimension         string            `json:"dimension"`
	Value             string            `json:"value"`
	Scope             map[string]string `json:"scope"`
	ErrorShare        float64           `json:"error_share"`
	TrafficShare      float64           `json:"traffic_share"`
	ErrorRate         float64           `json:"error_rate"`
	BaselineErrorRate *float64          `json:"baseline_error_rate"`
	// Lift is error_share / traffic_share: how much more of the errors than
	// of the traffic the scope holds.
	Lift    *float64 `json:"lift"`
	Summary string   `json:"summary"`

	// Requests and Errors count the scope in the incident window
	// (estimated from the sample when Estimated).
	Requests int64 `json:"requests"`
	Errors   int64 `json:"errors"`
	// BaselineRequests counts the scope in the baseline window (a scope
	// that appears only after the onset is itself evidence).
	BaselineRequests int64 `json:"baseline_requests"`
	// Significance is a z-score of the scope's error rate against the rest
	// of the traffic (and the baseline); findings need at least 4.
	Significance float64 `json:"significance"`
	// Score ranks findings: how well the scope alone explains the errors.
	Score float64 `json:"score"`
	// Estimated is true for combinations, counted on the request sample.
	Estimated bool `json:"estimated"`
	// Related lists findings folded under this one: they hold the same
	// failing requests and are consequences of it.
	Related []Related `json:"related"`

	dims    []string
	vals    []string
	mask    bitset
	hasBase bool
	pass    pass   // the second pass that found it, if any: its summary says "slow" …
	code    string // the client errors the pass counted: "401", or "4xx" for every code
}

// Related is a finding folded under a better one.
type Related struct {
	Dimension string            `json:"dimension"`
	Value     string            `json:"value"`
	Scope     map[string]string `json:"scope"`
	// Overlap is the share of this finding's failing requests that the
	// parent finding also holds.
	Overlap float64 `json:"overlap"`
	// Covers is the share of the parent's failing requests this scope
	// holds (1 when the parent lies wholly inside it, e.g. all in region=eu).
	Covers    float64 `json:"covers"`
	ErrorRate float64 `json:"error_rate"`

	pair bool
}

// Change is a change event ranked by how well it lines up with the
// incident (filled by the hypotheses stage).
type Change struct {
	ID      string   `json:"id"`
	Score   float64  `json:"score"`
	Reasons []string `json:"reasons"`
}

// Hypothesis is a candidate cause with its evidence (filled by the
// hypotheses stage). Cause is one of the causes of design.md §4.4.
type Hypothesis struct {
	Cause       string        `json:"cause"`
	Confidence  float64       `json:"confidence"`
	Summary     string        `json:"summary"`
	ChangeID    *string       `json:"change_id"`
	Evidence    []string      `json:"evidence"`
	Against     []string      `json:"against"`
	Checks      []string      `json:"checks"`
	Containment []Containment `json:"containment"`
}

// Containment is one way to contain the incident and its risk.
type Containment struct {
	Action string `json:"action"`
	Risk   string `json:"risk"`
}

// Inputs describes what was read.
type Inputs struct {
	Lines     int64 `json:"lines"`
	Malformed int64 `json:"malformed"`
	// Skipped counts lines of the proxy's own log (klog, nginx's error
	// log) found among the access-log lines: not requests, not malformed.
	Skipped int64    `json:"skipped"`
	Sources []string `json:"sources"`

	// Requests is the number of requests analysed (after --since/--until).
	Requests int64 `json:"requests"`
	// Untimed counts requests without a timestamp (not analysed).
	Untimed int64 `json:"untimed"`
	// Filtered counts requests outside --since/--until.
	Filtered int64 `json:"filtered"`
	// Formats maps each source to the log format used.
	Formats map[string]string `json:"formats,omitempty"`
	// ProxyErrorLog counts the proxy's error-log lines per minute (see
	// Result.ProxyErrors for what the report shows of them).
	ProxyErrorLog []signal.ProxyError `json:"-"`
	// Containers maps each source read out of a container runtime's
	// wrapper to it: "cri", "docker" or "timestamps".
	Containers map[string]string `json:"containers,omitempty"`
	// MalformedSamples are the first malformed lines.
	MalformedSamples []MalformedLine `json:"malformed_samples,omitempty"`
	// FormatWarning says the format is probably wrong and what to try.
	FormatWarning string `json:"format_warning,omitempty"`
	// Error is the error predicate used.
	Error string `json:"error"`
	// Bytes is the number of bytes read.
	Bytes int64 `json:"bytes,omitempty"`
}

// containerWords names the container wrappers the reader takes lines out of.
var containerWords = map[string]string{
	"cri":        "CRI container lines",
	"docker":     "Docker json-file lines",
	"timestamps": "kubectl --timestamps lines",
}

// FormatOf says how a source was read: its log format, and the container
// wrapper its lines came in ("ingress-nginx in CRI container lines").
func (in Inputs) FormatOf(src string) string {
	f := in.Formats[src]
	if c := in.Containers[src]; c != "" && f != "" {
		w := containerWords[c]
		if w == "" {
			w = c + " lines"
		}
		f += " in " + w
	}
	return f
}

// MalformedLine is a line that did not parse.
type MalformedLine struct {
	File   string `json:"file"`
	Line   int64  `json:"line"`
	Text   string `json:"text"`
	Reason string `json:"reason"`
}

// OnsetEvidence is how the onset was found.
type OnsetEvidence struct {
	// Method is "error-rate", "latency", or "retries": the share of
	// requests the proxy retried after a failed upstream attempt stepped up
	// while the error rate did not (RetryErrorExpr then decides failures).
	Method string `json:"method"`
	// Time is the onset (the start of the first bucket of the incident).
	Time time.Time `json:"time"`
	// Earliest is the earliest start the data cannot tell from Time (the
	// first split whose log-likelihood is within 2 of the best, ≈ 95%);
	// set when earlier than Time. With few errors per bucket the interval
	// is wide, and a change in it fits the onset as well as one at Time.
	Earliest *time.Time `json:"earliest,omitempty"`
	// Latest is the latest start the data cannot tell from Time, by the
	// same test; set when later than Time. A change after Time but before
	// Latest may still have started the incident.
	Latest *time.Time `json:"latest,omitempty"`
	// End is the start of the recovery, when the incident ended in the data.
	End *time.Time `json:"end"`
	// Before and After are the error rates (or, for latency, the moved
	// quantile in seconds) of the segments either side of the change.
	Before float64 `json:"before"`
	After  float64 `json:"after"`
	// Quantile is the latency quantile that moved (latency onsets only).
	Quantile float64 `json:"quantile,omitempty"`
	// LogLikelihoodRatio measures the change against no change (for a
	// latency quantile's shift, the t statistic of the shift).
	LogLikelihoodRatio float64 `json:"log_likelihood_ratio"`
	// Dispersion is how much more the error rate varies between buckets
	// than binomial noise would (Pearson's χ² per degree of freedom of the
	// two-rate fit, at least 1); an error-rate change counts when
	// LogLikelihoodRatio / Dispersion is at least 12. Error-rate onsets only.
	Dispersion float64 `json:"dispersion,omitempty"`
	// Scope is set when the onset was found in the requests of one
	// finding's scope (its own error rate stepped up) because the whole
	// log's error rate showed none; Before and After are then that scope's
	// error rates and BucketSeconds its time slots' width.
	Scope map[string]string `json:"scope,omitempty"`
	// ThresholdSeconds is set when latency's onset was found in the share
	// of requests slower than it (a slow minority moves no bucket's
	// quantile); SlowBefore and SlowAfter are that share either side of
	// the change, and LogLikelihoodRatio and Dispersion are those of its
	// segmentation, as for the error rate.
	ThresholdSeconds float64 `json:"threshold_seconds,omitempty"`
	SlowBefore       float64 `json:"slow_before,omitempty"`
	SlowAfter        float64 `json:"slow_after,omitempty"`
	// BucketSeconds is the bucket width the detection ran on.
	BucketSeconds float64 `json:"bucket_seconds"`
}

// Series is the request series: one entry per time bucket.
type Series struct {
	BucketSeconds float64  `json:"bucket_seconds"`
	Points        []Bucket `json:"points"`
}

// Bucket is one time bucket of the series.
type Bucket struct {
	Time     time.Time `json:"time"`
	Requests int64     `json:"requests"`
	Errors   int64     `json:"errors"`
	// P50 and P99 are request-time quantiles in seconds (nil without durations).
	P50 *float64 `json:"p50"`
	P99 *float64 `json:"p99"`
}

// StageTiming is how long one engine stage took.
type StageTiming struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// Failures names the requests the result counts as failed, for a headline:
// "failures" when they include attempts a proxy retried (the client got
// an answer after the retry), "errors" otherwise.
func (r *Result) Failures() string {
	if r.Onset != nil && r.Onset.Method == "retries" {
		return "failures"
	}
	return "errors"
}

// minorShare is the share of the failures below which the best finding
// does not say where they are: when the largest group holds a fifth of
// them, they are spread, and the headline says so rather than naming it.
const minorShare = 0.2

// Lead is what a headline says about where the failures are: the best
// finding of the errors, else of the slow requests, else of the client
// errors, and what its share is of ("errors", "the slow requests", "the
// client errors"). spread is true when the best finding holds less than a
// fifth of the failures: they are spread, and f is only the largest group.
func (r *Result) Lead() (f *Finding, of string, spread bool) {
	switch {
	case len(r.Findings) > 0:
		f, of = &r.Findings[0], r.Failures()
	case r.Slow != nil && len(r.Slow.Findings) > 0:
		f, of = &r.Slow.Findings[0], "the slow requests"
	case r.ClientErrors != nil && len(r.ClientErrors.Findings) > 0:
		f, of = &r.ClientErrors.Findings[0], "the client errors"
	default:
		return nil, "", r.Impact.Errors > 0 && r.Impact.Significant
	}
	return f, of, f.ErrorShare < minorShare
}
