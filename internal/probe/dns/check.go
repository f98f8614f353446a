package dnsprobe

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Resolver statuses in ResolverResult.Status.
const (
	// StatusOK: the resolver answered, and the answer matches the expected
	// value and the authority (as far as they were checked).
	StatusOK = "ok"
	// StatusStale: the resolver serves an answer other than the expected
	// value, or other than the authority's current answer, from its cache.
	StatusStale = "stale"
	// StatusFailing: the resolver gave no usable answer (timeout, SERVFAIL,
	// NXDOMAIN, no data, refused, malformed).
	StatusFailing = "failing"
)

// CheckOptions say what to check.
type CheckOptions struct {
	// Name is the name to look up; Type its record type (default A).
	Name string
	Type uint16
	// Resolvers are the caching resolvers to ask, in parallel.
	Resolvers []Resolver
	// Authority overrides the authoritative servers (host:port); when empty
	// the zone's NS are found through the first resolver that can.
	Authority []string
	// NoAuthority skips the comparison with the authoritative servers (for
	// GeoDNS names whose answer depends on who asks).
	NoAuthority bool
	// Expect lists the values resolvers should now serve (answer values or
	// CNAME targets on the way); a resolver whose answer lacks one of them is
	// stale.
	Expect []string
	// MaxTTL, when set, marks a resolver whose remaining TTL exceeds it as
	// stale: it cached the record before its TTL was lowered (the check
	// before a switch).
	MaxTTL uint32
}

