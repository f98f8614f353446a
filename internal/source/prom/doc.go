// Package prom reads metrics from Prometheus — query_range response bodies
// saved to files (design.md §4.2) or a live server — and turns the raw series
// into what an analyst reads: request and error rates, error ratios, latency
// quantiles, CPU, memory against its limit, restarts and OOM kills, database
// connections against their maximum, query latency.
//
// The pieces, in the order data flows through them:
//
//   - Decode, ReadFile and ReadFiles parse query_range bodies into
//     []signal.Series (one series per result, __name__ as the series name).
//   - Client runs queries against a live Prometheus; Client.Fetch runs the
//     standard set of bare-selector queries for every metric the Catalog
//     knows, so a live fetch and a saved file produce the same series.
//   - Catalog maps exporters' metric names (node_exporter, cAdvisor,
//     kube-state-metrics, ingress-nginx, client_golang, postgres_exporter,
//     mysqld_exporter, blackbox_exporter) to semantic roles; LoadMapping adds
//     a user's own names from a YAML file.
//   - Derive turns raw series into per-role Metrics: counters become
//     per-second rates (counter resets handled), histogram buckets become
//     p50/p95/p99, 5xx over all requests becomes an error ratio, database
//     connections and memory become fractions of their limits.
//   - Step, Ramp, FirstCrossing and PinnedNear measure the shape of a
//     series over a window, for the triage detectors.
package prom
