package triage

import (
	"cmp"
	"encoding/binary"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
	"github.com/axiomhq/hyperloglog"
	"github.com/cespare/xxhash/v2"

	"github.com/sitrep-dev/sitrep/internal/keyindex"
	"github.com/sitrep-dev/sitrep/internal/signal"
)

// Limits of an Aggregator. Memory is bounded by these, never by the number
// of requests.
const (
	DefaultMaxValues  = 5000  // distinct values kept per dimension
	DefaultMaxBuckets = 2000  // time buckets of the request series
	DefaultMaxSlots   = 120   // time slots of the per-value counts
	DefaultSamples    = 16384 // reservoir size, per class (failing, healthy)
	maxSampledDims    = 64    // dimensions recorded in a sample
	maxStatusCodes    = 32    // distinct status codes tracked, the rest is "other"
	maxDims           = 128   // dimensions per aggregate; further fields are ignored
	maxTotalValues    = 40000 // values across all dimensions (memory budget)
	otherValue        = "(other)"
	absentValue       = "(none)"
)

// skipDims are fields never analysed as dimensions: identifiers, raw
// timestamps, sizes and durations (near-unique values), and the outcome of
// the request itself (status), which is what the analysis explains.
var skipDims = map[string]bool{
	"req_id": true, "request_id": true, "trace_id": true, "x_amzn_trace_id": true, "span_id": true,
	"uri": true, "request_uri": true, "request": true, "args": true, "query_string": true,
	"bytes": true, "body_bytes_sent": true, "bytes_sent": true, "request_length": true,
	"received_bytes": true, "sent_bytes": true, "upstream_response_length": true,
	"upstream_bytes_received": true, "upstream_bytes_sent": true,
	"request_time": true, "upstream_response_time": true, "upstream_connect_time": true,
	"upstream_header_time": true, "request_processing_time": true,
	"target_processing_time": true, "response_processing_time": true, "duration": true,
	"time": true, "time_local": true, "time_iso8601": true, "msec": true, "timestamp": true,
	"@timestamp": true, "request_creation_time": true, "date": true, "ts": true,
	"status": true, "status_class": true, "upstream_status": true, "elb_status_code": true,
	"target_status_code": true, "target_status_code_list": true,
	// Where a retried request first failed: the upstream dimension of a
	// pass that counts retried requests as failures (see retryVar).
	"failed_upstream": true,
}

// measurement reports whether a field's name says it holds a measurement
// of the request — a duration, a latency, a size or a timestamp — as the
// fields of JSON logs often do (OriginDuration, latencies.proxy,
// EdgeTimeToFirstByteMs, bytes_read, receiveTimestamp). Such values follow
// from a failure instead of locating it: as dimensions they would only
// restate it (latencies.proxy=60000 for the timeouts). skipDims names
// nginx's and the ALB's own.
func measurement(name string) bool {
	s := Squash(name)
	for _, suffix := range []string{"time", "duration", "latency", "timestamp", "size", "length", "overhead"} {
		if strings.HasSuffix(s, suffix) {
			return true
		}
	}
	return strings.Contains(s, "latenc") || strings.Contains(s, "bytes") ||
		strings.HasSuffix(s, "ms") && (strings.Contains(s, "time") || strings.Contains(s, "duration"))
}

// Squash lower-cases a field name and drops '_', '-' and '.', so that the
// name rules read OriginDuration, origin_duration and latencies.proxy alike.
func Squash(name string) string {
	n := make([]byte, 0, len(name))
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '_' || c == '-' || c == '.':
		case c >= 'A' && c <= 'Z':
			n = append(n, c+'a'-'A')
		default:
			n = append(n, c)
		}
	}
	return string(n)
}

// retryVar is the error expression's name for signal.Request.Retries, the
// upstream attempts that failed before the last. An expression that reads
// it counts a retried request where its first attempt failed: the
// upstream dimension is then the failed attempt's (failed_upstream), not
// the one that answered after the retry.
const retryVar = "retries"