// ResolverResult is one resolver's answer, judged.
type ResolverResult struct {
	Result
	// Status is ok, stale or failing.
	Status string `json:"status"`
	// Reason says why the status is not ok.
	Reason string `json:"reason,omitempty"`
	// ExpiresIn is, for a stale resolver, the seconds until its cached
	// answer runs out (its remaining TTL); ExpiresAt the time it does.
	ExpiresIn *uint32   `json:"expires_in,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Report is the outcome of Check.
type Report struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Time is when the check ran.
	Time time.Time `json:"time"`
	// Expect and MaxTTL echo CheckOptions.
	Expect []string `json:"expect,omitempty"`
	MaxTTL uint32   `json:"max_ttl,omitempty"`
	// Resolvers holds one result per resolver, in the order given.
	Resolvers []ResolverResult `json:"resolvers"`
	// Zone is the zone the authority serves (when it was looked up).
	Zone string `json:"zone,omitempty"`
	// Authority holds the authoritative servers' answers; AuthorityError
	// says why there are none.
	Authority      []Result `json:"authority,omitempty"`
	AuthorityError string   `json:"authority_error,omitempty"`
	// Disagree is set when the resolvers that answered gave different
	// values.
	Disagree bool `json:"disagree"`
	// Stale and Failing count resolvers by status.
	Stale   int `json:"stale"`
	Failing int `json:"failing"`
	// Findings says what was found, one sentence each, worst first.
	Findings []string `json:"findings"`
}

// Problems reports whether any resolver is stale or failing: the condition
// for a non-zero exit.
func (r *Report) Problems() bool { return r.Stale > 0 || r.Failing > 0 }

// Check asks every resolver for the name in parallel, asks the authoritative
// servers, and judges each resolver's answer.
func (c *Client) Check(ctx context.Context, opts CheckOptions) (*Report, error) {
	if opts.Name == "" {
		return nil, errors.New("check: a name is required")
	}
	if len(opts.Resolvers) == 0 {
		return nil, errors.New("check: no resolvers to ask")
	}
	if opts.Type == 0 {
		opts.Type = dns.TypeA
	}
	name := dns.CanonicalName(opts.Name)
	if _, ok := dns.IsDomainName(name); !ok {
		return nil, fmt.Errorf("check: %q is not a domain name", opts.Name)
	}
	now := c.opts.Now()
	rep := &Report{Name: name, Type: dns.TypeToString[opts.Type], Time: now.UTC(), Expect: opts.Expect, MaxTTL: opts.MaxTTL}
	rep.Resolvers = make([]ResolverResult, len(opts.Resolvers))

	var wg sync.WaitGroup
	for i, r := range opts.Resolvers {
		wg.Go(func() {
			res := c.Resolve(ctx, r.Addr, name, opts.Type, true)
			res.Resolver = r.Label
			rep.Resolvers[i] = ResolverResult{Result: res}
		})
	}
	if !opts.NoAuthority {
		wg.Go(func() {
			rep.Zone, rep.Authority, rep.AuthorityError = c.authority(ctx, name, opts)
		})
	}
	wg.Wait()

	var auth *Result
	for i := range rep.Authority {
		if rep.Authority[i].Answered() {
			auth = &rep.Authority[i]
			break
		}
	}
	expect := normalizeValues(opts.Expect, opts.Type)
	for i := range rep.Resolvers {
		judge(&rep.Resolvers[i], auth, expect, opts.MaxTTL, now)
		switch rep.Resolvers[i].Status {
		case StatusStale:
			rep.Stale++
		case StatusFailing:
			rep.Failing++
		}
	}
	rep.Findings = findings(rep, auth)
	return rep, nil
}

// judge sets the status of one resolver's result.
func judge(r *ResolverResult, auth *Result, expect []string, maxTTL uint32, now time.Time) {
	stale := func(reason string) {
		r.Status, r.Reason = StatusStale, reason
		ttl := staleTTL(&r.Result, auth)
		r.ExpiresIn = &ttl
		r.ExpiresAt = now.Add(time.Duration(ttl) * time.Second).UTC()
	}
	switch {
	case !r.Answered():
		r.Status, r.Reason = StatusFailing, r.Error
	case len(expect) > 0 && !containsAll(answerAndChain(&r.Result), expect):
		if r.OK() {
			stale(fmt.Sprintf("serves %s, not %s, for %s more", strings.Join(r.Values, ", "), strings.Join(expect, ", "), FormatTTL(staleTTL(&r.Result, auth))))
		} else {
			stale(fmt.Sprintf("%s (cached negative answer), not %s, for %s more", strings.ToUpper(r.ErrorKind), strings.Join(expect, ", "), FormatTTL(staleTTL(&r.Result, auth))))
		}
	case auth != nil && (!slices.Equal(r.Values, auth.Values) || !sameChain(r.Chain, auth.Chain)):
		stale(fmt.Sprintf("serves %s; the authority now answers %s; cached for %s more", describe(&r.Result), describe(auth), FormatTTL(staleTTL(&r.Result, auth))))
	case !r.OK():
		r.Status, r.Reason = StatusFailing, r.Error
	case maxTTL > 0 && r.TTL > maxTTL:
		r.Status, r.Reason = StatusStale, fmt.Sprintf("TTL %s left, above %s: it cached the record before the TTL was lowered", FormatTTL(r.TTL), FormatTTL(maxTTL))
		ttl := r.TTL
		r.ExpiresIn = &ttl
		r.ExpiresAt = now.Add(time.Duration(ttl) * time.Second).UTC()
	default:
		r.Status = StatusOK
	}
}

// staleTTL is how long a resolver keeps serving its stale answer. Along a
// CNAME chain, the first link that differs from the authority's chain is the
// stale record: when it expires the resolver fetches the new one. Without
// an authority answer to compare with, the longest TTL on the chain is the
// upper bound.
func staleTTL(r *Result, auth *Result) uint32 {
	if auth != nil {
		for i, c := range r.Chain {
			if i >= len(auth.Chain) || c.Value != auth.Chain[i].Value {
				return c.TTL
			}
		}
		return r.TTL
	}
	ttl := r.TTL
	for _, c := range r.Chain {
		ttl = max(ttl, c.TTL)
	}
	return ttl
}

func sameChain(a, b []Record) bool {
	return slices.EqualFunc(a, b, func(x, y Record) bool { return x.Value == y.Value })
}

// describe renders an answer with its CNAME chain: "→ lb.example. → 192.0.2.1".
func describe(r *Result) string {
	if len(r.Chain) == 0 {
		return valuesOrErr(r)
	}
	parts := make([]string, 0, len(r.Chain)+1)
	for _, c := range r.Chain {
		parts = append(parts, c.Value)
	}
	return "→ " + strings.Join(append(parts, valuesOrErr(r)), " → ")
}

func valuesOrErr(r *Result) string {
	if len(r.Values) == 0 {
		return strings.ToUpper(r.ErrorKind)
	}
	return strings.Join(r.Values, ", ")
}

// answerAndChain returns the answer's values and the CNAME targets on the
// way to them: an --expect value may name either.
func answerAndChain(r *Result) []string {
	out := slices.Clone(r.Values)
	for _, c := range r.Chain {
		out = append(out, c.Value)
	}
	return out
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// normalizeValues puts expected values into the form answers use: names
// fully qualified and lower-case, addresses canonical.
func normalizeValues(vs []string, qtype uint16) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if rr, err := dns.NewRR(". 0 IN " + dns.TypeToString[qtype] + " " + v); err == nil && rr != nil {
			v = record(rr).Value
		} else if _, ok := dns.IsDomainName(v); ok && strings.ContainsRune(v, '.') {
			// A CNAME target expected on the way to an address.
			v = dns.CanonicalName(v)
		}
		out = append(out, v)
	}
	return out
}

func findings(rep *Report, auth *Result) []string {
	var out []string
	for _, r := range rep.Resolvers {
		if r.Status == StatusStale {
			out = append(out, fmt.Sprintf("resolver %s is stale: %s (until %s)", r.Resolver, r.Reason, r.ExpiresAt.Format(time.RFC3339)))
		}
	}
	for _, r := range rep.Resolvers {
		if r.Status == StatusFailing {
			out = append(out, fmt.Sprintf("resolver %s fails: %s", r.Resolver, r.Reason))
		}
	}
	sets := map[string][]string{}
	var keys []string
	for _, r := range rep.Resolvers {
		if !r.Answered() {
			continue
		}
		k := describe(&r.Result)
		if _, ok := sets[k]; !ok {
			keys = append(keys, k)
		}
		sets[k] = append(sets[k], r.Resolver)
	}
	if len(sets) > 1 {
		rep.Disagree = true
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s from %s", k, strings.Join(sets[k], ", ")))
		}
		out = append(out, "resolvers disagree: "+strings.Join(parts, "; "))
	}
	switch {
	case auth != nil:
		out = append(out, fmt.Sprintf("authority %s answers %s (TTL %s)", auth.Resolver, describe(auth), FormatTTL(auth.TTL)))
		for _, a := range rep.Authority {
			if a.Answered() && (!slices.Equal(a.Values, auth.Values) || !sameChain(a.Chain, auth.Chain)) {
				out = append(out, fmt.Sprintf("authoritative servers disagree: %s answers %s (a secondary lagging behind?)", a.Resolver, describe(&a)))
			}
		}
	case rep.AuthorityError != "":
		out = append(out, "authority not checked: "+rep.AuthorityError)
	}
	if !rep.Problems() && !rep.Disagree {
		out = append(out, fmt.Sprintf("all %d resolvers agree", len(rep.Resolvers)))
	}
	return out
}

// authority finds the zone's authoritative servers (unless overridden) and
// asks each for the name without recursion.
func (c *Client) authority(ctx context.Context, name string, opts CheckOptions) (zone string, results []Result, errText string) {
	servers := opts.Authority
	if len(servers) == 0 {
		// Walk up through the first resolver that can do it.
		var errs []string
		for _, r := range opts.Resolvers {
			z, addrs, err := c.FindAuthority(ctx, name, r.Addr)
			if err == nil {
				zone, servers = z, addrs
				break
			}
			errs = append(errs, err.Error())
			if ctx.Err() != nil {
				break
			}
		}
		if len(servers) == 0 {
			return zone, nil, strings.Join(errs, "; ") + " (name the authoritative servers with --authority)"
		}
	}
	results = make([]Result, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Go(func() { results[i] = c.Resolve(ctx, s, name, opts.Type, false) })
	}
	wg.Wait()
	var errs []string
	for _, r := range results {
		if !r.Answered() {
			errs = append(errs, r.Resolver+": "+r.Error)
		}
	}
	if len(errs) == len(results) {
		return zone, results, "no authoritative server answered (" + strings.Join(errs, "; ") + ")"
	}
	return zone, results, ""
}

// FindAuthority walks up from name, asking resolver (host:port) for SOA and
// NS records, to find the zone name is in and its name servers' addresses
// (host:53).
func (c *Client) FindAuthority(ctx context.Context, name, resolver string) (string, []string, error) {
	name = dns.CanonicalName(name)
	zone := ""
	for cand := name; ; {
		resp, _, _, err := c.Exchange(ctx, resolver, cand, dns.TypeSOA, true)
		if err != nil {
			return "", nil, fmt.Errorf("find the zone of %s via %s: %w", name, resolver, err)
		}
		if resp.SOAOwner != "" && dns.IsSubDomain(resp.SOAOwner, cand) {
			zone = resp.SOAOwner
			break
		}
		i, end := dns.NextLabel(cand, 0)
		if end || cand == "." {
			return "", nil, fmt.Errorf("find the zone of %s via %s: no SOA found", name, resolver)
		}
		cand = cand[i:]
		if cand == "" {
			cand = "."
		}
	}
	ns := c.Resolve(ctx, resolver, zone, dns.TypeNS, true)
	if !ns.OK() {
		return zone, nil, fmt.Errorf("NS of %s via %s: %s", zone, resolver, ns.Error)
	}
	var addrs []string
	for _, host := range ns.Values {
		for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
			a := c.Resolve(ctx, resolver, host, t, true)
			c.log.Debug("name server address", "host", host, "type", dns.TypeToString[t], "values", a.Values, "err", a.Error)
			for _, v := range a.Values {
				addrs = append(addrs, netJoin(v, "53"))
			}
		}
	}
	if len(addrs) == 0 {
		return zone, nil, fmt.Errorf("name servers of %s (%s) have no address", zone, strings.Join(ns.Values, ", "))
	}
	sort.Strings(addrs)
	return zone, slices.Compact(addrs), nil
}

func netJoin(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

// FormatTTL renders seconds as a short duration: 45s, 5m, 1h30m, 24h, 3d.
func FormatTTL(s uint32) string {
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		if s%60 == 0 {
			return fmt.Sprintf("%dm", s/60)
		}
		return fmt.Sprintf("%dm%ds", s/60, s%60)
	case s < 2*86400:
		if h, m := s/3600, (s%3600)/60; m != 0 {
			return fmt.Sprintf("%dh%dm", h, m)
		}
		return fmt.Sprintf("%dh", s/3600)
	default:
		if d, h := s/86400, (s%86400)/3600; h != 0 {
			return fmt.Sprintf("%dd%dh", d, h)
		}
		return fmt.Sprintf("%dd", s/86400)
	}
}
