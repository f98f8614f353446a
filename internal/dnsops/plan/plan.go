// Package plan builds a dated DNS migration plan that cannot strand users:
// lower the TTL long enough before the switch that every cache holds the
// low TTL, switch, verify, keep the old endpoint serving until caches and
// traffic have drained, then raise the TTL again.
package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/miekg/dns"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// The plan's policy.
const (
	// LowTTL is the TTL used around the switch.
	LowTTL = 60 * time.Second
	// FinalTTL is the TTL restored after the migration.
	FinalTTL = 300 * time.Second
	// MinLead is the least time between lowering the TTL and the switch.
	MinLead = 48 * time.Hour
	// DefaultTTL is assumed when the current TTL is not given: a day, the
	// common default of DNS hosting panels.
	DefaultTTL = 86400 * time.Second
)

// unknownFrom stands for the current value when --from is not given.
const unknownFrom = "(current value)"

// Options describe the migration.
type Options struct {
	// Name is the record's name; Type its type (default A).
	Name string
	Type string
	// From is the current value (may be empty: "the current value"); To
	// the new one.
	From string
	To   string
	// CurrentTTL is the record's TTL today (default DefaultTTL).
	CurrentTTL time.Duration
	// At is the switch time; zero means the earliest safe time.
	At time.Time
	// Now is the time the plan is made.
	Now time.Time
}

// Step is one dated step of the plan.
type Step struct {
	// N is the step's number, from 1.
	N int `json:"n"`
	// ID names the step: lower-ttl, verify-low-ttl, switch, verify-switch,
	// decommission-old, raise-ttl.
	ID string `json:"id"`
	// At is when to do it ("not before"); Until, for the wait steps, the
	// end of the wait.
	At time.Time `json:"at"`
	// Title is the step in a few words; Detail says why.
	Title  string `json:"title"`
	Detail string `json:"detail"`
	// Command is the sitrep command that does or checks it, if any.
	Command string `json:"command,omitempty"`
	// Change is the DNS change this step makes (nil for checks).
	Change *RecordChange `json:"change,omitempty"`
}

// RecordChange is the record edit a step makes.
type RecordChange struct {
	Old    string `json:"old"`
	New    string `json:"new"`
	TTL    int    `json:"ttl"`
	NewTTL int    `json:"new_ttl"`
}

// Plan is a dated migration plan.
type Plan struct {
	Name       string    `json:"name"`
	Type       string    `json:"type"`
	From       string    `json:"from,omitempty"`
	To         string    `json:"to"`
	CurrentTTL int       `json:"current_ttl"`
	TTLGiven   bool      `json:"current_ttl_given"`
	Created    time.Time `json:"created"`
	SwitchAt   time.Time `json:"switch_at"`
	// KeepOldUntil is the earliest time the old endpoint may go away.
	KeepOldUntil time.Time `json:"keep_old_until"`
	Steps        []Step    `json:"steps"`
	// Notes warn about assumptions.
	Notes []string `json:"notes,omitempty"`
}