// AggOptions configures an Aggregator.
type AggOptions struct {
	// Error decides which requests failed; nil means status >= 500.
	Error *ErrorPredicate
	// Since and Until (Unix ns, 0 = open) keep only requests in [Since, Until).
	Since, Until int64
	// MaxValues caps the distinct values of one dimension (default 5000);
	// further values are counted as "(other)". A dimension whose values are
	// nearly all distinct (ids, timestamps) is dropped.
	MaxValues int
	// MaxBuckets caps the request series' buckets (default 2000); the bucket
	// width grows (1s, 5s, 10s, 30s, 1m, 5m …) to keep within it.
	MaxBuckets int
	// MaxSlots caps the time slots of the per-value counts (default 120).
	MaxSlots int
	// Samples is the size of each sample of requests (failing, healthy)
	// used for combinations of dimensions (default 16384). The sample is
	// the requests with the smallest keys (signal.Request.Key): the same
	// requests whatever the number of workers and their scheduling.
	Samples int
	// CountsOnly keeps what correlation reads (per-value counts, slot
	// totals, the reservoir) and skips latency sketches and distinct
	// clients: for a second pass, whose scope the first one gave.
	CountsOnly bool
}

func (o *AggOptions) defaults() {
	if o.MaxValues <= 0 {
		o.MaxValues = DefaultMaxValues
	}
	if o.MaxBuckets <= 0 {
		o.MaxBuckets = DefaultMaxBuckets
	}
	if o.MaxSlots <= 0 {
		o.MaxSlots = DefaultMaxSlots
	}
	if o.Samples <= 0 {
		o.Samples = DefaultSamples
	}
}

type dimension struct {
	name  string
	ids   keyindex.Index // every value by its keyindex.Of
	overN uint64         // requests counted as "(other)"
	vals  []string       // by id; vals[0] is the absent value
	// counts holds, per time slot, [id*2 + failed]. A slot's slice grows
	// when a value first appears in it, so a new value costs nothing until
	// it is counted, and re-laying out the slots moves slices, not counts.
	counts   [][]uint32
	seen     uint64
	dropped  bool
	overflow uint32
}

// liveDim is a field of the current layout that feeds a dimension.
type liveDim struct {
	field, dim int
	d          *dimension
}

type bucket struct {
	req, err uint32
	durN     uint32
	durSum   float64
	sk       *ddsketch.DDSketch
	// esk holds the durations of the failing requests alone: a timeout
	// shows as a wall there (scope's timeoutWall).
	esk       *ddsketch.DDSketch
	errStatus []uint32 // by status index, failing requests only
	// cli counts the client errors (4xx) that did not fail, by code-400:
	// with the default predicate, a storm of 401s or 429s is no incident
	// of the error rate, but it is one for the users.
	cli *[100]uint32
	c4  uint32 // the sum of cli
	// rt counts the requests that did not fail but were retried after a
	// failed upstream attempt (signal.Request.Retries): failures the
	// proxy hid from the client, but not from the service.
	rt uint32
}

// reservoir keeps the k requests of one class (failing, healthy) with the
// smallest keys — a bottom-k sample: uniform when the keys are hashes of
// the requests, and independent of the order the requests come in and of
// how they were split among workers, so that the pair estimates are the
// same on every run.
type reservoir struct {
	k     int
	seen  uint64
	times []int64
	keys  []uint64
	ids   []uint32 // k * maxSampledDims
	heap  []int32  // once full, the slots as a max-heap on keys: heap[0] holds the largest key kept
}

// offer returns the slot the request with key takes, or -1 when it is not
// kept. A slot taken from a request kept before is the caller's to
// overwrite.
func (r *reservoir) offer(key uint64, t int64) int {
	r.seen++
	if n := len(r.times); n < r.k {
		if r.ids == nil {
			r.ids = make([]uint32, 0, r.k*maxSampledDims)
			r.times = make([]int64, 0, r.k)
			r.keys = make([]uint64, 0, r.k)
		}
		r.times = append(r.times, t)
		r.keys = append(r.keys, key)
		r.ids = append(r.ids, make([]uint32, maxSampledDims)...)
		if n+1 == r.k {
			// Full: order the slots as a heap once (a small input never
			// pays for one).
			r.heap = make([]int32, r.k)
			for i := range r.heap {
				r.heap[i] = int32(i)
			}
			for i := r.k/2 - 1; i >= 0; i-- {
				r.down(i)
			}
		}
		return n
	}
	top := int(r.heap[0])
	if key >= r.keys[top] {
		return -1
	}
	r.times[top], r.keys[top] = t, key
	r.down(0)
	return top
}

