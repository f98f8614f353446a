package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Error codes of the JSON error envelope (stable: clients switch on them).
const (
	codeBadRequest       = "bad_request"            // 400: malformed body, query or id
	codeInvalid          = "invalid"                // 400: a field breaks a rule
	codeUnauthenticated  = "unauthenticated"        // 401
	codeForbidden        = "forbidden"              // 403
	codeNotFound         = "not_found"              // 404
	codeMethodNotAllowed = "method_not_allowed"     // 405
	codeIllegalTransit   = "illegal_transition"     // 409: the lifecycle forbids it
	codeConflict         = "conflict"               // 409: a concurrent change or a taken name
	codeTooLarge         = "body_too_large"         // 413
	codeMediaType        = "unsupported_media_type" // 415
	codeInternal         = "internal"               // 500
	codeUnavailable      = "unavailable"            // 503
)

// apiError is an error the server itself raises (a bad request, a missing
// token) with the status and code it maps to.
type apiError struct {
	status  int
	code    string
	field   string
	message string
	err     error
}

func (e *apiError) Error() string { return e.message }
func (e *apiError) Unwrap() error { return e.err }

func badRequest(field, message string) error {
	return &apiError{status: http.StatusBadRequest, code: codeBadRequest, field: field, message: message}
}

// errorBody is the JSON error envelope:
//
//	{"error":{"code":"not_found","message":"INC-9: not found","field":"…"}}
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field names the offending request field, when one is to blame.
	Field string `json:"field,omitempty"`
}

// classify maps an error to its HTTP status and envelope. It is the only
// place that does so.
func classify(err error) (int, errorDetail) {
	var (
		ae *apiError
		ve *incident.ValidationError
		te *incident.TransitionError
	)
	switch {
	case errors.As(err, &ae):
		return ae.status, errorDetail{Code: ae.code, Message: ae.message, Field: ae.field}
	case errors.As(err, &ve):
		return http.StatusBadRequest, errorDetail{Code: codeInvalid, Message: ve.Error(), Field: ve.Field}
	case errors.As(err, &te):
		return http.StatusConflict, errorDetail{Code: codeIllegalTransit, Message: te.Error()}
	case errors.Is(err, auth.ErrUnauthenticated):
		return http.StatusUnauthorized, errorDetail{Code: codeUnauthenticated,
			Message: "missing or unknown bearer token: send Authorization: Bearer <token> (create one with: sitrep token create)"}
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, errorDetail{Code: codeNotFound, Message: err.Error()}
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, errorDetail{Code: codeConflict, Message: err.Error()}
	case errors.Is(err, store.ErrInvalid):
		return http.StatusBadRequest, errorDetail{Code: codeInvalid, Message: err.Error()}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, errorDetail{Code: codeUnavailable,
			Message: "the request was cancelled (client gone or server shutting down); retry"}
	}
	return http.StatusInternalServerError, errorDetail{Code: codeInternal,
		Message: "internal error; the server log has the details"}
}

// writeError writes err as the JSON envelope, logging server-side failures
// (and only those: client errors are the client's to read).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, detail := classify(err)
	switch {
	case status >= 500:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	default:
		s.log.Debug("request rejected", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sitrep"`)
	}
	writeJSON(w, status, errorBody{Error: detail})
}
