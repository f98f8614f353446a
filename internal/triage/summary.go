package triage

import (
	"fmt"
	"strings"
)

// summarize writes a finding's one-sentence summary: what the scope holds
// and what to do about it.
func summarize(f *Finding) string {
	var scope []string
	for i := range f.dims {
		scope = append(scope, f.dims[i]+"="+f.vals[i])
	}
	what := strings.Join(scope, " with ")
	if loc := locatedIn(f); loc != "" {
		what += " (all in " + loc + ")"
	}
	var b strings.Builder
	failing, noun, fail := "failing", "requests", "fail"
	switch {
	case f.pass == passSlow:
		failing, fail = "slow", "are slow"
	case f.pass == passClient && f.code != "4xx":
		failing, noun, fail = f.code, "responses", "get a "+f.code
	case f.pass == passClient:
		failing, fail = "client-error (4xx)", "get one"
	}
	fmt.Fprintf(&b, "%s holds %s of the %s %s but %s of the traffic; %s of its requests %s",
		what, pct(f.ErrorShare), failing, noun, pct(f.TrafficShare), pct(f.ErrorRate), fail)
	switch {
	case f.BaselineErrorRate != nil:
		fmt.Fprintf(&b, " (%s before the onset)", pct(*f.BaselineErrorRate))
	case f.hasBase && f.BaselineRequests < 20:
		b.WriteString(" and it had almost no traffic before the onset")
	}
	b.WriteString(": ")
	b.WriteString(action(f.dims, f.vals))
	b.WriteString(".")
	return b.String()
}

// action says what a responder should look at for a scope; the most
// specific dimension of a combination decides.
func action(dims, vals []string) string {
	best := 0
	for i := range dims {
		if specificity(dims[i], vals[i]) > specificity(dims[best], vals[best]) {
			best = i
		}
	}
	d, v := dims[best], vals[best]
	var where string
	if len(dims) > 1 {
		var others []string
		for i := range dims {
			if i != best {
				others = append(others, dims[i]+"="+vals[i])
			}
		}
		where = " for " + strings.Join(others, ", ")
	}
	switch {
	case (d == "no_upstream" && v == "true") || (isUpstream(d) && v == "-"):
		return "these requests never reached a backend" + where + " — check the load balancer's upstream endpoints, DNS answers and routing for them"
	case d == "region" || d == "zone" || d == "availability_zone" || d == "az" || d == "datacenter" || d == "dc":
		return fmt.Sprintf("check routing, DNS and the infrastructure serving %s %s%s (and consider failing it over)", d, v, where)
	case d == "node":
		return fmt.Sprintf("check node %s%s (kubelet, disk, network) and cordon it to move the pods away", v, where)
	case isUpstream(d) || d == "pod" || d == "target" || d == "instance":
		return fmt.Sprintf("take backend %s%s out of rotation after capturing its logs, then check its health", v, where)
	case d == "path" || d == "endpoint" || d == "route":
		return fmt.Sprintf("check the handler for %s%s and what was last released for it", v, where)
	case d == "version" || d == "release" || d == "build":
		return fmt.Sprintf("stop the rollout of %s %s%s or roll it back", d, v, where)
	case d == "method":
		return fmt.Sprintf("check the handlers of %s requests%s", v, where)
	case d == "source" || d == "elb" || d == "lb" || d == "load_balancer":
		return fmt.Sprintf("check load balancer / log source %s%s and what it routes to", v, where)
	case d == "host" || d == "server_name" || d == "vhost":
		return fmt.Sprintf("check the service behind host %s%s", v, where)
	case d == "ua_product":
		return fmt.Sprintf("one client software, %s%s: check what these clients send and what changed for them (a new release, a new integration, a crawler)", v, where)
	case strings.HasPrefix(d, "client") || d == "ua_family" || d == "user_agent":
		return fmt.Sprintf("one population of clients fails (%s=%s%s): check what distinguishes them (network, app version, cache)", d, v, where)
	default:
		return fmt.Sprintf("look at what serves %s=%s%s and what changed for it", d, v, where)
	}
}

func isUpstream(d string) bool {
	return d == "upstream" || d == "upstream_addr" || d == "upstream_name" || d == "target"
}

// specificity ranks how directly a dimension points to an action.
func specificity(d, v string) int {
	switch {
	case (d == "no_upstream" && v == "true") || (isUpstream(d) && v == "-"):
		return 9
	case isUpstream(d) || d == "pod" || d == "target" || d == "instance":
		return 8
	case d == "node":
		return 7
	case d == "version" || d == "release":
		return 6
	case d == "path":
		return 5
	case d == "region" || d == "zone" || d == "az":
		return 4
	case d == "source" || d == "elb":
		return 1
	}
	return 2
}

// pct formats a share as a percentage with sensible precision.
func pct(v float64) string {
	p := v * 100
	switch {
	case p == 0:
		return "0%"
	case p < 0.1:
		return fmt.Sprintf("%.2f%%", p)
	case p < 10:
		return fmt.Sprintf("%.1f%%", p)
	default:
		return fmt.Sprintf("%.0f%%", p)
	}
}

// locatedIn names a region, zone, node or cluster that holds (nearly) all
// of the finding's failing requests, from its related findings.
func locatedIn(f *Finding) string {
	for _, d := range f.dims {
		if locating[d] {
			return "" // the scope already says where
		}
	}
	for _, r := range f.Related {
		if r.pair || r.Covers < 0.95 || !locating[r.Dimension] {
			continue
		}
		if _, ok := f.Scope[r.Dimension]; ok {
			continue
		}
		return r.Dimension + "=" + r.Value
	}
	return ""
}
