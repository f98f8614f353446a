// Package signal is sitrep's leaf model: the normalised signals every source
// adapter produces and the analysis consumes — request events from access
// logs, metric series, change events, probe results and database snapshots.
//
// It imports nothing of sitrep's own, so parsers, probes, the triage engine,
// the store and the lab can all depend on it without depending on each other.
package signal
