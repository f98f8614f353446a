// Package auth issues and checks the API's bearer tokens. A token is shown
// once, when created; the store keeps only its SHA-256 hash.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/store"
)

// Role is what a token may do.
type Role string

// Roles, least privileged first. Each includes the ones before it.
const (
	Viewer    Role = "viewer"    // read incidents, timelines, changes
	Responder Role = "responder" // also write incidents, timelines, changes
	Admin     Role = "admin"     // also manage tokens
)

func (r Role) rank() int {
	switch r {
	case Viewer:
		return 1
	case Responder:
		return 2
	case Admin:
		return 3
	}
	return 0
}

// Allows reports whether r grants at least need.
func (r Role) Allows(need Role) bool { return r.rank() >= need.rank() && need.rank() > 0 }

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if r.rank() == 0 {
		return "", fmt.Errorf("role %q is not one of viewer, responder, admin", s)
	}
	return r, nil
}

// Token is a stored API token (never the secret itself).
type Token struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Hash      string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

// Store persists tokens.
type Store interface {
	// CreateToken inserts t and sets t.ID; store.ErrConflict when the name
	// is taken.
	CreateToken(ctx context.Context, t *Token) error
	// TokenByHash returns store.ErrNotFound when no token has the hash.
	TokenByHash(ctx context.Context, hash string) (*Token, error)
	ListTokens(ctx context.Context) ([]*Token, error)
	// DeleteToken removes the named token; store.ErrNotFound when absent.
	DeleteToken(ctx context.Context, name string) error
}

// ErrUnauthenticated: no token, or a token that matches none.
var ErrUnauthenticated = errors.New("missing or unknown bearer token")

// Service creates and checks tokens.
type Service struct {
	st  Store
	now func() time.Time
}

// NewService returns a token service over st; now may be nil.
func NewService(st Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{st: st, now: now}
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Create makes a token and returns its secret (shown once) and the record.
func (s *Service) Create(ctx context.Context, actor, name string, role Role) (string, *Token, error) {
	if !nameRE.MatchString(name) {
		return "", nil, fmt.Errorf("token name %q: use 1–64 letters, digits, '.', '_' or '-': %w", name, store.ErrInvalid)
	}
	if role.rank() == 0 {
		return "", nil, fmt.Errorf("role %q: %w", role, store.ErrInvalid)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, err
	}
	secret := "sitrep_" + base64.RawURLEncoding.EncodeToString(b[:])
	t := &Token{Name: name, Role: role, Hash: Hash(secret), CreatedAt: s.now().UTC().Truncate(time.Microsecond), CreatedBy: actor}
	if err := s.st.CreateToken(ctx, t); err != nil {
		return "", nil, fmt.Errorf("create token %s: %w", name, err)
	}
	return secret, t, nil
}

// Authenticate returns the token whose secret this is.
func (s *Service) Authenticate(ctx context.Context, secret string) (*Token, error) {
	if secret == "" {
		return nil, ErrUnauthenticated
	}
	t, err := s.st.TokenByHash(ctx, Hash(secret))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrUnauthenticated
	}
	return t, err
}

// List returns every token (without secrets).
func (s *Service) List(ctx context.Context) ([]*Token, error) { return s.st.ListTokens(ctx) }

// Revoke deletes the named token.
func (s *Service) Revoke(ctx context.Context, name string) error {
	if err := s.st.DeleteToken(ctx, name); err != nil {
		return fmt.Errorf("revoke token %s: %w", name, err)
	}
	return nil
}

// Hash is the stored form of a secret: hex SHA-256. Tokens carry 256 bits
// of randomness, so a fast hash is enough (no password stretching needed).
func Hash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}
