package signal

import "testing"

func TestJoinScope(t *testing.T) {
	for _, c := range []struct {
		scope map[string]string
		sep   string
		want  string
	}{
		{map[string]string{"region": "eu", "pod": "api-1", "node": "n-3"}, ", ", "node=n-3, pod=api-1, region=eu"},
		{map[string]string{"service": "api", "cluster": "prod"}, ",", "cluster=prod,service=api"},
		{nil, ", ", ""},
	} {
		if got := JoinScope(c.scope, c.sep); got != c.want {
			t.Errorf("JoinScope(%v, %q) = %q, want %q", c.scope, c.sep, got, c.want)
		}
	}
}
