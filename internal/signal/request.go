package signal

// Request is one request read from an access log, normalised.
//
// A parser reuses one Request per worker: the byte slices alias the parser's
// line buffer and are valid only until the next line is parsed. A consumer
// that keeps a value must copy it (or intern it).
type Request struct {
	// Time is the request's time in Unix nanoseconds; 0 when the line has none.
	Time int64
	// Status is the HTTP status the client got; 0 when unknown.
	Status int
	// Duration is the request time in seconds; negative when unknown.
	Duration float64
	// Client is the client address as written in the log (may be empty).
	Client []byte
	// Retries counts the upstream attempts that failed before the last one:
	// nginx and ingress-nginx try the next upstream after an error or a
	// timeout and list every attempt ("10.0.0.7:8080, 10.0.0.9:8080"). The
	// client may still get a 200 — the failure is hidden, not gone. 0 when
	// the log lists no attempts.
	Retries int
	// Key identifies the request for sampling: a hash of its log line (and
	// of the input it came from), the same however the input is split
	// among workers and in whatever order they read it, so that a sink
	// that keeps the requests with the smallest keys keeps the same ones
	// on every run. 0 when the producer has none; a sink then derives one.
	Key uint64
	// Fields holds every dimension of the request — each parsed field and the
	// derived ones (status_class, path, client_net, ua_family, upstream,
	// no_upstream, source …) — in an order fixed for a given input, so that
	// Fields[i].Name is the same for every request of one input. A producer
	// never renames the fields of a Fields array it has handed out (a sink
	// may recognise a layout by the array alone); it may append fields.
	Fields []Field
}

// Field is one dimension of a request: a name and its value.
type Field struct {
	Name  string
	Value []byte
	// Unwanted is set by a sink that will not read this field again (a
	// dimension it skips or has dropped for its cardinality). A producer may
	// then leave Value nil instead of computing it — the derived dimensions
	// cost more than the raw ones. Producers set Name, Value and Key only,
	// so the flag persists across the reused Request.
	Unwanted bool
	// Key is keyindex.Of(Value) when the producer has it at hand (a value
	// it derived once per distinct raw value and cached with its key), so
	// that the sink need not hash the value again; 0 when not given.
	Key uint64
}

// Lookup returns the value of the named field and whether it is present.
func (r *Request) Lookup(name string) ([]byte, bool) {
	for i := range r.Fields {
		if r.Fields[i].Name == name {
			return r.Fields[i].Value, true
		}
	}
	return nil, false
}

// RequestSink consumes requests. Each parsing worker owns one sink, so a sink
// is never called from two goroutines at once.
type RequestSink interface {
	Add(r *Request)
}
