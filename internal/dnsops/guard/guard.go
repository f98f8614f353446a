// Package guard decides whether an old endpoint may be decommissioned after
// a DNS switch: not while resolvers still return it, and not while its
// access logs show traffic in the last window. It fails closed: what cannot
// be checked counts against decommissioning.
package guard

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	dnsprobe "github.com/sitrep-dev/sitrep/internal/probe/dns"
)

// DefaultWindow is how far back traffic counts: an hour.
const DefaultWindow = time.Hour

// Traffic is what the old endpoint's access logs show.
type Traffic struct {
	// Requests counts requests at or after Since; Untimed those whose line
	// had no time (they count as recent: we cannot tell).
	Requests int64 `json:"requests"`
	Untimed  int64 `json:"untimed"`
	// Total counts every request read.
	Total int64 `json:"total"`
	// Last is the latest request time seen (zero when none).
	Last time.Time `json:"last,omitzero"`
	// Sources are the files read.
	Sources []string `json:"sources"`
}

// TrafficCounter counts the requests in access logs since a time.
type TrafficCounter interface {
	CountSince(ctx context.Context, paths []string, since time.Time) (Traffic, error)
}

// Options say what to guard.
type Options struct {
	// Old is the endpoint to decommission: an address or a host name (a
	// CNAME target).
	Old string
	// Logs are the old endpoint's access logs; Counter reads them.
	Logs    []string
	Counter TrafficCounter
	// Window is how far back traffic counts (default an hour).
	Window time.Duration
	// Name, Type, Expect: the record that moved away from Old, and its new
	// value(s). Resolvers are asked for Name.
	Name   string
	Type   uint16
	Expect []string
	// Resolvers, Authority, NoAuthority are passed to the check.
	Resolvers   []dnsprobe.Resolver
	Authority   []string
	NoAuthority bool
	// Client runs the DNS check; Now is the clock.
	Client *dnsprobe.Client
	Now    func() time.Time
}

// Holder is a resolver that still returns the old endpoint.
type Holder struct {
	Resolver string   `json:"resolver"`
	Values   []string `json:"values"`
	// TTL is the seconds until its cache runs out.
	TTL uint32 `json:"ttl"`
	// Until is when it does.
	Until time.Time `json:"until"`
}

// Result is the guard's verdict with its numbers.
type Result struct {
	Old    string        `json:"old"`
	Time   time.Time     `json:"time"`
	Window time.Duration `json:"-"`
	// WindowSeconds is Window in seconds.
	WindowSeconds float64 `json:"window_seconds"`
	// Refuse is the verdict; Reasons say why, with numbers.
	Refuse  bool     `json:"refuse"`
	Reasons []string `json:"reasons"`
	// Holders are the resolvers still returning Old; ClearAt is when the
	// last of their caches runs out.
	Holders []Holder  `json:"holders,omitempty"`
	ClearAt time.Time `json:"clear_at,omitzero"`
	// Check is the DNS check (when Name was given); Traffic the log
	// numbers (when Logs were given).
	Check   *dnsprobe.Report `json:"check,omitempty"`
	Traffic *Traffic         `json:"traffic,omitempty"`
}

