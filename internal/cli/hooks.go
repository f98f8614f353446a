package cli

import (
	"context"
	"errors"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// recordChanges stores change events in the change log of the store named by
// --db. (Placeholder until the store lands.)
func (a *App) recordChanges(ctx context.Context, changes []signal.Change) error {
	return errors.New("the change log store is not available yet")
}
