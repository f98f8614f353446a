// Package changelog keeps the change events recorded by people and tools
// (`sitrep change record`, POST /api/v1/changes, importers, `dns plan
// --record`) so that triage can use them without a --changes file.
package changelog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Store persists change events.
type Store interface {
	// PutChanges inserts the changes, replacing any with the same ID, in one
	// transaction.
	PutChanges(ctx context.Context, changes []signal.Change) error
	// ListChanges returns the changes with since <= time < until, oldest
	// first. A zero bound is open.
	ListChanges(ctx context.Context, since, until time.Time) ([]signal.Change, error)
}

// Service validates and records changes.
type Service struct {
	st  Store
	now func() time.Time
}

// NewService returns a change-log service; now may be nil.
func NewService(st Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{st: st, now: now}
}

// Record validates the changes, fills in missing ids and times, and stores
// them. It returns the changes as stored.
func (s *Service) Record(ctx context.Context, actor string, changes []signal.Change) ([]signal.Change, error) {
	now := s.now().UTC()
	out := make([]signal.Change, len(changes))
	for i, c := range changes {
		if c.Time.IsZero() {
			c.Time = now
		}
		c.Time = c.Time.UTC()
		if c.Actor == "" {
			c.Actor = actor
		}
		if c.ID == "" {
			var b [4]byte
			if _, err := rand.Read(b[:]); err != nil {
				return nil, err
			}
			c.ID = "chg-" + hex.EncodeToString(b[:])
		}
		if strings.TrimSpace(c.Summary) == "" {
			return nil, fmt.Errorf("change %q: summary is required: %w", c.ID, store.ErrInvalid)
		}
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("%v: %w", err, store.ErrInvalid)
		}
		out[i] = c
	}
	if err := s.st.PutChanges(ctx, out); err != nil {
		return nil, fmt.Errorf("record changes: %w", err)
	}
	return out, nil
}

// List returns the changes in [since, until).
func (s *Service) List(ctx context.Context, since, until time.Time) ([]signal.Change, error) {
	return s.st.ListChanges(ctx, since, until)
}