// Make builds the plan. It fails when a requested switch time is too early
// to be safe, saying the earliest safe time.
func Make(o Options) (*Plan, error) {
	if o.Name == "" {
		return nil, errors.New("plan: a record name is required")
	}
	name := dns.Fqdn(strings.ToLower(o.Name))
	if _, ok := dns.IsDomainName(name); !ok {
		return nil, fmt.Errorf("plan: %q is not a domain name", o.Name)
	}
	if strings.TrimSpace(o.To) == "" {
		return nil, errors.New("plan: --to (the new value) is required")
	}
	typ := strings.ToUpper(o.Type)
	if typ == "" {
		typ = "A"
	}
	if _, ok := dns.StringToType[typ]; !ok {
		return nil, fmt.Errorf("plan: %q is not a record type", o.Type)
	}
	if o.CurrentTTL < 0 {
		return nil, errors.New("plan: --ttl must not be negative")
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	p := &Plan{Name: name, Type: typ, From: o.From, To: o.To, Created: o.Now.UTC(), TTLGiven: o.CurrentTTL > 0}
	ttl := o.CurrentTTL
	if ttl == 0 {
		ttl = DefaultTTL
		p.Notes = append(p.Notes, fmt.Sprintf("current TTL not given: assumed %s; check it with `dig %s %s` at the authoritative server and re-plan with --ttl", human(ttl), name, typ))
	}
	p.CurrentTTL = int(ttl / time.Second)
	lead := max(ttl, MinLead)

	// Start no earlier than the next full hour: plans are made for people.
	start := o.Now.UTC().Truncate(time.Hour).Add(time.Hour)
	switchAt := o.At.UTC()
	if o.At.IsZero() {
		switchAt = start.Add(lead)
	} else if earliest := o.Now.UTC().Add(lead); switchAt.Before(earliest) {
		return nil, fmt.Errorf("plan: switching at %s is not safe: the TTL must be lowered at least %s (max(current TTL %s, 48 h)) before the switch; the earliest safe switch is %s if the TTL is lowered now",
			switchAt.Format(time.RFC3339), human(lead), human(ttl), earliest.Format(time.RFC3339))
	}
	lowerAt := switchAt.Add(-lead)
	if lowerAt.Before(start) && o.At.IsZero() {
		lowerAt = start
	}
	if lowerAt.Before(o.Now) {
		lowerAt = o.Now.UTC()
	}
	p.SwitchAt = switchAt
	keep := max(2*ttl, 2*LowTTL)
	p.KeepOldUntil = switchAt.Add(keep)

	from := o.From
	if from == "" {
		from = unknownFrom
	}
	low, cur, final := int(LowTTL/time.Second), p.CurrentTTL, int(FinalTTL/time.Second)
	check := fmt.Sprintf("sitrep dns check %s --type %s", name, typ)
	checkLow := fmt.Sprintf("%s --max-ttl %d", check, low)
	guard := fmt.Sprintf("sitrep dns guard --old %s --name %s --type %s --expect %s --log OLD_ENDPOINT_ACCESS_LOG", quote(from), name, typ, quote(o.To))
	if o.From == "" {
		guard = fmt.Sprintf("sitrep dns guard --old OLD_ENDPOINT --name %s --type %s --expect %s --log OLD_ENDPOINT_ACCESS_LOG", name, typ, quote(o.To))
	}
	p.Steps = []Step{
		{ID: "lower-ttl", At: lowerAt, Title: fmt.Sprintf("Lower the TTL of %s %s from %s to %s", name, typ, human(ttl), human(LowTTL)),
			Detail: fmt.Sprintf("Keep the value %s. Caches that fetched the record just before this still hold it for up to %s, so the switch waits at least max(current TTL, 48 h) = %s.", from, human(ttl), human(lead)),
			Change: &RecordChange{Old: from, New: from, TTL: cur, NewTTL: low}},
		{ID: "verify-low-ttl", At: lowerAt.Add(ttl), Title: "Verify that resolvers see the low TTL",
			Detail:  fmt.Sprintf("Every resolver must report a remaining TTL of at most %d s. A resolver still showing a larger TTL has the old TTL cached: postpone the switch until it runs out.", low),
			Command: checkLow},
		{ID: "switch", At: switchAt, Title: fmt.Sprintf("Switch %s %s to %s", name, typ, o.To),
			Detail: fmt.Sprintf("Change the value from %s to %s, keeping the TTL at %s. Do not touch the old endpoint.", from, o.To, human(LowTTL)),
			Change: &RecordChange{Old: from, New: o.To, TTL: low, NewTTL: low}},
		{ID: "verify-switch", At: switchAt.Add(LowTTL), Title: "Verify that resolvers serve the new value",
			Detail:  fmt.Sprintf("After %s every resolver must answer %s; a stale resolver is listed with the time until its cache runs out. To roll back, switch the value back: with the low TTL a rollback takes effect within %s.", human(LowTTL), o.To, human(LowTTL)),
			Command: check + " --expect " + quote(o.To)},
		{ID: "decommission-old", At: p.KeepOldUntil, Title: "Decommission the old endpoint once its traffic has stopped",
			Detail:  fmt.Sprintf("Keep %s serving at least 2 × the old TTL (%s) after the switch, and until its access log shows no traffic in the last hour: clients and resolvers that ignore TTLs, and caches filled just before the TTL was lowered, still arrive. The guard refuses while either holds.", from, human(keep)),
			Command: guard},
		{ID: "raise-ttl", At: p.KeepOldUntil, Title: fmt.Sprintf("Raise the TTL of %s %s back to %s", name, typ, human(FinalTTL)),
			Detail: fmt.Sprintf("Once the new endpoint has proven itself and a rollback is no longer likely, restore a TTL of %s (the policy `sitrep dns audit` checks).", human(FinalTTL)),
			Change: &RecordChange{Old: o.To, New: o.To, TTL: low, NewTTL: final}},
	}
	for i := range p.Steps {
		p.Steps[i].N = i + 1
		p.Steps[i].At = p.Steps[i].At.UTC()
	}
	return p, nil
}

// Changes returns the plan's record-changing steps as change events (kind
// dns, details name/type/old/new/ttl/new_ttl, time the scheduled time),
// ready for the change log. Check steps are not changes and are left out.
func (p *Plan) Changes(actor string) []signal.Change {
	sum := sha256.Sum256([]byte(p.Name + p.Type + p.To + p.SwitchAt.String()))
	prefix := "dnsplan-" + hex.EncodeToString(sum[:4])
	var out []signal.Change
	unknown := func(v string) string {
		if v == unknownFrom {
			return ""
		}
		return v
	}
	for _, s := range p.Steps {
		if s.Change == nil {
			continue
		}
		out = append(out, signal.Change{
			ID:      fmt.Sprintf("%s-%d", prefix, s.N),
			Time:    s.At,
			Kind:    signal.KindDNS,
			Summary: fmt.Sprintf("planned: %s", s.Title),
			Actor:   actor,
			Details: map[string]any{
				"name": strings.TrimSuffix(p.Name, "."), "type": p.Type,
				"old": unknown(s.Change.Old), "new": unknown(s.Change.New),
				"ttl": s.Change.TTL, "new_ttl": s.Change.NewTTL,
				"planned": true, "step": s.ID,
			},
		})
	}
	return out
}

// WriteText writes the plan as an aligned table followed by each step's
// detail.
func (p *Plan) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "DNS migration plan: %s %s → %s (current TTL %s)\n\n", p.Name, p.Type, p.To, human(time.Duration(p.CurrentTTL)*time.Second))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tNOT BEFORE (UTC)\tWHAT")
	for _, s := range p.Steps {
		fmt.Fprintf(tw, "%d\t%s\t%s\n", s.N, s.At.Format("2006-01-02 15:04"), s.Title)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, s := range p.Steps {
		fmt.Fprintf(w, "%d. %s\n   %s\n", s.N, s.Title, s.Detail)
		if s.Command != "" {
			fmt.Fprintf(w, "   $ %s\n", s.Command)
		}
	}
	for _, n := range p.Notes {
		fmt.Fprintf(w, "\nnote: %s\n", n)
	}
	return nil
}

