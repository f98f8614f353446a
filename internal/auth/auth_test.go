package auth

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sitrep-dev/sitrep/internal/store"
)

// memStore is an in-memory token store for the service's own rules (the
// real stores are covered by internal/store/storetest).
type memStore struct{ byHash map[string]*Token }

func (m *memStore) CreateToken(_ context.Context, t *Token) error {
	for _, x := range m.byHash {
		if x.Name == t.Name {
			return store.ErrConflict
		}
	}
	t.ID = int64(len(m.byHash) + 1)
	m.byHash[t.Hash] = t
	return nil
}
func (m *memStore) TokenByHash(_ context.Context, h string) (*Token, error) {
	if t, ok := m.byHash[h]; ok {
		return t, nil
	}
	return nil, store.ErrNotFound
}
func (m *memStore) ListTokens(context.Context) ([]*Token, error) { return nil, nil }
func (m *memStore) DeleteToken(context.Context, string) error    { return nil }

func TestRolesInclude(t *testing.T) {
	for _, tc := range []struct {
		have, need Role
		ok         bool
	}{
		{Viewer, Viewer, true}, {Viewer, Responder, false}, {Responder, Viewer, true},
		{Responder, Admin, false}, {Admin, Responder, true}, {Role("root"), Viewer, false}, {Admin, Role("x"), false},
	} {
		if got := tc.have.Allows(tc.need); got != tc.ok {
			t.Errorf("%s.Allows(%s) = %v", tc.have, tc.need, got)
		}
	}
	if _, err := ParseRole("ADMIN"); err != nil {
		t.Error(err)
	}
	if _, err := ParseRole("owner"); err == nil {
		t.Error("ParseRole(owner) accepted")
	}
}

func TestCreateAuthenticate(t *testing.T) {
	ms := &memStore{byHash: map[string]*Token{}}
	s := NewService(ms, nil)
	ctx := context.Background()
	secret, tok, err := s.Create(ctx, "alice", "ci", Responder)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "sitrep_") || len(secret) < 40 || tok.Hash == secret || strings.Contains(tok.Hash, secret) {
		t.Fatalf("secret %q, stored hash %q: the store must hold only a hash", secret, tok.Hash)
	}
	got, err := s.Authenticate(ctx, secret)
	if err != nil || got.Name != "ci" || got.Role != Responder {
		t.Fatalf("Authenticate = %+v, %v", got, err)
	}
	for _, bad := range []string{"", "sitrep_wrong", secret + "x"} {
		if _, err := s.Authenticate(ctx, bad); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("Authenticate(%q) = %v, want ErrUnauthenticated", bad, err)
		}
	}
	if _, _, err := s.Create(ctx, "alice", "ci", Viewer); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate name: %v", err)
	}
	if _, _, err := s.Create(ctx, "alice", "bad name!", Viewer); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad name: %v", err)
	}
}
