package signal

// ProxyError counts the lines of a proxy's error log that say one thing
// about one upstream in one minute: nginx writes one when it cannot connect
// to an upstream, times out waiting for it or finds none alive — the why
// behind the 502s and 504s of its access log.
type ProxyError struct {
	// Minute is the Unix time of the minute, in seconds.
	Minute int64
	// Kind is what went wrong, in the proxy's words normalised
	// ("connection refused", "upstream timed out").
	Kind string
	// Upstream is the upstream's host:port, "" when the line names none.
	Upstream string
	// Count is the number of lines.
	Count int64
}
