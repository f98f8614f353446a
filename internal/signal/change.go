package signal

import (
	"encoding/json"
	"fmt"
	"time"
)

// Change kinds (design.md §4.1).
const (
	KindDeploy      = "deploy"
	KindRollback    = "rollback"
	KindConfig      = "config"
	KindFeatureFlag = "feature-flag"
	KindDNS         = "dns"
	KindCDN         = "cdn"
	KindInfra       = "infra"
	KindDBMigration = "db-migration"
	KindCert        = "cert"
	KindScale       = "scale"
	KindOther       = "other"
)

// ChangeKinds lists every valid change kind, in documentation order.
var ChangeKinds = []string{
	KindDeploy, KindRollback, KindConfig, KindFeatureFlag, KindDNS, KindCDN,
	KindInfra, KindDBMigration, KindCert, KindScale, KindOther,
}

// ValidChangeKind reports whether k is one of ChangeKinds.
func ValidChangeKind(k string) bool {
	for _, v := range ChangeKinds {
		if v == k {
			return true
		}
	}
	return false
}

// Change is something that changed in production (design.md §4.1): a deploy,
// a DNS record, a CDN or infrastructure change. Its JSON form is a stable
// contract; fields this type does not know are kept in Extra and written back
// unchanged, never rejected.
type Change struct {
	ID      string            `json:"id"`
	Time    time.Time         `json:"time"`
	Kind    string            `json:"kind"`
	Service string            `json:"service,omitempty"`
	Summary string            `json:"summary"`
	Scope   map[string]string `json:"scope,omitempty"`
	Actor   string            `json:"actor,omitempty"`
	// Details is kind-specific: for dns name, type, old, new, ttl, new_ttl;
	// for deploy/rollback version, previous_version, pods, instances; for
	// infra action and target.
	Details map[string]any `json:"details,omitempty"`
	// Extra holds the JSON fields this type does not know, by name.
	Extra map[string]json.RawMessage `json:"-"`
}

type changeJSON Change

var changeKnown = map[string]bool{
	"id": true, "time": true, "kind": true, "service": true, "summary": true,
	"scope": true, "actor": true, "details": true,
}

// UnmarshalJSON decodes a change and keeps unknown fields in Extra.
func (c *Change) UnmarshalJSON(b []byte) error {
	var cj changeJSON
	if err := json.Unmarshal(b, &cj); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	for k, v := range all {
		if !changeKnown[k] {
			if cj.Extra == nil {
				cj.Extra = map[string]json.RawMessage{}
			}
			cj.Extra[k] = v
		}
	}
	*c = Change(cj)
	return nil
}

// MarshalJSON encodes a change with its unknown fields.
func (c Change) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(changeJSON(c))
	if err != nil || len(c.Extra) == 0 {
		return b, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	for k, v := range c.Extra {
		if !changeKnown[k] {
			all[k] = v
		}
	}
	return json.Marshal(all)
}

// Validate checks the fields every change must have.
func (c *Change) Validate() error {
	if c.Time.IsZero() {
		return fmt.Errorf("change %q: time is required (RFC 3339)", c.ID)
	}
	if !ValidChangeKind(c.Kind) {
		return fmt.Errorf("change %q: kind %q is not one of %v", c.ID, c.Kind, ChangeKinds)
	}
	return nil
}

// DetailString returns details[key] as a string ("" when absent).
func (c *Change) DetailString(key string) string {
	v, ok := c.Details[key]
	if !ok || v == nil {
		return ""
	}
	switch x := v.(type) {
	case string:
		return x
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprintf("%d", int64(x))
		}
		return fmt.Sprintf("%g", x)
	default:
		return fmt.Sprint(x)
	}
}

// DetailFloat returns details[key] as a number, and whether it was one.
func (c *Change) DetailFloat(key string) (float64, bool) {
	switch x := c.Details[key].(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}
