package dbhealth

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a check leaves goroutines behind (a
// connection not closed on some error path).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