func (r *reservoir) down(i int) {
	h, k := r.heap, r.keys
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if c+1 < len(h) && k[h[c+1]] > k[h[c]] {
			c++
		}
		if k[h[i]] >= k[h[c]] {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// sample is one sampled request after merging: its time, the number of
// requests it stands for, whether it failed, its key and its value id per
// dimension.
type sample struct {
	t      int64
	w      float64
	failed bool
	key    uint64
	ids    []uint32
}

// Aggregator summarises requests: a time series (requests, failures,
// latency sketch per bucket), per-dimension value counts per time slot,
// distinct clients, failing status codes and a reservoir sample of requests
// for combinations of dimensions. One Aggregator serves one worker
// (signal.RequestSink); Merge combines workers.
type Aggregator struct {
	opt AggOptions
	// passWindows are the windows a second pass was read for; Values
	// counts over them instead of the result's.
	passWindows *windows

	main    span
	buckets []bucket

	slots      span
	slotTotals []uint32 // [slot*2 + failed]
	clients    []*hyperloglog.Sketch
	errClients []*hyperloglog.Sketch

	dims      []*dimension
	dimByName map[string]int
	totalVals int // values interned across dimensions

	statusCodes []int
	statusIdx   map[int]int

	// layout cache for the current input's field order
	layNames []string
	layDims  []int
	layPtr   *signal.Field // the Fields array the layout was read from
	live     []liveDim     // the layout's dimensions that are not dropped
	layVars  []int
	vals     []float64
	known    []bool
	// retryView: the error predicate reads retryVar, so a retried request
	// is counted at its failed attempt's upstream; upField and failedField
	// are the layout's upstream and failed_upstream fields (-1: none).
	retryView            bool
	upField, failedField int

	resFailed, resOK reservoir
	// merged holds the samples once the reservoirs are collected (bottom-k
	// of each class after normalize); seenFailed and seenOK count the
	// requests of each class they were drawn from.
	merged             []sample
	seenFailed, seenOK uint64
	normalized         bool
	keyHash            xxhash.Digest // requestKey's, for producers that set no key

	// Requests counts the requests aggregated (after --since/--until).
	Requests uint64
	// Failed counts the failing requests.
	Failed uint64
	// Untimed counts requests without a timestamp (ignored).
	Untimed uint64
	// Filtered counts requests outside --since/--until.
	Filtered uint64
}

// NewAggregator returns an empty Aggregator.
func NewAggregator(opt AggOptions) *Aggregator {
	opt.defaults()
	a := &Aggregator{
		opt:       opt,
		dimByName: map[string]int{},
		statusIdx: map[int]int{},
	}
	a.main.cap = opt.MaxBuckets
	a.slots.cap = opt.MaxSlots
	a.resFailed.k, a.resOK.k = opt.Samples, opt.Samples
	if opt.Error != nil {
		a.vals = make([]float64, len(opt.Error.Vars))
		a.known = make([]bool, len(opt.Error.Vars))
		a.retryView = slices.Contains(opt.Error.Vars, retryVar)
	}
	return a
}

// Collector hands one Aggregator to each parsing worker and merges them.
type Collector struct {
	mu   sync.Mutex
	opt  AggOptions
	aggs []*Aggregator
}

// NewCollector returns a Collector whose aggregators use opt.
func NewCollector(opt AggOptions) *Collector { return &Collector{opt: opt} }

// NewSink returns a new worker Aggregator; it is safe to call concurrently.
func (c *Collector) NewSink() signal.RequestSink {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := NewAggregator(c.opt)
	c.aggs = append(c.aggs, a)
	return a
}

// Merge merges every worker's Aggregator into one. Call it after the scan.
func (c *Collector) Merge() *Aggregator {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.aggs) == 0 {
		return NewAggregator(c.opt)
	}
	a := c.aggs[0]
	for _, b := range c.aggs[1:] {
		a.Merge(b)
	}
	a.normalize()
	return a
}

// requestKey is r.Key, or for a producer that sets none a hash of the
// request's time, status, duration and field values: slower, but as
// independent of the order of the requests.
func (a *Aggregator) requestKey(r *signal.Request) uint64 {
	if r.Key != 0 {
		return r.Key
	}
	var b [25]byte
	binary.LittleEndian.PutUint64(b[0:], uint64(r.Time))
	binary.LittleEndian.PutUint64(b[8:], uint64(r.Status))
	binary.LittleEndian.PutUint64(b[16:], math.Float64bits(r.Duration))
	d := &a.keyHash
	d.Reset()
	_, _ = d.Write(b[:24])
	_, _ = d.Write(r.Client)
	for i := range r.Fields {
		_, _ = d.Write(r.Fields[i].Value)
		_, _ = d.Write(b[24:]) // a separator: ("ab", "c") is not ("a", "bc")
	}
	return d.Sum64()
}

// setLayout prepares the field-index maps for a new field order.
func (a *Aggregator) setLayout(fs []signal.Field) {
	a.layNames = a.layNames[:0]
	a.layDims = a.layDims[:0]
	for _, f := range fs {
		a.layNames = append(a.layNames, f.Name)
		a.layDims = append(a.layDims, a.dimIndex(f.Name))
	}
	a.layVars = a.layVars[:0]
	if a.opt.Error != nil {
		for _, v := range a.opt.Error.Vars {
			idx := -1
			for i, f := range fs {
				if f.Name == v {
					idx = i
					break
				}
			}
			a.layVars = append(a.layVars, idx)
		}
	}
	// Tell the producer which fields it need not compute: those that are
	// neither a dimension nor read by the error predicate.
	for i := range fs {
		fs[i].Unwanted = a.layDims[i] < 0 && !slices.Contains(a.layVars, i)
		if di := a.layDims[i]; di >= 0 && a.dims[di].dropped {
			fs[i].Unwanted = true
		}
	}
	a.upField, a.failedField = -1, -1
	for i, f := range fs {
		switch f.Name {
		case "upstream":
			a.upField = i
		case "failed_upstream":
			a.failedField = i
		}
	}
	a.layPtr = unsafe.SliceData(fs)
	a.setLive()
}

// setLive lists the layout's fields whose dimension is still counted.
func (a *Aggregator) setLive() {
	a.live = a.live[:0]
	for i, di := range a.layDims {
		if di >= 0 && !a.dims[di].dropped {
			a.live = append(a.live, liveDim{field: i, dim: di, d: a.dims[di]})
		}
	}
}

func (a *Aggregator) dimIndex(name string) int {
	if skipDims[name] || measurement(name) || (a.retryView && name == "upstream_addr") {
		// A pass counting retried requests as failures reads the
		// upstream dimension at the failed attempt; the raw list would
		// only restate that a request was retried.
		return -1
	}
	if a.opt.Error != nil {
		for _, v := range a.opt.Error.Vars {
			if v == name {
				return -1
			}
		}
	}
	if i, ok := a.dimByName[name]; ok {
		return i
	}
	if len(a.dims) >= maxDims {
		return -1
	}
	d := &dimension{name: name, vals: []string{absentValue}}
	d.counts = make([][]uint32, a.slots.n)
	a.dims = append(a.dims, d)
	a.dimByName[name] = len(a.dims) - 1
	return len(a.dims) - 1
}

// liveDimension returns the named dimension, or nil when the requests
// had no such field or it was dropped (near-unique values).
func (a *Aggregator) liveDimension(name string) *dimension {
	i, ok := a.dimByName[name]
	if !ok || a.dims[i].dropped {
		return nil
	}
	return a.dims[i]
}

func (a *Aggregator) sameLayout(fs []signal.Field) bool {
	if len(fs) != len(a.layNames) {
		return false
	}
	if unsafe.SliceData(fs) == a.layPtr {
		// The producer's reused Request (signal.Request: names are fixed
		// for the Fields array of one input).
		return true
	}
	// Parsers hand the same name strings for every request of one input:
	// compare pointers first, contents only when they differ.
	for i := range fs {
		x, y := fs[i].Name, a.layNames[i]
		if len(x) != len(y) || (unsafe.StringData(x) != unsafe.StringData(y) && x != y) {
			return false
		}
	}
	return true
}

// Add aggregates one request. It implements signal.RequestSink.
func (a *Aggregator) Add(r *signal.Request) {
	t := r.Time
	if t == 0 {
		a.Untimed++
		return
	}
	if (a.opt.Since != 0 && t < a.opt.Since) || (a.opt.Until != 0 && t >= a.opt.Until) {
		a.Filtered++
		return
	}
	if !a.sameLayout(r.Fields) {
		a.setLayout(r.Fields)
	}
	failed := a.failed(r)
	a.Requests++
	if failed {
		a.Failed++
	}

	bp := a.main.pos(t)
	if bp < 0 {
		a.relayoutMain(a.main.include(t, t, 0))
		bp = a.main.pos(t)
	}
	b := &a.buckets[bp]
	b.req++
	timed := r.Duration >= 0 && !a.opt.CountsOnly && !math.IsInf(r.Duration, 0) && !math.IsNaN(r.Duration)
	if timed {
		b.durN++
		b.durSum += r.Duration
		if b.sk == nil {
			b.sk = newSketch()
		}
		_ = b.sk.Add(r.Duration)
	}
	if failed {
		b.err++
		if timed {
			if b.esk == nil {
				b.esk = newSketch()
			}
			_ = b.esk.Add(r.Duration)
		}
		si := a.statusIndex(r.Status)
		if b.errStatus == nil {
			b.errStatus = make([]uint32, maxStatusCodes)
		}
		b.errStatus[si]++
	} else if r.Status >= 400 && r.Status < 500 && a.opt.Error == nil && !a.opt.CountsOnly {
		// Only the default predicate leaves client errors unexplained
		// (Run looks for their step then), and a second pass never does.
		if b.cli == nil {
			b.cli = new([100]uint32)
		}
		b.cli[r.Status-400]++
		b.c4++
	}
	if !failed && r.Retries > 0 && a.opt.Error == nil && !a.opt.CountsOnly {
		b.rt++
	}

	sp := a.slots.pos(t)
	if sp < 0 {
		a.relayoutSlots(a.slots.include(t, t, 0))
		sp = a.slots.pos(t)
	}
	if len(r.Client) > 0 && !a.opt.CountsOnly {
		if a.clients[sp] == nil {
			a.clients[sp] = newHLL()
		}
		a.clients[sp].Insert(r.Client)
		if failed {
			if a.errClients[sp] == nil {
				a.errClients[sp] = newHLL()
			}
			a.errClients[sp].Insert(r.Client)
		}
	}

	if failed {
		a.slotTotals[sp*2+1]++
	} else {
		a.slotTotals[sp*2]++
	}

	// Sampling of the request's value ids (for combinations of
	// dimensions): decide first, so that the ids are written only for the
	// few requests kept.
	res := &a.resOK
	if failed {
		res = &a.resFailed
	}
	slot := res.offer(a.requestKey(r), t)
	var cur []uint32
	if slot >= 0 {
		cur = res.ids[slot*maxSampledDims : (slot+1)*maxSampledDims]
		clear(cur)
	}

	fi := uint32(0)
	if failed {
		fi = 1
	}
	dropped := false
	for i := range a.live {
		x := &a.live[i]
		d := x.d
		f := &r.Fields[x.field]
		if a.retryView && r.Retries > 0 && x.field == a.upField && a.failedField >= 0 {
			f = &r.Fields[a.failedField]
		}
		id := a.intern(d, f.Value, f.Key)
		if d.dropped {
			r.Fields[x.field].Unwanted = true
			dropped = true
			continue
		}
		if x.dim < len(cur) { // cur is nil unless the request is sampled
			cur[x.dim] = id
		}
		d.addCount(sp, int(id)*2+int(fi), 1)
	}
	if dropped {
		a.setLive()
	}
}

// failed evaluates the error predicate.
func (a *Aggregator) failed(r *signal.Request) bool {
	p := a.opt.Error
	if p == nil {
		return r.Status >= 500
	}
	for i, name := range p.Vars {
		switch {
		case a.layVars[i] >= 0:
			a.vals[i], a.known[i] = parseNumber(r.Fields[a.layVars[i]].Value)
		case name == "status":
			a.vals[i], a.known[i] = float64(r.Status), r.Status > 0
		case name == "request_time":
			a.vals[i], a.known[i] = r.Duration, r.Duration >= 0
		case name == retryVar:
			a.vals[i], a.known[i] = float64(r.Retries), true
		default:
			a.known[i] = false
		}
	}
	return p.Eval(a.vals, a.known)
}

// parseNumber parses a decimal number without allocating in the common case.
func parseNumber(b []byte) (float64, bool) {
	if len(b) == 0 || len(b) > 32 {
		return 0, false
	}
	var ip uint64
	i := 0
	neg := false
	if b[0] == '-' {
		neg = true
		i++
	}
	start := i
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		ip = ip*10 + uint64(b[i]-'0')
	}
	v := float64(ip)
	if i < len(b) && b[i] == '.' {
		i++
		scale := 0.1
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			v += float64(b[i]-'0') * scale
			scale /= 10
		}
	}
	if i != len(b) || i == start || i-start > 18 {
		f, err := strconv.ParseFloat(string(b), 64)
		return f, err == nil && !math.IsNaN(f)
	}
	if neg {
		v = -v
	}
	return v, true
}

