package dnsprobe

import (
	"testing"

	"go.uber.org/goleak"
)

// Check fans out one goroutine per server; none may outlive a test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
