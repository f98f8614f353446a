package lab

import (
	"math/rand/v2"
	"regexp"
	"testing"
)

var semverRe = regexp.MustCompile(`^v\d+\.\d+\.\d+$`)

// FuzzNextVersion: whatever version string a scenario starts from, the next
// version is a well-formed semantic version and never panics.
func FuzzNextVersion(f *testing.F) {
	for _, s := range []string{"v2.41.3", "v1.0.0", "v", "", "v2..", "v99999999999999999999.1.1", "2.41.3", "v2.41", "vé.1.2"} {
		f.Add(s, uint64(1))
	}
	f.Fuzz(func(t *testing.T, v string, seed uint64) {
		got := nextVersion(rand.New(rand.NewPCG(seed, 1)), v)
		if !semverRe.MatchString(got) {
			t.Fatalf("nextVersion(%q) = %q", v, got)
		}
	})
}
