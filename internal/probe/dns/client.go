package dnsprobe

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

// Error kinds reported in Result.ErrorKind.
const (
	ErrKindTimeout   = "timeout"
	ErrKindServfail  = "servfail"
	ErrKindNXDomain  = "nxdomain"
	ErrKindNoData    = "nodata"
	ErrKindRefused   = "refused"
	ErrKindRcode     = "rcode"
	ErrKindMalformed = "malformed"
	ErrKindNetwork   = "network"
)

// Options configure a Client.
type Options struct {
	// Timeout bounds one attempt of one query (default 2 s).
	Timeout time.Duration
	// Attempts is how many times a UDP query is sent before it counts as a
	// timeout (default 2).
	Attempts int
	// Logger receives debug logs (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Client sends DNS queries. It is safe for concurrent use.
type Client struct {
	opts Options
	log  *slog.Logger
}

// NewClient returns a Client with opts' defaults filled in.
func NewClient(opts Options) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 2
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Client{opts: opts, log: opts.Logger.With("component", "dnsprobe")}
}

// Result is what one server answered for one name, after following the
// CNAME chain.
type Result struct {
	// Resolver is the server's label; Addr its host:port.
	Resolver string `json:"resolver"`
	Addr     string `json:"addr"`
	// Values are the answer's values (sorted); Records the full records.
	Values  []string `json:"values"`
	Records []Record `json:"records,omitempty"`
	// Chain holds the CNAME records followed, in order.
	Chain []Record `json:"chain,omitempty"`
	// TTL is the remaining TTL of the answer as this server reports it: for
	// a caching resolver, how long it keeps serving this answer.
	TTL uint32 `json:"ttl"`
	// RTT is the total response time of the queries made; RTTMillis the
	// same in milliseconds.
	RTT       time.Duration `json:"-"`
	RTTMillis float64       `json:"rtt_ms"`
	// Rcode is the final response code (empty when no response came).
	Rcode string `json:"rcode,omitempty"`
	// OverTCP is set when a truncated UDP answer was retried over TCP.
	OverTCP bool `json:"tcp,omitempty"`
	// ErrorKind is one of the ErrKind… constants; Error says it in words.
	ErrorKind string `json:"error_kind,omitempty"`
	Error     string `json:"error,omitempty"`
}

// OK reports whether the server gave a positive answer.
func (r *Result) OK() bool { return r.ErrorKind == "" }

// Answered reports whether the server gave a definite answer (positive or
// negative), as opposed to failing.
func (r *Result) Answered() bool {
	return r.ErrorKind == "" || r.ErrorKind == ErrKindNXDomain || r.ErrorKind == ErrKindNoData
}

// Resolve asks server (host:port) for name/qtype and follows the CNAME
// chain: when the server's answer ends at a CNAME without the target's
// records (as an authoritative server does for an out-of-zone target), the
// target is asked for at the same server. recursion sets the RD bit.
// Failures are reported in the Result, never as a panic or an error.
func (c *Client) Resolve(ctx context.Context, server, name string, qtype uint16, recursion bool) (res Result) {
	res = Result{Addr: server, Resolver: server}
	defer func() { res.RTTMillis = float64(res.RTT.Microseconds()) / 1000 }()
	name = dns.CanonicalName(name)
	seen := map[string]bool{}
	for range maxChain {
		if seen[name] {
			res.ErrorKind, res.Error = ErrKindMalformed, "CNAME loop at "+name
			return res
		}
		seen[name] = true
		resp, rtt, tcp, err := c.Exchange(ctx, server, name, qtype, recursion)
		res.RTT += rtt
		res.OverTCP = res.OverTCP || tcp
		if err != nil {
			res.ErrorKind, res.Error = classify(err), err.Error()
			return res
		}
		res.Rcode = resp.Rcode
		res.Chain = append(res.Chain, resp.Chain...)
		switch resp.Rcode {
		case "NOERROR":
		case "NXDOMAIN":
			res.ErrorKind, res.Error = ErrKindNXDomain, fmt.Sprintf("NXDOMAIN: %s does not exist", resp.Target)
			res.TTL = resp.NegativeTTL
			return res
		case "SERVFAIL":
			res.ErrorKind, res.Error = ErrKindServfail, "SERVFAIL: the server could not get an answer"
			return res
		case "REFUSED":
			res.ErrorKind, res.Error = ErrKindRefused, "REFUSED: the server will not answer this name for us"
			return res
		default:
			res.ErrorKind, res.Error = ErrKindRcode, "the server answered "+resp.Rcode
			return res
		}
		if len(resp.Records) > 0 || resp.Target == name || qtype == dns.TypeCNAME {
			res.Records = resp.Records
			res.Values = resp.Values()
			if len(resp.Records) > 0 {
				res.TTL = resp.TTL()
			} else {
				res.ErrorKind, res.Error = ErrKindNoData, fmt.Sprintf("no %s record for %s", dns.TypeToString[qtype], resp.Target)
				res.TTL = resp.NegativeTTL
			}
			return res
		}
		// The chain ended at a CNAME target this answer did not resolve.
		name = resp.Target
	}
	res.ErrorKind, res.Error = ErrKindMalformed, "CNAME chain longer than 16 links"
	return res
}

// timeoutError marks a query that got no response in time.
type timeoutError struct{ server string }

func (e *timeoutError) Error() string { return "timeout: no response from " + e.server }
func (e *timeoutError) Timeout() bool { return true }

