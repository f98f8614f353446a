// Package dnsops holds the DNS operations built on the probe: audit (TTL
// policy), plan (a dated migration plan that cannot strand users) and guard
// (refuse to decommission an endpoint that still gets traffic). Each lives
// in its own subpackage.
package dnsops