// durMapping maps latencies to sketch bins within 1% relative error. The
// cubically interpolated mapping reads the float's exponent and bits
// instead of taking a logarithm per value — the sketch is fed once per
// request — at the price of about 1% more bins than the logarithmic one.
// It is immutable, so every sketch shares it.
var durMapping = func() mapping.IndexMapping {
	m, err := mapping.NewCubicallyInterpolatedMapping(0.01)
	if err != nil {
		panic(err) // constant arguments: cannot fail
	}
	return m
}()

func newSketch() *ddsketch.DDSketch {
	return ddsketch.NewDDSketch(durMapping, store.NewCollapsingLowestDenseStore(1024), store.NewCollapsingLowestDenseStore(1024))
}

func (a *Aggregator) statusIndex(code int) int {
	if i, ok := a.statusIdx[code]; ok {
		return i
	}
	if len(a.statusCodes) >= maxStatusCodes-1 {
		code = 0 // "other"
		if i, ok := a.statusIdx[0]; ok {
			return i
		}
	}
	a.statusCodes = append(a.statusCodes, code)
	a.statusIdx[code] = len(a.statusCodes) - 1
	return len(a.statusCodes) - 1
}

// intern returns the id of value v in d, adding it when new; k is v's
// keyindex.Of when the reader gave it (signal.Field.Key), else 0. It may
// drop d.
func (a *Aggregator) intern(d *dimension, v []byte, k uint64) uint32 {
	d.seen++
	if k == 0 {
		k = keyindex.Of(v)
	}
	if id := d.ids.Get(k); id != 0 {
		return id
	}
	if d.overflow != 0 {
		d.overN++
		if d.overN&0xffff == 0 && d.overN > d.seen/2 {
			// Most requests overflow the value cap (raw client addresses):
			// the dimension cannot concentrate anything; stop paying for it.
			a.dropDim(d)
			return 0
		}
		return d.overflow
	}
	n := len(d.vals)
	if (n == 1000 && float64(n) > 0.9*float64(d.seen)) || (n >= a.opt.MaxValues && float64(n) > 0.5*float64(d.seen)) {
		// Nearly every request brings a new value: an id, a timestamp.
		// Early on, only a dimension whose every request is new can be
		// told apart: 1,000 values out of ~1,200 requests is also what a
		// few thousand evenly used values (client networks) look like.
		a.dropDim(d)
		return 0
	}
	s := string(v)
	if n >= a.opt.MaxValues || a.totalVals >= maxTotalValues {
		s = otherValue
	}
	return a.add(d, s)
}

