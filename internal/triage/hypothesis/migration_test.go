package hypothesis

import (
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

func TestMigrationRisk(t *testing.T) {
	for _, c := range []struct {
		stmt string
		want int
	}{
		{"CREATE TABLE wishlists (id bigserial primary key, user_id bigint not null)", -1},
		{"create table if not exists audit_log (id int)", -1},
		{"ALTER TABLE orders ADD COLUMN gift_message text", -1},
		{"ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'new'", 0},
		{"ALTER TABLE orders ADD COLUMN a text, ADD COLUMN b text", 0},
		{"DROP INDEX CONCURRENTLY idx_orders_user_id_created_at", 1},
		{"CREATE INDEX idx_stock_sku ON stock (sku)", 1},
		{"CREATE INDEX CONCURRENTLY idx_stock_sku ON stock (sku)", 0},
		{"ALTER TABLE orders ALTER COLUMN total TYPE numeric(12,2)", 1},
		{"UPDATE stock SET warehouse_id = 3 WHERE warehouse_id IS NULL", 1},
		{"ALTER TABLE orders ADD CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES users (id)", 1},
		{"ALTER TABLE orders ADD CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID", 0},
		{"CREATE TABLE a (id int); DROP INDEX idx_b", 0}, // several statements: not judged
		{"", 0},
	} {
		ch := &signal.Change{Kind: signal.KindDBMigration, Details: map[string]any{"statement": c.stmt}}
		if got, why := migrationRisk(ch); got != c.want || (got != 0) != (why != "") {
			t.Errorf("%q: risk %d (%q), want %d", c.stmt, got, why, c.want)
		}
	}
	deploy := &signal.Change{Kind: signal.KindDeploy, Details: map[string]any{"statement": "CREATE TABLE x (id int)"}}
	if got, _ := migrationRisk(deploy); got != 0 {
		t.Errorf("a deploy judged as a migration: %d", got)
	}
}

// TestNewTableMigrationIsNotBlamed: a migration that only creates a table,
// minutes before one endpoint starts failing, is not the cause of anything
// (it was blamed as slow queries, and held against a failing dependency);
// one that drops an index is.
func TestNewTableMigrationIsNotBlamed(t *testing.T) {
	mig := func(stmt string) signal.Change {
		return change("chg-mig", signal.KindDBMigration, onset.Add(-6*time.Minute), map[string]string{"database": "orders"},
			map[string]any{"statement": stmt, "database": "orders"})
	}
	r := result(finding("path", "/api/v1/search", 0.95, 0.04, 0.6))
	Apply(r, Evidence{Changes: []signal.Change{mig("CREATE TABLE wishlists (id bigserial primary key)")}})
	for _, h := range r.Hypotheses {
		if h.ChangeID != nil {
			t.Errorf("%s blames %s, a new table: %s", h.Cause, *h.ChangeID, h.Summary)
		}
	}
	if r.Hypotheses[0].Cause != "dependency" {
		t.Errorf("top hypothesis %s: %s", r.Hypotheses[0].Cause, r.Hypotheses[0].Summary)
	}
	if len(r.Changes) != 1 || r.Changes[0].Score > 0.2 || !strings.Contains(strings.Join(r.Changes[0].Reasons, "\n"), "creates a new table") {
		t.Errorf("changes = %+v, want the migration ranked low with the reason", r.Changes)
	}

	r = result(finding("path", "/api/v1/users/:id/orders", 0.95, 0.04, 0.6))
	Apply(r, Evidence{Changes: []signal.Change{mig("DROP INDEX CONCURRENTLY idx_orders_user_id_created_at")}})
	h := r.Hypotheses[0]
	if h.Cause != "slow-queries" || h.ChangeID == nil || *h.ChangeID != "chg-mig" {
		t.Fatalf("top hypothesis %s (%v): %s", h.Cause, h.ChangeID, h.Summary)
	}
	if !strings.Contains(strings.Join(h.Evidence, "\n"), "it drops an index") {
		t.Errorf("evidence does not read the statement: %q", h.Evidence)
	}
}
