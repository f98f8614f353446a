package server

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/sitrep-dev/sitrep/internal/app"
	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/changelog"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/signal"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// memStore is an in-memory store for fast handler and fuzz tests. The
// lifecycle tests run against the real SQLite (and PostgreSQL) stores.
type memStore struct {
	mu       sync.Mutex
	incs     map[int64]incident.Incident
	events   map[int64][]incident.Event
	actions  map[int64]incident.ActionItem
	tokens   map[string]auth.Token
	changes  map[string]signal.Change
	nextID   int64
	pingErr  error
	blockGet chan struct{} // when set, GetIncident waits for it to close
}

func newMemStore() *memStore {
	return &memStore{incs: map[int64]incident.Incident{}, events: map[int64][]incident.Event{},
		actions: map[int64]incident.ActionItem{}, tokens: map[string]auth.Token{}, changes: map[string]signal.Change{}}
}

func (m *memStore) id() int64 { m.nextID++; return m.nextID }

func clone[T any](v T) T {
	b, _ := json.Marshal(v)
	var out T
	_ = json.Unmarshal(b, &out)
	return out
}

func (m *memStore) CreateIncident(_ context.Context, inc *incident.Incident, evs []incident.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	inc.ID = int64(len(m.incs) + 1)
	inc.Version = 1
	m.incs[inc.ID] = clone(*inc)
	return m.appendLocked(inc.ID, evs)
}

func (m *memStore) appendLocked(id int64, evs []incident.Event) error {
	if _, ok := m.incs[id]; !ok {
		return store.ErrNotFound
	}
	for i := range evs {
		evs[i].ID = m.id()
		evs[i].IncidentID = id
		m.events[id] = append(m.events[id], evs[i])
	}
	return nil
}

func (m *memStore) GetIncident(_ context.Context, id int64) (*incident.Incident, error) {
	m.mu.Lock()
	block := m.blockGet
	m.mu.Unlock()
	if block != nil {
		<-block
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	inc, ok := m.incs[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	c := clone(inc)
	c.ID = id
	return &c, nil
}

func (m *memStore) ListIncidents(_ context.Context, f incident.ListFilter) ([]*incident.Incident, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*incident.Incident
	for id, inc := range m.incs {
		if len(f.Statuses) > 0 && !slices.Contains(f.Statuses, inc.Status) ||
			len(f.Severities) > 0 && !slices.Contains(f.Severities, inc.Severity) ||
			f.Service != "" && !slices.Contains(inc.Services, f.Service) {
			continue
		}
		c := clone(inc)
		c.ID = id
		out = append(out, &c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

func (m *memStore) UpdateIncident(_ context.Context, inc *incident.Incident, evs []incident.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.incs[inc.ID]
	if !ok {
		return store.ErrNotFound
	}
	if old.Version != inc.Version {
		return store.ErrConflict
	}
	inc.Version++
	m.incs[inc.ID] = clone(*inc)
	return m.appendLocked(inc.ID, evs)
}

func (m *memStore) AppendEvents(_ context.Context, id int64, evs []incident.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.appendLocked(id, evs)
}

func (m *memStore) ListEvents(_ context.Context, id int64) ([]incident.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.events[id]), nil
}

func (m *memStore) CreateAction(_ context.Context, a *incident.ActionItem) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a.ID = int64(len(m.actions) + 1)
	a.Version = 1
	m.actions[a.ID] = *a
	return nil
}

func (m *memStore) GetAction(_ context.Context, id int64) (*incident.ActionItem, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.actions[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return &a, nil
}

func (m *memStore) UpdateAction(_ context.Context, a *incident.ActionItem) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.actions[a.ID]
	if !ok {
		return store.ErrNotFound
	}
	if old.Version != a.Version {
		return store.ErrConflict
	}
	a.Version++
	m.actions[a.ID] = *a
	return nil
}

func (m *memStore) ListActions(_ context.Context, f incident.ActionFilter) ([]*incident.ActionItem, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*incident.ActionItem
	for _, a := range m.actions {
		if f.IncidentID != 0 && a.IncidentID != f.IncidentID || f.State != "" && a.State != f.State || f.Owner != "" && a.Owner != f.Owner {
			continue
		}
		out = append(out, &a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (m *memStore) CreateToken(_ context.Context, t *auth.Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.tokens[t.Name]; ok {
		return store.ErrConflict
	}
	t.ID = m.id()
	m.tokens[t.Name] = *t
	return nil
}

func (m *memStore) TokenByHash(_ context.Context, hash string) (*auth.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.tokens {
		if t.Hash == hash {
			return &t, nil
		}
	}
	return nil, store.ErrNotFound
}

func (m *memStore) ListTokens(context.Context) ([]*auth.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*auth.Token
	for _, t := range m.tokens {
		out = append(out, &t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (m *memStore) DeleteToken(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.tokens[name]; !ok {
		return store.ErrNotFound
	}
	delete(m.tokens, name)
	return nil
}

func (m *memStore) PutChanges(_ context.Context, cs []signal.Change) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range cs {
		m.changes[c.ID] = c
	}
	return nil
}

func (m *memStore) ListChanges(_ context.Context, since, until time.Time) ([]signal.Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []signal.Change
	for _, c := range m.changes {
		if !since.IsZero() && c.Time.Before(since) || !until.IsZero() && !c.Time.Before(until) {
			continue
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

func (m *memStore) Ping(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pingErr
}

func (m *memStore) Close() error { return nil }

// memServices returns the service layer over a fresh memStore.
func memServices(now func() time.Time) (*app.Services, *memStore) {
	m := newMemStore()
	return &app.Services{
		Incidents: incident.NewService(incident.Options{Store: m, Now: now}),
		Tokens:    auth.NewService(m, now),
		Changes:   changelog.NewService(m, now),
		Backend:   m,
	}, m
}