// add appends a new value to d and returns its id.
func (a *Aggregator) add(d *dimension, s string) uint32 {
	a.totalVals++
	id := uint32(len(d.vals))
	d.vals = append(d.vals, s)
	d.ids.Put(keyindex.OfString(s), id)
	if s == otherValue {
		d.overflow = id
	}
	return id
}

// lookup returns the id of v in d, or 0.
func (d *dimension) lookup(v string) uint32 {
	return d.ids.Get(keyindex.OfString(v))
}

// dropDim drops d while counting and returns its values to the budget.
func (a *Aggregator) dropDim(d *dimension) {
	a.totalVals -= len(d.vals)
	d.drop()
}

// drop stops counting d: its values cannot concentrate anything.
func (d *dimension) drop() {
	d.dropped = true
	d.ids, d.vals, d.counts = keyindex.Index{}, nil, nil
}

// internString is intern for merging: it does not count a request.
func (a *Aggregator) internString(d *dimension, v string) uint32 {
	if id := d.lookup(v); id != 0 {
		return id
	}
	if d.overflow != 0 {
		return d.overflow
	}
	if len(d.vals) >= a.opt.MaxValues || a.totalVals >= maxTotalValues {
		v = otherValue // not there yet: d.overflow would be set
	}
	return a.add(d, v)
}

