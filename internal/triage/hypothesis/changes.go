package hypothesis

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/triage"
)

// timeFit says how well a change's time lines up with the onset: 1 just
// before it, decaying with tau as the change gets older, 0 after the onset
// (beyond one bucket of slack, since the onset is only known to a bucket).
func (f *features) timeFit(c *signal.Change, tau time.Duration) float64 {
	if !f.hasOnset {
		return 0
	}
	return f.timeFitAt(c, f.onset, tau)
}

// timeFitAt is timeFit against another reference time, such as the start
// of a climb in connections or memory that preceded the onset.
func (f *features) timeFitAt(c *signal.Change, ref time.Time, tau time.Duration) float64 {
	slack := f.bucket + 2*time.Minute
	d := ref.Sub(c.Time)
	if ref.Equal(f.onset) {
		// Within the onset's likelihood interval the data cannot tell
		// the change's time from the onset's: before it, the change is
		// as close as the interval's start; after it, up to its end, it
		// is at the onset.
		switch {
		case f.onsetLo.Before(ref) && d > 0:
			d = max(0, f.onsetLo.Sub(c.Time))
		case d < 0 && !c.Time.After(f.onsetHi):
			d = -time.Nanosecond // as a change within the slack after the onset
		}
	}
	switch {
	case d < -slack:
		return 0
	case d < 0:
		return 0.9
	}
	return math.Exp(-d.Seconds() / tau.Seconds())
}

// lag is how long before the onset the change happened (negative: after).
func (f *features) lag(c *signal.Change) time.Duration { return f.onset.Sub(c.Time) }

// when says when a change happened against the onset, for evidence and
// summaries: "11 min before the onset", "at the onset", or "4 min after
// the onset found (which may be as late as 12:55:30)".
func (f *features) when(c *signal.Change) string {
	lag := f.lag(c)
	switch {
	case lag >= 0:
		return round(lag) + " before the onset"
	case !c.Time.After(f.onset.Add(f.bucket)):
		return "at the onset"
	}
	return fmt.Sprintf("%s after the onset found (which may be as late as %s)", round(-lag), f.onsetHi.Format("15:04:05"))
}

// changeTokens are the values a change names: its scope, its service and
// the values in its details (versions, pods, addresses, names).
// broadKeys are scope keys naming a wide place: matching one only inside a
// composite value (a region inside an ARN or a log file name) says little.
var broadKeys = map[string]bool{"region": true, "zone": true, "cluster": true, "az": true, "datacenter": true, "dc": true, "service": true}

func broadTokens(c *signal.Change) map[string]bool {
	out := map[string]bool{}
	for k, v := range c.Scope {
		if broadKeys[k] {
			out[strings.ToLower(v)] = true
		}
	}
	out[strings.ToLower(c.Service)] = true
	return out
}