// WriteMarkdown writes the plan for a change ticket.
func (p *Plan) WriteMarkdown(w io.Writer) error {
	fmt.Fprintf(w, "## DNS migration: `%s` %s → `%s`\n\n", p.Name, p.Type, p.To)
	from := p.From
	if from == "" {
		from = unknownFrom
	}
	fmt.Fprintf(w, "- Current value: `%s`, TTL %s\n- Switch: **%s**\n- Old endpoint kept until at least: **%s** (and until its traffic has stopped)\n\n",
		from, human(time.Duration(p.CurrentTTL)*time.Second), p.SwitchAt.Format("2006-01-02 15:04 UTC"), p.KeepOldUntil.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintln(w, "| # | Not before (UTC) | Step | Done |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, s := range p.Steps {
		fmt.Fprintf(w, "| %d | %s | %s | [ ] |\n", s.N, s.At.Format("2006-01-02 15:04"), mdEscape(s.Title))
	}
	fmt.Fprintln(w)
	for _, s := range p.Steps {
		fmt.Fprintf(w, "### %d. %s\n\n%s\n", s.N, s.Title, s.Detail)
		if s.Command != "" {
			fmt.Fprintf(w, "\n```\n%s\n```\n", s.Command)
		}
		fmt.Fprintln(w)
	}
	for _, n := range p.Notes {
		fmt.Fprintf(w, "> **Note:** %s\n\n", n)
	}
	return nil
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func quote(s string) string {
	if strings.ContainsAny(s, " \t'\"$`\\|&;()<>*?") {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return s
}

// human renders a duration for people: "60 s", "5 min", "24 h", "2 days".
func human(d time.Duration) string {
	switch {
	case d <= time.Minute:
		return fmt.Sprintf("%d s", int(d/time.Second))
	case d < time.Hour:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", d.Minutes()), ".0") + " min"
	case d <= 48*time.Hour:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", d.Hours()), ".0") + " h"
	default:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", d.Hours()/24), ".0") + " days"
	}
}