func (a *Aggregator) relayoutMain(mv layout) {
	nb := make([]bucket, mv.n)
	for p := range a.buckets {
		if mv.mapTo[p] < 0 {
			continue
		}
		mergeBucket(&nb[mv.mapTo[p]], &a.buckets[p])
	}
	a.buckets = nb
}

func mergeBucket(dst, src *bucket) {
	dst.req += src.req
	dst.err += src.err
	dst.durN += src.durN
	dst.durSum += src.durSum
	dst.sk = takeSketch(dst.sk, src.sk)
	dst.esk = takeSketch(dst.esk, src.esk)
	if src.cli != nil {
		if dst.cli == nil {
			dst.cli = src.cli
		} else {
			for i, c := range src.cli {
				dst.cli[i] += c
			}
		}
		dst.c4 += src.c4
	}
	dst.rt += src.rt
	if src.errStatus != nil {
		if dst.errStatus == nil {
			dst.errStatus = src.errStatus
		} else {
			for i, c := range src.errStatus {
				dst.errStatus[i] += c
			}
		}
	}
}

// takeSketch merges src into dst, or hands src over when dst has none (src
// belongs to a bucket being emptied into dst, so it is not copied).
func takeSketch(dst, src *ddsketch.DDSketch) *ddsketch.DDSketch {
	switch {
	case src == nil:
		return dst
	case dst == nil:
		return src
	}
	_ = dst.MergeWith(src)
	return dst
}

