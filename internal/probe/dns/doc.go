// Package dnsprobe asks DNS servers what they really answer: it queries
// caching resolvers and a zone's authoritative servers in parallel, follows
// CNAME chains, and reports per resolver the answers, the remaining TTL, the
// response time and the error, flagging disagreement, stale caches and
// answers that differ from the authority.
//
// All traffic goes to the addresses the caller names (or finds through the
// first resolver); nothing here picks a server on its own except
// SystemResolvers, which reads /etc/resolv.conf.
package dnsprobe