// Run checks the resolvers and the logs and returns the verdict. An error
// is returned only for unusable options; failed checks are reasons to
// refuse.
func Run(ctx context.Context, o Options) (*Result, error) {
	if strings.TrimSpace(o.Old) == "" {
		return nil, errors.New("guard: --old (the endpoint to decommission) is required")
	}
	if o.Name == "" && len(o.Logs) == 0 {
		return nil, errors.New("guard: nothing to check: give --name (and --expect) to ask resolvers, --log for the old endpoint's access logs, or both")
	}
	if len(o.Logs) > 0 && o.Counter == nil {
		return nil, errors.New("guard: no access-log reader configured")
	}
	if o.Name != "" && (o.Client == nil || len(o.Resolvers) == 0) {
		return nil, errors.New("guard: --name needs resolvers to ask")
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	now := o.Now().UTC()
	res := &Result{Old: o.Old, Time: now, Window: o.Window, WindowSeconds: o.Window.Seconds(), Reasons: []string{}}
	old := normalize(o.Old)

	if o.Name != "" {
		rep, err := o.Client.Check(ctx, dnsprobe.CheckOptions{
			Name: o.Name, Type: o.Type, Resolvers: o.Resolvers,
			Authority: o.Authority, NoAuthority: o.NoAuthority, Expect: o.Expect,
		})
		if err != nil {
			return nil, fmt.Errorf("guard: %w", err)
		}
		res.Check = rep
		for _, r := range rep.Resolvers {
			switch {
			case returnsOld(&r.Result, old):
				ttl := holdTTL(&r, old)
				until := now.Add(time.Duration(ttl) * time.Second)
				res.Holders = append(res.Holders, Holder{Resolver: r.Resolver, Values: r.Values, TTL: ttl, Until: until})
				if until.After(res.ClearAt) {
					res.ClearAt = until
				}
			case !r.Answered():
				res.Refuse = true
				res.Reasons = append(res.Reasons, fmt.Sprintf("resolver %s could not be checked (%s): it may still return %s", r.Resolver, r.Error, o.Old))
			}
		}
		if n := len(res.Holders); n > 0 {
			res.Refuse = true
			labels := make([]string, 0, n)
			for _, h := range res.Holders {
				labels = append(labels, fmt.Sprintf("%s for %s more", h.Resolver, dnsprobe.FormatTTL(h.TTL)))
			}
			res.Reasons = append(res.Reasons, fmt.Sprintf("%d of %d resolvers still return %s for %s (%s); the last cache runs out at %s",
				n, len(rep.Resolvers), o.Old, rep.Name, strings.Join(labels, ", "), res.ClearAt.Format(time.RFC3339)))
		}
		if rep.Stale > len(res.Holders) && len(o.Expect) > 0 {
			res.Reasons = append(res.Reasons, fmt.Sprintf("%d resolvers do not serve %s yet", rep.Stale, strings.Join(o.Expect, ", ")))
		}
	}

	if len(o.Logs) > 0 {
		since := now.Add(-o.Window)
		tr, err := o.Counter.CountSince(ctx, o.Logs, since)
		if err != nil {
			res.Refuse = true
			res.Reasons = append(res.Reasons, fmt.Sprintf("the access logs could not be read (%v): cannot prove the old endpoint is idle", err))
		} else {
			res.Traffic = &tr
			if tr.Requests > 0 {
				res.Refuse = true
				res.Reasons = append(res.Reasons, fmt.Sprintf("the old endpoint's access logs show %d requests in the last %s (since %s), the latest at %s",
					tr.Requests, human(o.Window), since.Format(time.RFC3339), tr.Last.Format(time.RFC3339)))
			}
			if tr.Untimed > 0 {
				res.Refuse = true
				res.Reasons = append(res.Reasons, fmt.Sprintf("%d requests in the access logs have no time, so they may be recent", tr.Untimed))
			}
			if tr.Total == 0 {
				res.Reasons = append(res.Reasons, "the access logs hold no requests at all: make sure they are the old endpoint's current logs")
			}
		}
	}
	if !res.Refuse {
		var ok []string
		if res.Check != nil {
			ok = append(ok, fmt.Sprintf("none of %d resolvers returns %s", len(res.Check.Resolvers), o.Old))
		}
		if res.Traffic != nil {
			last := "never"
			if !res.Traffic.Last.IsZero() {
				last = res.Traffic.Last.Format(time.RFC3339)
			}
			ok = append(ok, fmt.Sprintf("no requests in the last %s (last request: %s)", human(o.Window), last))
		}
		res.Reasons = append(ok, res.Reasons...)
	}
	return res, nil
}

// normalize puts an endpoint into the form answers use.
func normalize(s string) string {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return a.String()
	}
	return dns.CanonicalName(s)
}

// holdTTL is how long the resolver keeps returning old: the time the check
// found until its stale answer runs out; when it was not judged stale (no
// --expect, no authority), the TTL of the record pointing at old.
func holdTTL(r *dnsprobe.ResolverResult, old string) uint32 {
	if r.ExpiresIn != nil {
		return *r.ExpiresIn
	}
	for _, c := range r.Chain {
		if normalize(c.Value) == old {
			return c.TTL
		}
	}
	return r.TTL
}

func returnsOld(r *dnsprobe.Result, old string) bool {
	if !r.OK() {
		return false
	}
	if slices.ContainsFunc(r.Values, func(v string) bool { return normalize(v) == old }) {
		return true
	}
	return slices.ContainsFunc(r.Chain, func(c dnsprobe.Record) bool { return normalize(c.Value) == old })
}

func human(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d%time.Hour == 0:
		if d == time.Hour {
			return "hour"
		}
		return fmt.Sprintf("%d h", int(d.Hours()))
	}
	return d.String()
}