func (a *Aggregator) relayoutSlots(mv layout) {
	oldN := len(mv.mapTo)
	for _, d := range a.dims {
		if d.dropped {
			continue
		}
		nc := make([][]uint32, mv.n)
		for p, c := range d.counts {
			if q := mv.mapTo[p]; q >= 0 && c != nil {
				nc[q] = addCounts(nc[q], c)
			}
		}
		d.counts = nc
	}
	st := make([]uint32, mv.n*2)
	for p := 0; p < oldN; p++ {
		if q := mv.mapTo[p]; q >= 0 {
			st[q*2] += a.slotTotals[p*2]
			st[q*2+1] += a.slotTotals[p*2+1]
		}
	}
	a.slotTotals = st
	a.clients = relayoutHLL(a.clients, mv)
	a.errClients = relayoutHLL(a.errClients, mv)
}

func relayoutHLL(old []*hyperloglog.Sketch, mv layout) []*hyperloglog.Sketch {
	n := make([]*hyperloglog.Sketch, mv.n)
	for p, s := range old {
		if s == nil || mv.mapTo[p] < 0 {
			continue
		}
		q := mv.mapTo[p]
		if n[q] == nil {
			n[q] = s
		} else {
			_ = n[q].Merge(s)
		}
	}
	return n
}

// collect moves the reservoirs' requests into the samples.
func (a *Aggregator) collect() {
	for _, res := range []*reservoir{&a.resFailed, &a.resOK} {
		failed := res == &a.resFailed
		if failed {
			a.seenFailed += res.seen
		} else {
			a.seenOK += res.seen
		}
		buf := make([]uint32, len(res.times)*len(a.dims)) // one allocation for the class's ids
		for i, t := range res.times {
			ids := buf[i*len(a.dims) : (i+1)*len(a.dims) : (i+1)*len(a.dims)]
			copy(ids, res.ids[i*maxSampledDims:(i+1)*maxSampledDims])
			a.merged = append(a.merged, sample{t: t, failed: failed, key: res.keys[i], ids: ids})
		}
		res.seen, res.times, res.keys, res.ids, res.heap = 0, nil, nil, nil, nil
	}
}

// normalize turns the reservoirs into weighted samples: the Samples
// requests of each class with the smallest keys, each standing for
// seen/kept requests, in the order of their keys (sums over the samples
// then add in the same order on every run).
func (a *Aggregator) normalize() {
	if a.normalized {
		return
	}
	a.normalized = true
	a.collect()
	nf, nok := a.trim()
	for i := range a.merged {
		s := &a.merged[i]
		if s.failed {
			s.w = float64(a.seenFailed) / float64(nf)
		} else {
			s.w = float64(a.seenOK) / float64(nok)
		}
	}
}