func changeTokens(c *signal.Change) []string {
	var out []string
	add := func(s string) {
		s = strings.ToLower(strings.TrimSpace(s))
		if len(s) >= 2 && s != "-" && s != "true" && s != "false" {
			out = append(out, s)
		}
	}
	for _, v := range c.Scope {
		add(v)
	}
	add(c.Service)
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			for _, part := range strings.FieldsFunc(x, func(r rune) bool { return r == ',' || r == ' ' }) {
				add(part)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	for k, v := range c.Details {
		switch k {
		case "ttl", "new_ttl", "type", "action", "summary", "reason":
			continue
		}
		walk(v)
	}
	return out
}

// valueMatches reports whether a change token names a finding's value:
// equal, or one contained in the other at a word boundary (eu-west-1 in
// app/api-eu-west-1-old/…, an IP in "10.0.0.7:8080 (api)").
func valueMatches(token, value string) bool {
	value = strings.ToLower(value)
	if token == value {
		return true
	}
	if len(token) >= 4 && containsWord(value, token) {
		return true
	}
	if len(value) >= 4 && containsWord(token, value) {
		return true
	}
	return false
}

func containsWord(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		j += i
		before := j == 0 || !isWordByte(s[j-1])
		after := j+len(w) == len(s) || !isWordByte(s[j+len(w)])
		if before && after {
			return true
		}
		i = j + 1
	}
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// scopeMatch measures how well a change's scope and details name where the
// failures are: 1 when they name the best finding's value, less for lower
// findings and related values. It returns the reason in words.
func (f *features) scopeMatch(c *signal.Change) (score float64, reason string, broadOnly bool) {
	toks := changeTokens(c)
	if len(toks) == 0 {
		return 0, "", false
	}
	broad := broadTokens(c)
	best := 0.0
	// Instances roll up to nodes and zones: a change naming the node or
	// zone that holds the failures names them too.
	for _, g := range [][]group{f.nodes, f.zones} {
		if len(g) > 0 && g[0].errShare >= 0.5 {
			for _, t := range toks {
				if broad[t] && t != strings.ToLower(g[0].name) {
					continue // a region inside a node's name says nothing
				}
				if valueMatches(t, g[0].name) {
					best, broadOnly = 0.8, false
					reason = fmt.Sprintf("names %s, which holds %s of the errors", g[0].name, pct(g[0].errShare))
				}
			}
		}
	}
	for i, fd := range f.top {
		if i >= 4 {
			break
		}
		w := []float64{1, 0.75, 0.55, 0.45}[i]
		try := func(dim, val string, weight float64) {
			if weight <= best || layerOf(dim) == layerStatus || layerOf(dim) == layerNoUp {
				return
			}
			cands := []string{val}
			if layerOf(dim) == layerPod {
				h := hostOf(val)
				cands = append(cands, h)
				if n := f.podNode[h]; n != "" {
					cands = append(cands, n)
				}
				if p := f.ipPod[h]; p != "" {
					cands = append(cands, p) // a change listing pods by name
				}
			}
			for _, t := range toks {
				wt := weight
				if broad[t] {
					switch layerOf(dim) {
					case layerZone:
					case layerLB:
						wt *= 0.4 // a region inside a load balancer's or log file's name
					default:
						continue // a region says nothing about one pod, node or path
					}
				}
				if wt <= best {
					continue
				}
				for _, v := range cands {
					if v != "" && valueMatches(t, v) {
						best, broadOnly = wt, broad[t]
						reason = fmt.Sprintf("names %s=%s, where %s of the %s are", dim, val, pct(fd.ErrorShare), f.say.errs)
						break
					}
				}
			}
		}
		for d, v := range fd.Scope {
			try(d, v, w)
		}
		for _, r := range fd.Related {
			for d, v := range r.Scope {
				try(d, v, w*0.9*r.Overlap)
			}
		}
	}
	return best, reason, broadOnly
}

// scopeConflict reports a change scoped to another place than the failures
// (region=us while every error is in region=eu).
func (f *features) scopeConflict(c *signal.Change) (bool, string) {
	if len(f.top) == 0 || !f.concentrated {
		return false, ""
	}
	fd := f.top[0]
	for k, v := range c.Scope {
		if fv, ok := fd.Scope[k]; ok && !strings.EqualFold(fv, v) {
			return true, fmt.Sprintf("the change is scoped to %s=%s, but the errors are in %s=%s", k, v, k, fv)
		}
	}
	// A load balancer or log named after its region says where the errors
	// are even without a region dimension (app/api-us-east-1/…).
	if r := strings.ToLower(c.Scope["region"]); regionRE.MatchString(r) {
		for d, fv := range fd.Scope {
			in := regionRE.FindAllString(strings.ToLower(fv), -1)
			if len(in) > 0 && !slices.Contains(in, r) {
				return true, fmt.Sprintf("the change is scoped to region %s, but the errors are in %s=%s (%s)", r, d, fv, in[0])
			}
		}
	}
	return false, ""
}

// regionRE matches cloud region names: AWS (us-east-1, ap-southeast-2) and
// Google Cloud (europe-west4, us-central1).
var regionRE = regexp.MustCompile(`\b(?:[a-z]{2}-[a-z]+-\d|[a-z]+-[a-z]+\d)\b`)

// rankChanges scores every change by how well it lines up with the
// incident, whatever the cause: time before the onset, and whether its
// scope names where the failures are.
func rankChanges(f *features) []triage.Change {
	out := []triage.Change{}
	if !f.hasOnset {
		return out
	}
	for i := range f.ev.Changes {
		c := &f.ev.Changes[i]
		var reasons []string
		tf := f.timeFit(c, changeTau(c, 30*time.Minute))
		lag := f.lag(c)
		switch {
		case tf == 0:
			reasons = append(reasons, fmt.Sprintf("happened %s after the onset", round(-lag)))
		case lag < 0 && !c.Time.After(f.onset.Add(f.bucket)):
			reasons = append(reasons, "happened at the onset (within a bucket)")
		default:
			reasons = append(reasons, "happened "+f.when(c))
		}
		sm, why, _ := f.linkScope(c)
		reasons = append(reasons, why...)
		score := 0.55*tf + 0.45*sm
		if tf == 0 {
			score = 0
		}
		if risk, what := migrationRisk(c); risk != 0 {
			reasons = append(reasons, what)
			if risk < 0 {
				score *= 0.2
			}
		}
		out = append(out, triage.Change{ID: c.ID, Score: round2(clamp01(score)), Reasons: reasons})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out
}

func round(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < 2*time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	}
	return fmt.Sprintf("%.1f days", d.Hours()/24)
}

// bestChange picks the change a cause would blame: a change of one of the
// kinds, before the onset, scored by time (tau) and scope; nil when none
// fits well enough. A change is never blamed only for being the latest:
// it needs either a close time fit or a scope that names the failures.
func (f *features) bestChange(kinds []string, tau time.Duration, scopeWeight float64) (*signal.Change, float64, []string) {
	return f.bestChangeAt(kinds, f.onset, tau, scopeWeight)
}

// bestChangeAt is bestChange with the time fit measured against ref (the
// start of a ramp, say) instead of the onset.
func (f *features) bestChangeAt(kinds []string, ref time.Time, tau time.Duration, scopeWeight float64) (*signal.Change, float64, []string) {
	if !f.hasOnset {
		return nil, 0, nil
	}
	var best *signal.Change
	bestScore := 0.0
	var why []string
	for i := range f.ev.Changes {
		c := &f.ev.Changes[i]
		if !kindIn(c.Kind, kinds) {
			continue
		}
		tf := f.timeFitAt(c, ref, changeTau(c, tau))
		if tf == 0 || c.Time.After(f.onsetHi.Add(f.bucket+2*time.Minute)) {
			continue
		}
		if risk, _ := migrationRisk(c); risk < 0 {
			continue // it cannot have broken what ran before it
		}
		sm, links, otherService := f.linkScope(c)
		if otherService {
			continue
		}
		if sm <= 0 && (f.concentrated || tf < 0.6) {
			// A change that does not name where the failures are is blamed
			// only for being close in time, and never when the failures sit
			// in one place it does not name.
			continue
		}
		// Time gates everything: a change that names the failing scope but
		// happened hours before a sudden onset did not trigger it.
		score := tf * ((1 - scopeWeight) + scopeWeight*sm)
		if score < 0.15 {
			continue
		}
		if score > bestScore {
			best, bestScore = c, score
			why = []string{fmt.Sprintf("%s %s %s: %s", c.Kind, c.ID, f.when(c), c.Summary)}
			for _, l := range links {
				why = append(why, c.ID+" "+l)
			}
		}
	}
	return best, clamp01(bestScore), why
}

// appKinds are the changes made to one service, which a service name ties
// to (or rules out for) the failing traffic.
var appKinds = []string{signal.KindDeploy, signal.KindRollback, signal.KindConfig, signal.KindFeatureFlag, signal.KindScale}

// changeTau is how fast a change's time fit fades: tau, or for a DNS
// change its old TTL (cached answers live that long).
func changeTau(c *signal.Change, tau time.Duration) time.Duration {
	if c.Kind == signal.KindDNS {
		if ttl, ok := c.DetailFloat("ttl"); ok && ttl > 0 {
			return time.Duration(ttl) * time.Second
		}
	}
	return tau
}

// linkScope measures how a change's scope and service tie it to the
// failures: the scope match (negative when the change is scoped elsewhere),
// the reasons in words, and whether it changes another service than the
// failing one (then it is not about these failures).
func (f *features) linkScope(c *signal.Change) (float64, []string, bool) {
	var reasons []string
	sm, why, broadOnly := f.scopeMatch(c)
	other := false
	svc := orDefault(c.Service, c.Scope["service"])
	switch fit := f.serviceFit(c); {
	case fit > 0 && sm < 0.6:
		sm, why = 0.6, fmt.Sprintf("changes %s, the service the failing requests belong to", svc)
	case fit < 0 && (sm <= 0.3 || broadOnly) && kindIn(c.Kind, appKinds):
		// Another service's change, unless it names the failing scope
		// itself: its region inside a load balancer's name does not.
		sm, other = -0.3, true
		reasons = append(reasons, fmt.Sprintf("changes %s, not the failing service", svc))
	}
	if why != "" {
		reasons = append(reasons, why)
	}
	if bad, why := f.scopeConflict(c); bad {
		sm = -0.6
		reasons = append(reasons, why)
	}
	return sm, reasons, other
}

func kindIn(k string, kinds []string) bool {
	for _, x := range kinds {
		if x == k {
			return true
		}
	}
	return false
}

// migrationRisk reads a db-migration's statement (detail statement, sql or
// ddl) the way a DBA would: -1 when it cannot affect the queries that ran
// before it (a new table, a nullable column without a default), 1 when it
// can slow or break them (with why), 0 when it does not say.
func migrationRisk(c *signal.Change) (int, string) {
	if c.Kind != signal.KindDBMigration {
		return 0, ""
	}
	var stmt string
	for _, k := range []string{"statement", "sql", "ddl"} {
		if stmt = c.DetailString(k); stmt != "" {
			break
		}
	}
	st := strings.Join(strings.Fields(strings.ToUpper(stmt)), " ")
	if st == "" || strings.Count(strings.TrimSuffix(st, ";"), ";") > 0 {
		return 0, "" // unknown, or several statements: not judged
	}
	has := func(w string) bool { return strings.Contains(st, w) }
	switch {
	case strings.HasPrefix(st, "CREATE TABLE"):
		return -1, "it creates a new table, which no existing query reads"
	case strings.HasPrefix(st, "ALTER TABLE") && has(" ADD COLUMN ") && !has("NOT NULL") && !has("DEFAULT") && !has(","):
		return -1, "it adds a nullable column without a default, a change of the catalog only"
	case has("DROP INDEX"):
		return 1, "it drops an index: the queries that used it scan the table"
	case strings.HasPrefix(st, "CREATE INDEX") || strings.HasPrefix(st, "CREATE UNIQUE INDEX"):
		if has(" CONCURRENTLY ") {
			return 0, ""
		}
		return 1, "it builds an index without CONCURRENTLY: writes to the table wait for it"
	case has(" TYPE ") && has("ALTER COLUMN"), has("VACUUM FULL"), strings.HasPrefix(st, "CLUSTER"), strings.HasPrefix(st, "LOCK "):
		return 1, "it rewrites or locks the table: queries on it wait"
	case has("ADD CONSTRAINT") && !has("NOT VALID"):
		return 1, "it validates a constraint, scanning the table under a lock"
	case strings.HasPrefix(st, "UPDATE ") || strings.HasPrefix(st, "DELETE "):
		return 1, "it rewrites rows in bulk: row locks, load and bloat on the table"
	case has("DROP TABLE") || has("DROP COLUMN") || has(" RENAME "):
		return 1, "it removes or renames what running code may still use"
	}
	return 0, ""
}
