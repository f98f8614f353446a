package dbhealth

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestHungServerTimesOut: a server that accepts but never answers cannot
// hang the check; the error says what to look at.
func TestHungServerTimesOut(t *testing.T) {
	port := silentServer(t)
	for _, dsn := range []string{
		"postgres://app@127.0.0.1:" + port + "/shop?sslmode=disable",
		"mysql://app@127.0.0.1:" + port + "/shop",
	} {
		t.Run(strings.SplitN(dsn, ":", 2)[0], func(t *testing.T) {
			start := time.Now()
			_, err := Check(context.Background(), dsn, Options{ConnectTimeout: 300 * time.Millisecond, StatementTimeout: 300 * time.Millisecond})
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("check took %s against a hung server", took)
			}
			want := "cannot connect to 127.0.0.1:" + port + ": no answer within 300ms — is the host reachable"
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v, want %q", err, want)
			}
		})
	}
}
