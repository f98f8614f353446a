package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/sitrep-dev/sitrep/internal/app"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// services opens the store named by --db/SITREP_DB (or the default) and
// returns the shared service layer. The caller closes it.
func (a *App) services(ctx context.Context) (*app.Services, error) {
	return app.Open(ctx, a.DB, app.Options{Logger: a.Logger, Now: a.Now, Getenv: a.Getenv})
}

// recordChanges stores change events in the change log of the store named
// by --db.
func (a *App) recordChanges(ctx context.Context, changes []signal.Change) error {
	svc, err := a.services(ctx)
	if err != nil {
		return err
	}
	defer svc.Close()
	_, err = svc.Changes.Record(ctx, a.Actor(), changes)
	return err
}

// incidentArg parses an INC-n argument.
func incidentArg(s string) (int64, error) {
	id, err := incident.ParseID(s)
	if err != nil {
		return 0, fmt.Errorf("%v (list them with: sitrep incident list)", err)
	}
	return id, nil
}

// explain adds what to do next to the errors users commonly hit.
func explain(err error) error {
	var te *incident.TransitionError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te):
		return err
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w (list incidents with: sitrep incident list --all)", err)
	}
	return err
}
