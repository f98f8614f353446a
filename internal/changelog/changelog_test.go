package changelog

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/store"
)

type memStore struct{ got []signal.Change }

func (m *memStore) PutChanges(_ context.Context, c []signal.Change) error {
	m.got = append(m.got, c...)
	return nil
}
func (m *memStore) ListChanges(context.Context, time.Time, time.Time) ([]signal.Change, error) {
	return m.got, nil
}

func TestRecordFillsAndValidates(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	ms := &memStore{}
	s := NewService(ms, func() time.Time { return now })
	out, err := s.Record(context.Background(), "bob", []signal.Change{{Kind: signal.KindDeploy, Summary: "deploy api v2"}})
	if err != nil {
		t.Fatal(err)
	}
	c := out[0]
	if !strings.HasPrefix(c.ID, "chg-") || len(c.ID) != 12 || !c.Time.Equal(now) || c.Actor != "bob" || len(ms.got) != 1 {
		t.Errorf("recorded %+v", c)
	}
	for name, bad := range map[string]signal.Change{
		"no summary": {Kind: signal.KindDeploy},
		"bad kind":   {Kind: "deploi", Summary: "x"},
	} {
		if _, err := s.Record(context.Background(), "bob", []signal.Change{bad}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if len(ms.got) != 1 {
		t.Errorf("an invalid batch stored %d changes", len(ms.got)-1)
	}
}
