package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sitrep-dev/sitrep/internal/auth"
)

// public marks a route that needs no token.
const public auth.Role = ""

// routes declares every route of the API, with the role each needs.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, need auth.Role, fn handlerFunc) {
		mux.Handle(pattern, s.endpoint(pattern, need, fn))
	}

	// Probes and metrics: no token.
	handle("GET /healthz", public, s.healthz)
	handle("GET /readyz", public, s.readyz)
	mux.Handle("GET /metrics", s.instrument("GET /metrics",
		promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})))

	// Incidents.
	handle("GET /api/v1/incidents", auth.Viewer, s.listIncidents)
	handle("POST /api/v1/incidents", auth.Responder, s.declareIncident)
	handle("GET /api/v1/incidents/{id}", auth.Viewer, s.getIncident)
	handle("PATCH /api/v1/incidents/{id}", auth.Responder, s.editIncident)
	handle("POST /api/v1/incidents/{id}/status", auth.Responder, s.transition)
	handle("GET /api/v1/incidents/{id}/timeline", auth.Viewer, s.timeline)
	handle("POST /api/v1/incidents/{id}/timeline", auth.Responder, s.addNote)
	handle("GET /api/v1/incidents/{id}/updates", auth.Viewer, s.listUpdates)
	handle("POST /api/v1/incidents/{id}/updates", auth.Responder, s.postUpdate)
	handle("POST /api/v1/incidents/{id}/roles", auth.Responder, s.assignRole)
	handle("POST /api/v1/incidents/{id}/cause", auth.Responder, s.setCause)
	handle("GET /api/v1/incidents/{id}/actions", auth.Viewer, s.listIncidentActions)
	handle("POST /api/v1/incidents/{id}/actions", auth.Responder, s.addAction)

	// Action items across incidents.
	handle("GET /api/v1/actions", auth.Viewer, s.listActions)
	handle("POST /api/v1/actions/{id}/done", auth.Responder, s.completeAction)

	// Change log.
	handle("GET /api/v1/changes", auth.Viewer, s.listChanges)
	handle("POST /api/v1/changes", auth.Responder, s.recordChanges)

	// Tokens.
	handle("GET /api/v1/tokens", auth.Admin, s.listTokens)
	handle("POST /api/v1/tokens", auth.Admin, s.createToken)
	handle("DELETE /api/v1/tokens/{name}", auth.Admin, s.revokeToken)

	return s.fallback(mux)
}

// principal is who is calling: the token and the actor recorded on the
// timeline.
type principal struct {
	token *auth.Token
	actor string
}

// handlerFunc handles one route: it returns the status and the value to
// encode as JSON (nil for no body), or an error for writeError.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p principal) (int, any, error)

// ActorHeader lets a responder's tool record the person acting instead of
// the token's name.
const ActorHeader = "X-Sitrep-Actor"

// endpoint wraps fn with metrics, panic recovery, authentication and the
// role check, and encodes its result.
func (s *Server) endpoint(pattern string, need auth.Role, fn handlerFunc) http.Handler {
	return s.instrument(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.writeError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		var p principal
		if need != public {
			var err error
			if p, err = s.authenticate(r, need); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		status, body, err := fn(w, r, p)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, status, body)
	}))
}

// authenticate checks the bearer token and its role.
func (s *Server) authenticate(r *http.Request, need auth.Role) (principal, error) {
	h := r.Header.Get("Authorization")
	scheme, secret, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return principal{}, auth.ErrUnauthenticated
	}
	tok, err := s.tokens.Authenticate(r.Context(), strings.TrimSpace(secret))
	if err != nil {
		return principal{}, err
	}
	if !tok.Role.Allows(need) {
		return principal{}, &apiError{status: http.StatusForbidden, code: codeForbidden,
			message: fmt.Sprintf("token %q has role %s; this needs %s or above", tok.Name, tok.Role, need)}
	}
	p := principal{token: tok, actor: "token:" + tok.Name}
	if a := r.Header.Get(ActorHeader); a != "" && tok.Role.Allows(auth.Responder) {
		a = strings.TrimSpace(a)
		if a == "" || len(a) > 100 || strings.IndexFunc(a, unicode.IsControl) >= 0 {
			return principal{}, badRequest(ActorHeader, ActorHeader+" must be 1–100 printable characters")
		}
		p.actor = a
	}
	return p, nil
}

// instrument counts and times requests to route.
func (s *Server) instrument(pattern string, h http.Handler) http.Handler {
	method, route, _ := strings.Cut(pattern, " ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		s.metrics.inFlight.Inc()
		defer s.metrics.inFlight.Dec()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			s.metrics.requests.WithLabelValues(route, method, strconv.Itoa(sw.code())).Inc()
			s.metrics.duration.WithLabelValues(route, method).Observe(s.now().Sub(start).Seconds())
		}()
		h.ServeHTTP(sw, r)
	})
}

// fallback answers what no route matches (404, 405) with the JSON envelope
// rather than the mux's plain text.
func (s *Server) fallback(mux *http.ServeMux) http.Handler {
	unmatched := s.instrument("ANY unmatched", mux) // one series, whatever the method
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		unmatched.ServeHTTP(&envelopeWriter{ResponseWriter: w}, r)
	})
}

// statusWriter records the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// envelopeWriter replaces the mux's plain-text 404 and 405 bodies with the
// JSON error envelope.
type envelopeWriter struct {
	http.ResponseWriter
	replaced bool
}

func (w *envelopeWriter) WriteHeader(code int) {
	var d errorDetail
	switch code {
	case http.StatusNotFound:
		d = errorDetail{Code: codeNotFound, Message: "no such route; the API is documented in docs/api.md"}
	case http.StatusMethodNotAllowed:
		d = errorDetail{Code: codeMethodNotAllowed, Message: "method not allowed here; allowed: " + w.Header().Get("Allow")}
	default:
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.replaced = true
	writeJSON(w.ResponseWriter, code, errorBody{Error: d})
}

func (w *envelopeWriter) Write(b []byte) (int, error) {
	if w.replaced {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// writeJSON writes v with status; a nil v writes no body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if v == nil {
		w.WriteHeader(status)
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		// Every value we encode marshals; reaching this is a bug.
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":{"code":"internal","message":"could not encode the response"}}` + "\n")
	}
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
