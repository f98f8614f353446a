// Package store holds what every persistence backend shares: the sentinel
// errors callers check with errors.Is. The backends live in sqlite/ and
// postgres/, with their versioned migrations embedded; the domain packages
// declare the interfaces they consume.
package store

import "errors"

var (
	// ErrNotFound: the record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the record changed since it was read (optimistic
	// concurrency), or a unique key is taken.
	ErrConflict = errors.New("conflict: the record was changed by someone else")
	// ErrInvalid: the record breaks a rule of the store (a client error).
	ErrInvalid = errors.New("invalid")
)