// trim orders the samples (failing first, then by key) and keeps the
// Samples of each class with the smallest keys. It returns how many of
// each class are left.
func (a *Aggregator) trim() (failed, ok int) {
	slices.SortFunc(a.merged, func(x, y sample) int {
		if x.failed != y.failed {
			if x.failed {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(x.key, y.key), cmp.Compare(x.t, y.t))
	})
	nf := 0
	for nf < len(a.merged) && a.merged[nf].failed {
		nf++
	}
	k := a.opt.Samples
	failed, ok = min(nf, k), min(len(a.merged)-nf, k)
	copy(a.merged[failed:], a.merged[nf:nf+ok])
	clear(a.merged[failed+ok:]) // let the dropped samples' ids go
	a.merged = a.merged[:failed+ok]
	return failed, ok
}

// Merge adds b's data into a. b must not be used afterwards.
func (a *Aggregator) Merge(b *Aggregator) {
	a.layPtr = nil // dimensions may change: re-read the layout on the next Add
	a.collect()
	b.collect()
	a.normalized = false
	a.seenFailed += b.seenFailed
	a.seenOK += b.seenOK
	a.Requests += b.Requests
	a.Failed += b.Failed
	a.Untimed += b.Untimed
	a.Filtered += b.Filtered

	// Dimensions: map b's dims and value ids onto a's.
	dimMap := make([]int, len(b.dims))
	idMap := make([][]uint32, len(b.dims))
	for i, bd := range b.dims {
		di := a.dimIndex(bd.name)
		dimMap[i] = di
		if di < 0 {
			continue
		}
		ad := a.dims[di]
		ad.seen += bd.seen
		if bd.dropped || ad.dropped {
			ad.drop()
			continue
		}
		m := make([]uint32, len(bd.vals))
		for id := 1; id < len(bd.vals); id++ {
			m[id] = a.internString(ad, bd.vals[id])
		}
		idMap[i] = m
	}

	// Series.
	if lo, hi := b.main.observed(); hi >= lo {
		mv := a.main.include(b.main.start(lo), b.main.start(hi), b.main.level)
		a.relayoutMain(mv)
		for p := lo; p <= hi; p++ {
			src := &b.buckets[p]
			if src.req == 0 {
				continue
			}
			q := a.main.pos(b.main.start(p))
			a.remapStatus(b, src)
			mergeBucket(&a.buckets[q], src)
		}
	}

	// Per-value counts and clients.
	if lo, hi := b.slots.observed(); hi >= lo {
		a.relayoutSlots(a.slots.include(b.slots.start(lo), b.slots.start(hi), b.slots.level))
		for p := lo; p <= hi; p++ {
			q := a.slots.pos(b.slots.start(p))
			a.slotTotals[q*2] += b.slotTotals[p*2]
			a.slotTotals[q*2+1] += b.slotTotals[p*2+1]
			for i, bd := range b.dims {
				if idMap[i] == nil || bd.dropped {
					continue
				}
				ad := a.dims[dimMap[i]]
				if ad.dropped {
					continue
				}
				m := idMap[i]
				for k, c := range bd.counts[p] {
					if c == 0 {
						continue
					}
					ad.addCount(q, int(m[k/2])*2+k%2, c)
				}
			}
			for _, pair := range [][2][]*hyperloglog.Sketch{{a.clients, b.clients}, {a.errClients, b.errClients}} {
				if s := pair[1][p]; s != nil {
					if pair[0][q] == nil {
						pair[0][q] = s
					} else {
						_ = pair[0][q].Merge(s)
					}
				}
			}
		}
	}

	// Samples.
	for _, s := range b.merged {
		ids := make([]uint32, len(a.dims))
		for i, id := range s.ids {
			if i >= len(dimMap) || dimMap[i] < 0 || idMap[i] == nil || int(id) >= len(idMap[i]) {
				continue
			}
			ids[dimMap[i]] = idMap[i][id]
		}
		s.ids = ids
		a.merged = append(a.merged, s)
	}
	if len(a.merged) > 4*a.opt.Samples {
		// The bottom-k of a union is the bottom-k of the bottom-ks: trimming
		// now keeps memory bounded whatever the number of workers and
		// changes nothing normalize would not.
		a.trim()
	}
}

// remapStatus rewrites src's failing status counts from b's status indexes
// to a's.
func (a *Aggregator) remapStatus(b *Aggregator, src *bucket) {
	if src.errStatus == nil {
		return
	}
	n := make([]uint32, maxStatusCodes)
	for i, c := range src.errStatus {
		if c == 0 || i >= len(b.statusCodes) {
			continue
		}
		n[a.statusIndex(b.statusCodes[i])] += c
	}
	src.errStatus = n
}

// newHLL returns a dense HyperLogLog of precision 12 (4 KiB, ~1.6% error):
// the sparse form costs more per insert than the analysis can afford.
func newHLL() *hyperloglog.Sketch {
	s, err := hyperloglog.NewSketch(12, false)
	if err != nil {
		panic(err) // constant arguments: cannot fail
	}
	return s
}

// growCounts extends a slot's counts to at least n entries (ids*2),
// leaving room for the values still to come.
func growCounts(c []uint32, n int) []uint32 {
	if n <= cap(c) {
		return c[:n]
	}
	nc := make([]uint32, n, max(n+n/2, 16))
	copy(nc, c)
	return nc
}

// addCounts adds src into dst (either may be the longer) and returns the sum.
func addCounts(dst, src []uint32) []uint32 {
	if len(src) > len(dst) {
		dst, src = src, dst
	}
	for i, c := range src {
		dst[i] += c
	}
	return dst
}

// addCount adds n to entry k (id*2 + failed) of a slot's counts, growing
// them when the value is new to the slot.
func (d *dimension) addCount(slot, k int, n uint32) {
	c := d.counts[slot]
	if k >= len(c) {
		c = growCounts(c, len(d.vals)*2)
		d.counts[slot] = c
	}
	c[k] += n
}

// count returns a value's requests that succeeded and failed in a slot.
func (d *dimension) count(id, slot int) (ok, failed uint32) {
	c := d.counts[slot]
	if k := id * 2; k+1 < len(c) {
		return c[k], c[k+1]
	}
	return 0, 0
}