func classify(err error) string {
	var te interface{ Timeout() bool }
	switch {
	case errors.Is(err, ErrMalformed):
		return ErrKindMalformed
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return ErrKindTimeout
	case errors.As(err, &te) && te.Timeout():
		return ErrKindTimeout
	}
	return ErrKindNetwork
}

// Exchange sends one question to server over UDP, retrying over TCP when
// the answer is truncated, and returns the decoded response, the response
// time, and whether TCP was used.
func (c *Client) Exchange(ctx context.Context, server, name string, qtype uint16, recursion bool) (*Response, time.Duration, bool, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = recursion
	m.SetEdns0(1232, false)
	start := time.Now()
	var resp *Response
	var err error
	for attempt := 0; attempt < c.opts.Attempts; attempt++ {
		m.Id = dns.Id()
		resp, err = c.exchangeUDP(ctx, server, m)
		if err == nil || classify(err) != ErrKindTimeout || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return nil, time.Since(start), false, err
	}
	if !resp.Truncated {
		return resp, time.Since(start), false, nil
	}
	c.log.Debug("truncated answer, retrying over TCP", "server", server, "name", name)
	m.Id = dns.Id()
	resp, err = c.exchangeTCP(ctx, server, m)
	if err != nil {
		return nil, time.Since(start), true, fmt.Errorf("retry over TCP after a truncated answer: %w", err)
	}
	return resp, time.Since(start), true, nil
}

func (c *Client) deadline(ctx context.Context) time.Time {
	d := time.Now().Add(c.opts.Timeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	return d
}

func (c *Client) exchangeUDP(ctx context.Context, server string, m *dns.Msg) (*Response, error) {
	wire, err := m.Pack()
	if err != nil {
		return nil, fmt.Errorf("pack query: %w", err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", server)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", server, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if err := conn.SetDeadline(c.deadline(ctx)); err != nil {
		return nil, err
	}
	if _, err := conn.Write(wire); err != nil {
		return nil, fmt.Errorf("query %s: %w", server, err)
	}
	buf := make([]byte, 65535)
	q := m.Question[0]
	for {
		n, err := conn.Read(buf)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return nil, &timeoutError{server: server}
			}
			if errors.Is(err, syscall.ECONNREFUSED) {
				return nil, fmt.Errorf("query %s: no DNS server listens there (%w)", server, syscall.ECONNREFUSED)
			}
			return nil, fmt.Errorf("query %s: %w", server, err)
		}
		// Ignore datagrams that are not replies to this query (late answers
		// to an earlier attempt, spoofing attempts).
		if n < 2 || uint16(buf[0])<<8|uint16(buf[1]) != m.Id {
			continue
		}
		resp, err := ParseResponse(buf[:n], q.Name, q.Qtype)
		if err != nil {
			return nil, fmt.Errorf("from %s: %w", server, err)
		}
		return resp, nil
	}
}

func (c *Client) exchangeTCP(ctx context.Context, server string, m *dns.Msg) (*Response, error) {
	wire, err := m.Pack()
	if err != nil {
		return nil, fmt.Errorf("pack query: %w", err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", server)
	if err != nil {
		return nil, fmt.Errorf("query %s over TCP: %w", server, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if err := conn.SetDeadline(c.deadline(ctx)); err != nil {
		return nil, err
	}
	out := make([]byte, 2+len(wire))
	binary.BigEndian.PutUint16(out, uint16(len(wire)))
	copy(out[2:], wire)
	if _, err := conn.Write(out); err != nil {
		return nil, fmt.Errorf("query %s over TCP: %w", server, err)
	}
	var lenBuf [2]byte
	if _, err := io.ReadFull(conn, lenBuf[:]); err != nil {
		return nil, tcpReadErr(server, err)
	}
	buf := make([]byte, binary.BigEndian.Uint16(lenBuf[:]))
	if _, err := io.ReadFull(conn, buf); err != nil {
		return nil, tcpReadErr(server, err)
	}
	if len(buf) < 2 || uint16(buf[0])<<8|uint16(buf[1]) != m.Id {
		return nil, fmt.Errorf("from %s over TCP: %w: reply ID does not match the query", server, ErrMalformed)
	}
	q := m.Question[0]
	resp, err := ParseResponse(buf, q.Name, q.Qtype)
	if err != nil {
		return nil, fmt.Errorf("from %s over TCP: %w", server, err)
	}
	if resp.Truncated {
		return nil, fmt.Errorf("from %s over TCP: %w: truncated even over TCP", server, ErrMalformed)
	}
	return resp, nil
}

func tcpReadErr(server string, err error) error {
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return &timeoutError{server: server}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("from %s over TCP: %w: connection closed mid-message", server, ErrMalformed)
	}
	return fmt.Errorf("query %s over TCP: %w", server, err)
}

// NormalizeAddr turns "host" or "host:port" (IPv6 literals with or without
// brackets) into host:port, defaulting to port 53.
func NormalizeAddr(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return "", errors.New("empty address")
	}
	if host, port, err := net.SplitHostPort(addr); err == nil {
		if host == "" {
			return "", fmt.Errorf("address %q has no host", addr)
		}
		if _, err := net.LookupPort("udp", port); err != nil || strings.TrimLeft(port, "0123456789") != "" {
			return "", fmt.Errorf("address %q: port %q is not a number", addr, port)
		}
		return net.JoinHostPort(host, port), nil
	}
	host := strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	if strings.ContainsAny(host, " \t/[]") {
		return "", fmt.Errorf("address %q is not host or host:port", addr)
	}
	return net.JoinHostPort(host, "53"), nil
}
