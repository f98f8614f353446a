package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// requireJSON rejects a write whose body is not declared as JSON (415).
func requireJSON(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		if ct == "" {
			ct = "none"
		}
		return &apiError{status: http.StatusUnsupportedMediaType, code: codeMediaType,
			message: fmt.Sprintf("Content-Type is %s: send the body as JSON with Content-Type: application/json", ct)}
	}
	return nil
}

// readBody returns the request body, at most maxBody bytes (413 beyond).
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if err := requireJSON(r); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &apiError{status: http.StatusRequestEntityTooLarge, code: codeTooLarge,
				message: fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit)}
		}
		return nil, badRequest("", "could not read the request body: "+err.Error())
	}
	return b, nil
}

// decode strictly decodes the JSON body of a write into v, a pointer to a
// struct: Content-Type must be application/json, the body at most MaxBody
// bytes, exactly one JSON value, and every field one that v knows.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	b, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	return decodeStrict(b, v)
}

// decodeStrict decodes b into v, rejecting unknown fields and trailing
// data, with errors that name the field at fault.
func decodeStrict(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return badRequest("", "the request body is empty: send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err, b, v)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("", "the request body holds more than one JSON value: send exactly one object")
	}
	return nil
}

// decodeError turns an encoding/json error into a 400 naming the field.
// b is the body and v the decode target, used to find nested field paths.
func decodeError(err error, b []byte, v any) error {
	var (
		se *json.SyntaxError
		te *json.UnmarshalTypeError
		pe *time.ParseError
	)
	var t reflect.Type
	if v != nil {
		t = reflect.TypeOf(v)
	}
	switch {
	case errors.As(err, &se):
		return badRequest("", fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "malformed JSON: the body ends in the middle of a value")
	case errors.As(err, &te):
		if te.Field == "" {
			return badRequest("", fmt.Sprintf("the body is a JSON %s: send a JSON %s", te.Value, jsonKind(te.Type)))
		}
		return badRequest(te.Field, fmt.Sprintf("field %q: expected a JSON %s, got %s", te.Field, jsonKind(te.Type), te.Value))
	case errors.As(err, &pe):
		quoted, _ := json.Marshal(pe.Value)
		field := findField(t, b, "", func(name string, raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), quoted) })
		msg := fmt.Sprintf("time %q is not RFC 3339 (like 2026-11-20T12:03:00Z)", pe.Value)
		if field != "" {
			msg = fmt.Sprintf("field %q: %s", field, msg)
		}
		return badRequest(field, msg)
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, `json: unknown field "`); ok {
		name = strings.TrimSuffix(name, `"`)
		known := fieldNames(t)
		field := findField(t, b, "", func(n string, _ json.RawMessage) bool { return n == name && !slices.Contains(known, n) })
		if field == "" {
			field = name
		}
		if i := strings.LastIndexByte(field, '.'); i >= 0 {
			known = fieldNames(fieldType(t, field[:i]))
		}
		hint := ""
		if len(known) > 0 {
			hint = "; known fields here: " + strings.Join(known, ", ")
		}
		return badRequest(field, fmt.Sprintf("unknown field %q%s", field, hint))
	}
	return badRequest("", "invalid request body: "+strings.TrimPrefix(msg, "json: "))
}

// structType returns the struct type behind t (through pointers), or nil.
func structType(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct || t == reflect.TypeFor[time.Time]() {
		return nil
	}
	return t
}

// jsonField finds the field of struct type t that the JSON key decodes
// into (encoding/json matches names case-insensitively).
func jsonField(t reflect.Type, key string) (reflect.StructField, bool) {
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if strings.EqualFold(name, key) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// fieldType returns the type at a dotted JSON path below t.
func fieldType(t reflect.Type, path string) reflect.Type {
	for _, key := range strings.Split(path, ".") {
		st := structType(t)
		if st == nil {
			return nil
		}
		f, ok := jsonField(st, key)
		if !ok {
			return nil
		}
		t = f.Type
	}
	return t
}

// findField walks the JSON object raw alongside the struct type t and
// returns the dotted path of the first key for which match is true, or "".
// Only used to explain an error, so it gives up quietly on anything odd.
func findField(t reflect.Type, raw []byte, prefix string, match func(name string, raw json.RawMessage) bool) string {
	st := structType(t)
	if st == nil {
		return ""
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return ""
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		f, known := jsonField(st, k)
		if !known {
			if match(k, obj[k]) {
				return prefix + k
			}
			continue
		}
		if match(k, obj[k]) {
			return prefix + k
		}
		if p := findField(f.Type, obj[k], prefix+k+".", match); p != "" {
			return p
		}
	}
	return ""
}

// jsonKind names the JSON type a Go type decodes from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[time.Time]():
		return "string (RFC 3339 time)"
	case reflect.TypeFor[json.RawMessage]():
		return "value"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	}
	return "value"
}

// fieldNames lists the JSON field names of the struct type behind t.
func fieldNames(t reflect.Type) []string {
	t = structType(t)
	if t == nil {
		return nil
	}
	var out []string
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}

// decodeChanges decodes one change event or an array of them (design.md
// §4.1). Unknown fields of a change are kept, never rejected: the change
// format is a stable contract that tools extend.
func decodeChanges(b []byte) ([]signal.Change, error) {
	t := bytes.TrimSpace(b)
	if len(t) == 0 {
		return nil, badRequest("", "the request body is empty: send a change object or an array of them")
	}
	var out []signal.Change
	var target any = &out
	var one signal.Change
	if t[0] != '[' {
		target = &one
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	if err := dec.Decode(target); err != nil {
		return nil, decodeError(err, t, target)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badRequest("", "the request body holds more than one JSON value: send one change or one array")
	}
	if t[0] != '[' {
		if bytes.Equal(t, []byte("null")) {
			return nil, badRequest("", "the request body is null: send a change object or an array of them")
		}
		out = []signal.Change{one}
	}
	if len(out) == 0 {
		return nil, badRequest("", "no changes in the request body")
	}
	return out, nil
}
