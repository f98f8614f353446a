package signal

import (
	"maps"
	"slices"
	"strings"
)

// JoinScope renders a scope — a change's, a finding's, an incident's
// labels — as "k=v" pairs sorted by key, joined by sep.
func JoinScope(scope map[string]string, sep string) string {
	keys := slices.Sorted(maps.Keys(scope))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + scope[k]
	}
	return strings.Join(parts, sep)
}
