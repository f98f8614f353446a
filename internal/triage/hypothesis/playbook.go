package hypothesis

import (
	"fmt"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/source/prom"
	"github.com/sitrep-dev/sitrep/internal/triage"
)

// plan holds the checks that would confirm a hypothesis and the ways to
// contain the incident if it holds, each with its risk. They encode what
// experienced responders know: restarting destroys evidence; rolling back
// does not help when the cause is DNS or a CDN; scaling the app tier out
// makes connection exhaustion worse; nobody can flush other people's
// resolver caches.
type plan struct {
	checks      []string
	containment []triage.Containment
}

func (p *plan) check(format string, args ...any) {
	p.checks = append(p.checks, fmt.Sprintf(format, args...))
}
func (p *plan) contain(action, risk string) {
	p.containment = append(p.containment, triage.Containment{Action: action, Risk: risk})
}

// whereInstancesRun asks where the instances of a cohort hypothesis run
// (scope "instances": nothing said it), the first four by name.
func (p *plan) whereInstancesRun(h scored) {
	ips := strings.Split(h.scope["instances"], ",")
	if ips[0] == "" {
		return
	}
	ips = ips[:min(len(ips), 4)]
	p.check("kubectl get pods -A -o wide | grep -wE '%s'   (which node, and which zone, do they run on?)", strings.ReplaceAll(strings.Join(ips, "|"), ".", `\.`))
}

// where says what the failing scope is, for the commands.
type where struct {
	namespace, deployment, pod, podIP, node, region string
}

func (f *features) where(h scored) where {
	w := where{namespace: "<namespace>", deployment: "<deployment>"}
	if f.m != nil {
		for _, s := range f.m.Series {
			if ns := s.Labels["namespace"]; ns != "" {
				w.namespace = ns
				break
			}
		}
	}
	for _, fd := range f.top {
		for d, v := range fd.Scope {
			switch layerOf(d) {
			case layerPod:
				if w.podIP == "" {
					w.podIP = hostOf(v)
					if i := strings.Index(v, "("); i > 0 {
						name := strings.TrimSuffix(v[i+1:], ")")
						// Traefik names services <namespace>-<service>-<port>@<provider>.
						name, _, _ = strings.Cut(name, "@")
						parts := strings.Split(name, "-")
						switch {
						case strings.Count(name, "|") == 3:
							// Istio/Envoy clusters: outbound|8080||orders.shop.svc.cluster.local
							host := strings.Split(name[strings.LastIndexByte(name, '|')+1:], ".")
							if len(host) >= 3 && host[2] == "svc" {
								w.deployment, w.namespace = host[0], host[1]
							}
						case parts[0] == "k8s" && len(parts) >= 4:
							// AWS Load Balancer Controller target groups:
							// k8s-<namespace>-<service>-<hash>
							w.namespace = parts[1]
							w.deployment = strings.Join(parts[2:len(parts)-1], "-")
						case len(parts) >= 3:
							// ingress-nginx upstreams: <namespace>-<service>-<port>
							w.namespace = parts[0]
							w.deployment = strings.Join(parts[1:len(parts)-1], "-")
						}
					}
				}
			case layerNode:
				if w.node == "" {
					w.node = v
				}
			case layerZone:
				if w.region == "" {
					w.region = v
				}
			}
		}
	}
	// The hypothesis's own scope beats the findings': a zone rolled up
	// from its instances' nodes is in no finding.
	for d, v := range h.scope {
		switch {
		case d == "node":
			w.node = v
		case layerOf(d) == layerZone:
			w.region = v
		}
	}
	if w.node == "" && w.podIP != "" {
		w.node = f.podNode[w.podIP]
	}
	w.pod = "<pod>"
	if p := f.ipPod[w.podIP]; p != "" {
		// kube_pod_info knows the pod by its IP: its name, namespace and
		// deployment beat what an upstream's name suggests.
		w.pod = p
		if o := f.ipOwner[w.podIP]; o.namespace != "" {
			w.namespace = o.namespace
			if o.deployment != "" {
				w.deployment = o.deployment
			}
		}
	} else if f.m != nil && w.podIP != "" {
		for _, s := range f.m.Series {
			if s.Labels["pod_ip"] == w.podIP && s.Labels["pod"] != "" {
				w.pod = s.Labels["pod"]
			}
		}
	}
	if h.change != nil {
		if s := h.change.Service; s != "" && w.deployment == "<deployment>" {
			w.deployment = s
		}
		if r := h.change.Scope["region"]; r != "" && w.region == "" {
			w.region = r
		}
	}
	return w
}

