package lab

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// addChange records a change at t (unix s); ids are given in time order
// when the change log is written.
func (g *gen) addChange(t int64, kind, service, summary, actor string, scope map[string]string, details map[string]any) *signal.Change {
	if t%60 == 0 {
		// tools stamp changes to the second; a round minute would give the
		// scenario's own changes away
		t -= int64(g.rng.IntN(60))
	}
	c := &signal.Change{Time: time.Unix(t, 0).UTC(), Kind: kind, Service: service, Summary: summary, Actor: actor, Scope: scope, Details: details}
	g.changes = append(g.changes, c)
	return c
}

// culprit marks c as the change that caused the incident.
func (g *gen) culprit(c *signal.Change) { g.culpritChange = c }

// writeChanges writes changes.jsonl sorted by time and fills in the ids and
// the truth's change_id.
func (g *gen) writeChanges(dir string) (string, int, error) {
	sort.SliceStable(g.changes, func(i, j int) bool { return g.changes[i].Time.Before(g.changes[j].Time) })
	id := 3000 + g.rng.IntN(5000)
	for _, c := range g.changes {
		id += 1 + g.rng.IntN(6)
		c.ID = "chg-" + strconv.Itoa(id)
	}
	if g.culpritChange != nil {
		g.truth.ChangeID = g.culpritChange.ID
	}
	for k, c := range g.related {
		g.params[k] = c.ID
	}
	p := filepath.Join(dir, "changes.jsonl")
	f, err := os.Create(p)
	if err != nil {
		return "", 0, fmt.Errorf("create change log: %w", err)
	}
	w := bufio.NewWriter(f)
	for _, c := range g.changes {
		b, err := json.Marshal(c)
		if err != nil {
			f.Close()
			return "", 0, fmt.Errorf("encode change %s: %w", c.ID, err)
		}
		w.Write(b)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return "", 0, fmt.Errorf("write %s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return "", 0, fmt.Errorf("close %s: %w", p, err)
	}
	return p, len(g.changes), nil
}

var otherServices = []string{"checkout", "search", "notifications", "auth", "payments", "recommendations", "inventory", "email-worker", "image-resizer", "pricing", "shipping"}
var people = []string{"alice.nguyen", "bob.okafor", "carla.mendes", "dmitri.volkov", "erin.walsh", "farid.haddad", "grace.kim", "hiro.tanaka"}

func (g *gen) person() string { return people[g.rng.IntN(len(people))] }

func (g *gen) semver(major int) (string, string) {
	minor := 3 + g.rng.IntN(40)
	patch := g.rng.IntN(8)
	prev := "v" + strconv.Itoa(major) + "." + strconv.Itoa(minor) + "." + strconv.Itoa(patch)
	next := "v" + strconv.Itoa(major) + "." + strconv.Itoa(minor) + "." + strconv.Itoa(patch+1)
	if g.rng.IntN(3) == 0 {
		next = "v" + strconv.Itoa(major) + "." + strconv.Itoa(minor+1) + ".0"
	}
	return next, prev
}

// otherRegion returns a region other than avoid (any region if avoid is nil).
func (g *gen) otherRegion(avoid *region) *region {
	for {
		r := g.regions[g.rng.IntN(len(g.regions))]
		if r != avoid || len(g.regions) == 1 {
			return r
		}
	}
}

// decoy kinds, each a function writing one plausible, unrelated change.
func (g *gen) decoy(t int64, avoid *region) {
	rng := g.rng
	// changes of the failing service or of DNS happen elsewhere; other
	// services change anywhere, the failing region included
	r := g.otherRegion(avoid)
	k := rng.IntN(12)
	if k != 4 && k != 6 {
		r = g.regions[rng.IntN(len(g.regions))]
	}
	rich := rng.IntN(2) == 0 // how much detail the tool that wrote it records
	switch k {
	case 0, 1, 2: // deploy of another service
		svc := otherServices[rng.IntN(len(otherServices))]
		next, prev := g.semver(1 + rng.IntN(4))
		d := map[string]any{"version": next, "previous_version": prev}
		if rich {
			d["image"] = "123456789012.dkr.ecr." + r.name + ".amazonaws.com/" + svc + ":" + next
			d["commit"] = randString(rng, hexDigits, 12)
			d["replicas"] = 3 + rng.IntN(10)
		}
		actor := "argocd"
		if rng.IntN(3) == 0 {
			actor = "github-actions"
		}
		g.addChange(t, signal.KindDeploy, svc, "deploy "+svc+" "+next+" to "+r.cluster, actor, map[string]string{"region": r.name, "cluster": r.cluster, "service": svc, "version": next}, d)
	case 3: // rollback of another service
		svc := otherServices[rng.IntN(len(otherServices))]
		next, prev := g.semver(1 + rng.IntN(4))
		g.addChange(t, signal.KindRollback, svc, "roll back "+svc+" to "+prev+" in "+r.cluster+" (elevated 4xx on "+next+")", g.person(),
			map[string]string{"region": r.name, "cluster": r.cluster, "service": svc, "version": prev}, map[string]any{"version": prev, "previous_version": next})
	case 4: // config change
		cfgs := []struct{ svc, key, old, new, summary string }{
			{"gateway", "rate_limit.partner-acme.rpm", "300", "600", "raise rate limit for partner acme to 600 rpm"},
			{"search", "SEARCH_TIMEOUT_MS", "800", "1200", "search: raise backend timeout to 1200 ms"},
			{"checkout", "PAYMENT_RETRY_MAX", "2", "3", "checkout: allow 3 payment retries"},
			{"notifications", "BATCH_SIZE", "500", "1000", "notifications: larger send batches"},
			{"api", "LOG_LEVEL", "debug", "info", "api: log level back to info"},
			{"web", "CSP_REPORT_ONLY", "true", "false", "web: enforce content security policy"},
		}
		c := cfgs[rng.IntN(len(cfgs))]
		d := map[string]any{"key": c.key, "old": c.old, "new": c.new}
		if rich {
			d["configmap"] = c.svc + "-config"
			d["pr"] = "https://github.com/example/deploy-config/pull/" + strconv.Itoa(1200+rng.IntN(800))
		}
		g.addChange(t, signal.KindConfig, c.svc, c.summary, g.person(), map[string]string{"region": r.name, "cluster": r.cluster, "service": c.svc}, d)
	case 5: // feature flag of another service
		flags := []struct{ svc, flag string }{{"checkout", "new-checkout-flow"}, {"web", "homepage-hero-v3"}, {"recommendations", "ranking-model-v7"}, {"search", "typo-tolerance"}, {"web", "dark-mode"}}
		f := flags[rng.IntN(len(flags))]
		old := 5 * (1 + rng.IntN(4))
		g.addChange(t, signal.KindFeatureFlag, f.svc, f.flag+": "+strconv.Itoa(old)+"% → "+strconv.Itoa(old*2)+"% of users", g.person(),
			map[string]string{"service": f.svc}, map[string]any{"flag": f.flag, "old": strconv.Itoa(old) + "%", "new": strconv.Itoa(old*2) + "%"})
	case 6: // DNS change with a short TTL elsewhere
		opts := []struct{ svc, name, typ, old, new, summary string }{
			{"status-page", "status.example.com", "CNAME", "example.statuspage.io", "example.instatus.com", "status page moved to new provider"},
			{"www", "assets.example.com", "CNAME", "d1a2b3c4.cloudfront.net", "d9f8e7d6.cloudfront.net", "assets moved to new distribution"},
			{"api", "api.example.com", "A", "198.51.100.4" + strconv.Itoa(rng.IntN(10)), "198.51.100.7" + strconv.Itoa(rng.IntN(10)), "api.example.com " + r.name + " latency record: health check updated"},
			{"mail", "mail.example.com", "MX", "10 mx1.mail.example.net.", "10 inbound-smtp." + r.name + ".amazonaws.com.", "mail: MX moved to SES inbound"},
			{"api", "partners.example.com", "CNAME", "api-" + r.name + ".example.com", "api.example.com", "partners endpoint follows latency routing"},
		}
		o := opts[rng.IntN(len(opts))]
		ttl := []int{60, 300, 300, 600}[rng.IntN(4)]
		g.addChange(t, signal.KindDNS, o.svc, o.summary, "netops", map[string]string{"region": r.name},
			map[string]any{"name": o.name, "type": o.typ, "old": o.old, "new": o.new, "ttl": ttl, "new_ttl": ttl})
	case 7: // infra change
		z := r.spec.zones[rng.IntN(3)]
		opts := []struct{ action, target, summary string }{
			{"modify", "eks-nodegroup/" + r.cluster + "-batch", "roll " + r.cluster + " batch node group to new AMI"},
			{"decommission", "es-domain/logs-es6-" + r.spec.short, "decommission legacy Elasticsearch 6 logging cluster"},
			{"modify", "sg-0" + randString(rng, hexDigits, 16), "security group: allow 10.0.0.0/8 to redis 6379"},
			{"create", "nat-gateway/" + r.name + z, "add NAT gateway in " + r.name + z},
			{"modify", "elasticache/sessions-" + r.spec.short, "resize sessions cache cache.r6g.large → cache.r6g.xlarge"},
			{"decommission", "ec2/bastion-" + r.spec.short + "-old", "decommission old bastion host"},
		}
		o := opts[rng.IntN(len(opts))]
		d := map[string]any{"action": o.action, "target": o.target}
		if rich {
			d["terraform_run"] = "run-" + randString(rng, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 16)
			d["workspace"] = "prod-" + r.spec.short
		}
		g.addChange(t, signal.KindInfra, "platform", o.summary, "terraform-cloud", map[string]string{"region": r.name}, d)
	case 8: // scaling
		svc := otherServices[rng.IntN(len(otherServices))]
		a := 4 + rng.IntN(8)
		g.addChange(t, signal.KindScale, svc, svc+": HPA max replicas "+strconv.Itoa(a)+" → "+strconv.Itoa(a+4), g.person(),
			map[string]string{"region": r.name, "cluster": r.cluster, "service": svc}, map[string]any{"min": 2, "max": a + 4, "previous_max": a})
	case 9: // certificate renewal
		hosts := []string{"status.example.com", "partners.example.com", "grafana.internal.example.com", "assets.example.com", "auth.example.com"}
		h := hosts[rng.IntN(len(hosts))]
		g.addChange(t, signal.KindCert, "platform", "renew certificate for "+h, "cert-manager", map[string]string{"host": h},
			map[string]any{"name": h, "not_after": time.Unix(t+90*86400, 0).UTC().Format(time.RFC3339), "issuer": "Let's Encrypt R11"})
	case 10: // harmless migration
		migs := []struct{ svc, db, id, stmt, summary string }{
			{"api", "orders", "20261120_0931_add_gift_message", "ALTER TABLE orders ADD COLUMN gift_message text", "orders: add gift message column"},
			{"api", "orders", "20261119_1702_create_wishlists", "CREATE TABLE wishlists (id bigserial primary key, user_id bigint not null, created_at timestamptz not null default now())", "orders: create wishlists table"},
			{"inventory", "inventory", "20261120_1015_backfill_warehouse", "UPDATE stock SET warehouse_id = 3 WHERE warehouse_id IS NULL AND sku < 'B'", "inventory: backfill warehouse ids"},
			{"inventory", "inventory", "20261120_1130_index_sku", "CREATE INDEX CONCURRENTLY idx_stock_sku ON stock (sku)", "inventory: index stock by sku"},
		}
		m := migs[rng.IntN(len(migs))]
		g.addChange(t, signal.KindDBMigration, m.svc, m.summary, "flyway", map[string]string{"region": r.name, "database": m.db},
			map[string]any{"migration": m.id, "statement": m.stmt, "database": m.db})
	default: // CDN when there is one, else another deploy
		if g.cdn != nil {
			g.addChange(t, signal.KindCDN, "www", "purge /static/* on www distribution", g.person(), map[string]string{"host": hostWWW},
				map[string]any{"distribution": g.cdn.name, "action": "invalidate", "paths": []string{"/static/*"}})
			return
		}
		svc := otherServices[rng.IntN(len(otherServices))]
		next, prev := g.semver(2)
		g.addChange(t, signal.KindDeploy, svc, "deploy "+svc+" "+next, "argocd", map[string]string{"region": r.name, "cluster": r.cluster, "service": svc, "version": next},
			map[string]any{"version": next, "previous_version": prev})
	}
}

// addDecoys scatters unrelated changes over the period: several in the
// baseline, one or two close to the onset and one or two after it, so
// that neither timing nor detail alone picks the culprit.
func (g *gen) addDecoys() {
	rng := g.rng
	avoid := g.scopeRegion
	n := 5 + rng.IntN(4)
	for i := 0; i < n; i++ {
		t := g.start - 3600 + rng.Int64N(g.onset-g.start+3600)
		g.decoy(t-t%60+int64(rng.IntN(60)), avoid)
	}
	// close to the onset, before or after it
	near := 1 + rng.IntN(2)
	for i := 0; i < near; i++ {
		t := g.onset + int64(rng.IntN(40*60)) - 25*60
		g.decoy(t, avoid)
	}
	// after the onset
	after := rng.IntN(3)
	for i := 0; i < after; i++ {
		t := g.onset + int64(rng.IntN(int(g.end-g.onset)))
		g.decoy(t, avoid)
	}
	// between the culprit and the onset, so the culprit is rarely the last
	// change before the incident
	if c := g.culpritChange; c != nil && rng.Float64() < 0.7 {
		ct := c.Time.Unix()
		lo := ct + 60
		hi := g.onset + 10*60
		if hi > lo {
			g.decoy(lo+rng.Int64N(hi-lo), avoid)
		}
	}
}
