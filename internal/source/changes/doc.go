// Package changes reads and produces change events (design.md §4.1): the
// JSON-lines change log, and importers that turn what teams already have into
// changes — git history (commits and tags as deploy candidates), Kubernetes
// ReplicaSet revisions (deploys with their image versions), and the
// difference between two DNS zone files (one dns change per changed RRset,
// with the TTL resolvers had cached).
//
// Importers return []signal.Change sorted by time; they never write
// anywhere. The CLI stores or prints what they return.
package changes