func playbook(cause string, f *features, h scored) plan {
	var p plan
	w := f.where(h)
	c := h.change
	switch cause {
	case "dns-stale-cache":
		name, old, nw, typ := "<name>", "<old>", "<new>", "A"
		ttl := 0.0
		if c != nil {
			name, old, nw = orDefault(c.DetailString("name"), name), orDefault(c.DetailString("old"), old), orDefault(c.DetailString("new"), nw)
			typ = orDefault(c.DetailString("type"), typ)
			ttl, _ = c.DetailFloat("ttl")
		}
		p.check("sitrep dns check %s --type %s --expect %s   (which resolvers still answer %s, and for how long)", name, typ, nw, old)
		p.check("dig @<resolver> %s %s   (from the affected region: the answer and its remaining TTL)", name, typ)
		p.check("Look at the old endpoint's own access logs or metrics: requests still arriving at %s are clients on cached answers", old)
		p.check("sitrep dns guard --old %s --name %s --expect %s   (before touching the old endpoint again)", old, name, nw)
		keep := "at least twice the old TTL"
		if ttl > 0 {
			keep = fmt.Sprintf("at least %s (twice the old TTL of %s) after the switch", round(2*time.Duration(ttl)*time.Second), round(time.Duration(ttl)*time.Second))
		}
		p.contain(fmt.Sprintf("Bring the old endpoint %s back into service (re-register healthy targets, or point it at the new backend) and keep it serving %s, until its traffic stops", old, keep),
			"Low: it serves the same backend; it costs the old load balancer for a while longer. Check its TLS certificate and security groups still fit.")
		p.contain("If the old address can be kept, move it onto the new load balancer (an elastic/static IP reassignment), so cached answers reach healthy targets",
			"Only possible where the provider lets the address move; done wrong it takes the new endpoint down too.")
		p.contain("Do not roll back the application or flush caches: nobody can flush other organisations' resolvers, and a rollback changes nothing for clients on cached answers while creating false confidence",
			"Rolling back burns time and adds a second change during the incident.")
		p.contain("Next time lower the TTL to 60 s at least max(old TTL, 48 h) before a switch: `sitrep dns plan`",
			"None; it only needs planning.")
	case "bad-deploy":
		prev := "<previous version>"
		if c != nil {
			prev = orDefault(c.DetailString("previous_version"), prev)
		}
		p.check("kubectl rollout history deployment/%s -n %s   (what changed, and when)", w.deployment, w.namespace)
		p.check("kubectl get pods -n %s -l app=%s -o wide   (which pods run the new version; compare their errors with the old ones')", w.namespace, w.deployment)
		p.check("kubectl logs -n %s deploy/%s --since=30m | grep -i -m 50 error   (the errors the new version logs)", w.namespace, w.deployment)
		if c != nil {
			p.check("Diff %s against %s: what in it touches the failing endpoints?", orDefault(c.DetailString("version"), c.ID), prev)
		}
		p.contain(fmt.Sprintf("Roll back: kubectl rollout undo deployment/%s -n %s (to %s), or revert the config/flag", w.deployment, w.namespace, prev),
			"Safe when the change is confirmed as the trigger and no irreversible schema migration shipped with it; watch the error rate fall within a rollout's time.")
		p.contain("If a canary: stop the rollout and shift its traffic to the stable version (kubectl rollout pause / your canary tool)",
			"Low; keeps the broken pods for debugging without traffic.")
		p.contain("Do not restart pods to 'fix' it",
			"Restarting a bad version brings back the same version and destroys the logs and state you need.")
	case "db-pool-exhaustion":
		if f.dbEngine() == "mysql" {
			p.check("SHOW GLOBAL STATUS LIKE 'Threads_connected'; SHOW VARIABLES LIKE 'max_connections';   (or sitrep db check --dsn mysql://…)")
			p.check("SELECT user, host, command, state, count(*) FROM information_schema.processlist GROUP BY 1,2,3,4 ORDER BY 5 DESC;   (who holds the connections; many 'Sleep' with open transactions = a leak)")
			p.check("SELECT trx_id, trx_started, trx_mysql_thread_id, trx_query FROM information_schema.innodb_trx ORDER BY trx_started LIMIT 20;")
		} else {
			p.check("SELECT state, usename, application_name, client_addr, count(*) FROM pg_stat_activity GROUP BY 1,2,3,4 ORDER BY 5 DESC;   (who holds the connections; many 'idle in transaction' = a leak)")
			p.check("SHOW max_connections; SELECT count(*) FROM pg_stat_activity;   (or sitrep db check --dsn …)")
			p.check("SELECT pid, now()-xact_start AS age, state, left(query,80) FROM pg_stat_activity WHERE state <> 'idle' ORDER BY age DESC LIMIT 20;")
		}
		p.check("The application's pool metrics (in use vs max open, wait count) per instance")
		if c != nil {
			p.check("Diff %s for connection handling: transactions not closed, pool size, new per-request connections", c.ID)
		}
		p.contain("Roll back the change that started the climb"+ifChange(c),
			"Safe if it is the trigger; connections free only as the old pods exit, so it takes a rollout's time.")
		if f.dbEngine() == "mysql" {
			p.contain("Kill the leaked sessions (KILL <id> for long 'Sleep' connections holding transactions)",
				"Kills in-flight work of those sessions; capture the processlist first, it is the evidence.")
		} else {
			p.contain("Terminate the leaked sessions: SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle in transaction' AND now()-state_change > interval '5 minutes';",
				"Kills in-flight work of those sessions; capture pg_stat_activity first, it is the evidence.")
		}
		p.contain("Do NOT scale the application tier out",
			"Every new instance opens its own pool: more instances mean more connections against the same max_connections and make the exhaustion worse.")
		p.contain("Lower per-instance pool size or add a pooler (PgBouncer) in front of the database",
			"A config change during an incident; lower pools queue requests in the app instead of the database.")
	case "slow-queries":
		p.check("SELECT query, calls, mean_exec_time, total_exec_time FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 10;")
		p.check("EXPLAIN (ANALYZE, BUFFERS) the top statement: a sequential scan where an index scan was = a dropped or missing index")
		p.check("SELECT * FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE NOT l.granted;   (lock waits behind a migration)")
		if c != nil {
			p.check("Read migration %s: which index or table did it change?", c.ID)
		}
		p.contain("Restore the index (CREATE INDEX CONCURRENTLY …) or revert the migration",
			"CREATE INDEX CONCURRENTLY does not block writes but takes time and I/O on a loaded database; a plain CREATE INDEX locks the table.")
		p.contain("Shed load on the slow endpoints (rate-limit or feature-flag them off) while the fix builds",
			"Those features are unavailable meanwhile.")
		p.contain("Do not scale the application out",
			"More instances send more slow queries and connections to the same database.")
	case "memory-leak":
		p.check("kubectl top pods -n %s --sort-by=memory", w.namespace)
		p.check("kubectl get pods -n %s -o wide   (restarts); kubectl describe pod <pod> -n %s | grep -A3 'Last State'   (OOMKilled)", w.namespace, w.namespace)
		p.check("Take a heap profile from an instance that is high but not yet killed (e.g. /debug/pprof/heap) before anything restarts it")
		p.contain("Roll back the release that started the ramp"+ifChange(c),
			"Safe if confirmed; the leak stops only on new pods.")
		p.contain("Raise the memory limit temporarily and/or restart instances in a rolling way before they hit the limit",
			"Buys time only; a restart destroys the heap you need to find the leak — profile one instance first.")
	case "bad-pod":
		p.check("kubectl get endpoints -n %s %s -o wide   (is %s still in the endpoints?)", w.namespace, w.deployment, orDefault(w.podIP, "the failing pod's IP"))
		p.check("kubectl describe pod %s -n %s; kubectl logs %s -n %s --previous", w.pod, w.namespace, w.pod, w.namespace)
		p.check("Compare the pod's readiness probe with what fails: a probe that does not exercise the failing path keeps a broken pod in rotation")
		p.contain(fmt.Sprintf("Take the pod out of rotation without killing it: kubectl label pod %s -n %s app- (or remove its readiness), so it stops receiving traffic", w.pod, w.namespace),
			"Low; the remaining pods take its share. Keep it running to inspect it.")
		p.contain(fmt.Sprintf("Then delete it: kubectl delete pod %s -n %s", w.pod, w.namespace),
			"Destroys the evidence: capture logs, describe output and a profile first.")
	case "bad-node":
		node := orDefault(w.node, "<node>")
		if w.node == "" {
			p.whereInstancesRun(h)
		}
		p.check("kubectl describe node %s   (conditions, pressure, events)", node)
		p.check("kubectl get pods -A -o wide --field-selector spec.nodeName=%s   (what runs there)", node)
		p.check("Node network counters (node_network_receive_errs_total, drops) and the kernel log on %s", node)
		p.contain(fmt.Sprintf("kubectl cordon %s, then kubectl drain %s --ignore-daemonsets --delete-emptydir-data", node, node),
			"Drain moves pods to other nodes: check they have room; pods with local state lose it.")
		p.contain("Replace the node (terminate it in its node group) once drained",
			"Loses what is on it; take the node's logs first.")
	case "zone-outage":
		z := orDefault(w.region, "<zone>")
		p.whereInstancesRun(h)
		p.check("The provider's status page and health events for %s", z)
		p.check("kubectl get nodes -L topology.kubernetes.io/zone   (are the nodes of %s Ready?)", z)
		p.check("Load balancer target health in %s", z)
		p.contain(fmt.Sprintf("Fail over: take %s out of DNS/GSLB or the load balancer, so traffic goes to the healthy zones", z),
			"The other zones must absorb the traffic: scale them first; clients on cached DNS answers keep hitting the failed zone until the TTL runs out.")
		p.contain("Do not roll back application changes for a zone failure",
			"It does not help and adds change during the incident.")
	case "cdn-origin":
		p.check("curl -sv https://<origin host>/healthz --resolve <origin host>:443:<origin IP>   (the origin directly, bypassing the CDN)")
		p.check("The CDN's origin configuration (host, port, TLS/SNI, allowed IPs) against its last known good version%s", ifChangeCheck(c))
		p.check("The origin's access logs: if the failing requests never arrive there, the CDN cannot reach it")
		p.contain("Revert the CDN/origin configuration change"+ifChange(c),
			"Safe if it is the trigger; CDN config changes can take minutes to propagate to every edge.")
		p.contain("Do not roll back the application",
			"The origin is healthy; a rollback changes nothing for the CDN and creates false confidence.")
		p.contain("Temporarily point DNS at the origin/load balancer directly",
			"Loses caching and protection; the origin must take the full load; DNS TTLs delay both the switch and the switch back.")
	case "cert-expired":
		p.check("echo | openssl s_client -connect <host>:443 -servername <host> 2>/dev/null | openssl x509 -noout -dates -subject")
		p.check("The certificate manager (cert-manager: kubectl get certificate -A; ACM) for failed renewals")
		p.contain("Install a valid certificate on the endpoint (renew, or re-attach the renewed one)",
			"Low; check the whole chain and every listener/endpoint that shares it.")
		p.contain("Do not roll back the application",
			"The certificate is independent of the release.")
	case "capacity":
		p.check("Requests per second per instance vs what one instance sustained in load tests; CPU and saturation per instance")
		p.check("Where the extra traffic comes from (client networks, user agents): a retry storm or a bot is not organic load")
		p.contain("Scale out the saturated tier (kubectl scale / HPA max), if its dependencies have headroom",
			"Check the database's connection limit first: more instances open more connections.")
		p.contain("Shed or rate-limit the non-essential or abusive traffic",
			"Some users are refused; prefer shedding bots and retries.")
	case "dependency":
		dep := h.scope["dependency"]
		if dep == "" {
			p.check("The application's logs and traces for the failing endpoints: which downstream call fails or times out?")
			p.check("The dependency's own health and error rate")
		} else {
			p.check("The application's logs and traces for the failing endpoints: do the calls to %s fail with errors, or time out?", dep)
			p.check("%s's own status page, dashboards or owning team: is it failing for everyone, or only for us (credentials, quota, rate limits)?", dep)
			p.check("Outbound calls to %s per instance and region: if one region or pod alone fails them, suspect the network path (egress, NAT, DNS) rather than %s", dep, dep)
		}
		target := "the failing dependency"
		if dep != "" {
			target = dep
		}
		p.contain("Degrade gracefully: feature-flag off the calls to "+target+", or serve cached/fallback responses",
			"Reduced functionality until it recovers; check that the fallback does not fail in its turn.")
		p.contain("Fail fast: lower the timeout of the calls to "+target+" and cap retries (or open its circuit breaker)",
			"Retries multiply load on a struggling dependency; too-short timeouts fail requests that would have succeeded. Calls that hang hold threads and connections the healthy endpoints need.")
		p.contain("Do not roll back or restart the application for it",
			"The instances are healthy; a rollback or restart changes nothing while the dependency fails, and adds change during the incident.")
	}
	if f.m != nil && cause == "db-pool-exhaustion" {
		if s := f.m.Role(prom.RoleDBConnUsage); len(s) > 0 {
			p.check("Watch %s / max connections fall after the containment", s[0].Name)
		}
	}
	if p.checks == nil {
		p.checks = []string{}
	}
	if p.containment == nil {
		p.containment = []triage.Containment{}
	}
	return p
}

// dbEngine says which database the metrics come from: "mysql" when
// mysqld_exporter series are there, else "postgres".
func (f *features) dbEngine() string {
	for _, s := range f.ev.Metrics {
		if strings.HasPrefix(s.Name, "mysql_") {
			return "mysql"
		}
	}
	return "postgres"
}

func orDefault(s, d string) string {
	if strings.TrimSpace(s) == "" {
		return d
	}
	return s
}

func ifChange(c *signal.Change) string {
	if c == nil {
		return ""
	}
	return " (" + c.ID + ")"
}

func ifChangeCheck(c *signal.Change) string {
	if c == nil {
		return ""
	}
	return "; " + c.ID + " changed it"
}
