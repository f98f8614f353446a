package dnsprobe

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// ChangedOptions configure CheckChanged.
type ChangedOptions struct {
	// Resolvers to ask (required).
	Resolvers []Resolver
	// Authority overrides the authoritative servers; NoAuthority skips them.
	Authority   []string
	NoAuthority bool
	// MaxNames bounds how many changed names are checked (default 10).
	MaxNames int
}

// Evidence is what checking one dns change's name found, for triage.
type Evidence struct {
	// ChangeID is the change's id.
	ChangeID string `json:"change_id"`
	Name     string `json:"name"`
	Type     string `json:"type"`
	// Lines are human-readable evidence, one fact each.
	Lines []string `json:"lines"`
	// StillOld counts resolvers that still serve the change's old value;
	// Fresh those serving the new one.
	StillOld int `json:"still_old"`
	Fresh    int `json:"fresh"`
	// LongestRemaining is the longest remaining TTL among resolvers still
	// serving the old value.
	LongestRemaining time.Duration `json:"-"`
	// LongestRemainingSeconds is LongestRemaining in seconds.
	LongestRemainingSeconds float64 `json:"longest_remaining_seconds"`
	// Report is the full check (nil when it could not run; see Error).
	Report *Report `json:"report,omitempty"`
	Error  string  `json:"error,omitempty"`
}

// CheckChanged runs Check for the names of the dns changes among changes
// (details name, type, old, new) and returns one Evidence per checked name,
// in the order of the changes. Non-dns changes and changes without a name
// are skipped.
func (c *Client) CheckChanged(ctx context.Context, opts ChangedOptions, changes []signal.Change) []Evidence {
	if opts.MaxNames <= 0 {
		opts.MaxNames = 10
	}
	var out []Evidence
	for i := range changes {
		ch := &changes[i]
		if ch.Kind != signal.KindDNS || ch.DetailString("name") == "" {
			continue
		}
		if len(out) >= opts.MaxNames {
			break
		}
		out = append(out, c.checkChange(ctx, opts, ch))
	}
	return out
}

func (c *Client) checkChange(ctx context.Context, opts ChangedOptions, ch *signal.Change) Evidence {
	name := dns.CanonicalName(ch.DetailString("name"))
	typ := strings.ToUpper(ch.DetailString("type"))
	if typ == "" {
		typ = "A"
	}
	ev := Evidence{ChangeID: ch.ID, Name: name, Type: typ}
	qtype, ok := dns.StringToType[typ]
	if !ok {
		ev.Error = fmt.Sprintf("change %s: unknown record type %q", ch.ID, typ)
		ev.Lines = []string{ev.Error}
		return ev
	}
	oldV := normalizeValues(splitValues(ch.DetailString("old")), qtype)
	newV := normalizeValues(splitValues(ch.DetailString("new")), qtype)
	rep, err := c.Check(ctx, CheckOptions{
		Name: name, Type: qtype, Resolvers: opts.Resolvers,
		Authority: opts.Authority, NoAuthority: opts.NoAuthority, Expect: newV,
	})
	if err != nil {
		ev.Error = err.Error()
		ev.Lines = []string{fmt.Sprintf("dns check %s %s could not run: %v", name, typ, err)}
		return ev
	}
	ev.Report = rep
	var oldLabels []string
	for _, r := range rep.Resolvers {
		switch {
		case len(oldV) > 0 && r.OK() && overlaps(answerAndChain(&r.Result), oldV):
			ev.StillOld++
			oldLabels = append(oldLabels, r.Resolver)
			ev.LongestRemaining = max(ev.LongestRemaining, time.Duration(r.TTL)*time.Second)
		case len(newV) > 0 && r.OK() && containsAll(answerAndChain(&r.Result), newV):
			ev.Fresh++
		}
	}
	ev.LongestRemainingSeconds = ev.LongestRemaining.Seconds()
	n := len(rep.Resolvers)
	if ev.StillOld > 0 {
		ev.Lines = append(ev.Lines, fmt.Sprintf("dns check %s %s: %d of %d resolvers (%s) still serve the old value %s, for up to %s more (until %s)",
			name, typ, ev.StillOld, n, strings.Join(oldLabels, ", "), strings.Join(oldV, ", "),
			FormatTTL(uint32(ev.LongestRemaining/time.Second)), rep.Time.Add(ev.LongestRemaining).Format(time.RFC3339)))
	}
	if len(newV) > 0 {
		ev.Lines = append(ev.Lines, fmt.Sprintf("dns check %s %s: %d of %d resolvers serve the new value %s", name, typ, ev.Fresh, n, strings.Join(newV, ", ")))
	}
	for _, f := range rep.Findings {
		if strings.HasPrefix(f, "resolver ") && strings.Contains(f, " fails: ") || strings.HasPrefix(f, "authority") {
			ev.Lines = append(ev.Lines, "dns check "+name+": "+f)
		}
	}
	return ev
}

func overlaps(have, want []string) bool {
	return slices.ContainsFunc(want, func(w string) bool { return slices.Contains(have, w) })
}

// splitValues splits "a, b" into values.
func splitValues(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
