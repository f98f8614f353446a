package dnsprobe

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadConfigGood(t *testing.T) {
	cfg, err := LoadConfig("testdata/config/good.yaml", false)
	if err != nil {
		t.Fatal(err)
	}
	def, err := cfg.Set("default")
	if err != nil {
		t.Fatal(err)
	}
	want := []Resolver{{"eu", "127.0.0.1:5301"}, {"us", "127.0.0.2:53"}}
	if len(def) != 2 || def[0] != want[0] || def[1] != want[1] {
		t.Errorf("default: %+v", def)
	}
	v, _ := cfg.Set("vantage")
	if len(v) != 2 || v[0] != (Resolver{"ap", "[::1]:5302"}) || v[1] != (Resolver{"127.0.0.3:53", "127.0.0.3:53"}) {
		t.Errorf("vantage: %+v", v)
	}
	if _, err := cfg.Set("nope"); err == nil || !strings.Contains(err.Error(), "default, vantage") {
		t.Errorf("unknown set: %v", err)
	}
}

func TestLoadConfigBad(t *testing.T) {
	want := map[string]string{
		"bad-port.yaml":            `bad-port.yaml:3: resolvers.default: resolver "eu=127.0.0.1:notaport"`,
		"bad-duplicate-label.yaml": `:4: resolvers.default: label "eu" is used twice`,
		"bad-not-a-list.yaml":      `:2: resolvers.default: want a list`,
		"bad-empty-set.yaml":       `:2: resolvers.default: the set is empty`,
		"bad-unknown-field.yaml":   `:3: resolvers.default: unknown field "adress"`,
		"bad-set-name.yaml":        `:2: resolvers: set name "bad name"`,
		"bad-resolvers-list.yaml":  `:1: resolvers: want a mapping`,
		"bad-empty-label.yaml":     `empty label`,
		"bad-yaml.yaml":            `bad-yaml.yaml: yaml:`,
	}
	files, _ := filepath.Glob("testdata/config/bad-*.yaml")
	if len(files) != len(want) {
		t.Fatalf("%d bad fixtures, %d expectations", len(files), len(want))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := LoadConfig(f, false)
			if err == nil || !strings.Contains(err.Error(), want[filepath.Base(f)]) {
				t.Fatalf("got %v, want it to contain %q", err, want[filepath.Base(f)])
			}
		})
	}
}

func TestLoadConfigMissing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "none.yaml")
	if cfg, err := LoadConfig(p, true); err != nil || len(cfg.Resolvers) != 0 {
		t.Errorf("optional missing file: %v %v", cfg, err)
	}
	if _, err := LoadConfig(p, false); err == nil {
		t.Error("required missing file: want an error")
	}
	empty := filepath.Join(t.TempDir(), "empty.yaml")
	os.WriteFile(empty, nil, 0o644)
	if _, err := LoadConfig(empty, false); err != nil {
		t.Errorf("empty file: %v", err)
	}
}

func TestDefaultConfigPath(t *testing.T) {
	env := map[string]string{"HOME": "/home/u"}
	get := func(k string) string { return env[k] }
	if p := DefaultConfigPath(get); p != "/home/u/.config/sitrep/config.yaml" {
		t.Error(p)
	}
	env["XDG_CONFIG_HOME"] = "/x"
	if p := DefaultConfigPath(get); p != "/x/sitrep/config.yaml" {
		t.Error(p)
	}
	env["SITREP_CONFIG"] = "/etc/sitrep.yaml"
	if p := DefaultConfigPath(get); p != "/etc/sitrep.yaml" {
		t.Error(p)
	}
}

func TestParseResolver(t *testing.T) {
	good := map[string]Resolver{
		"127.0.0.1":         {"127.0.0.1:53", "127.0.0.1:53"},
		"eu=127.0.0.1:5353": {"eu", "127.0.0.1:5353"},
		"v6=::1":            {"v6", "[::1]:53"},
		"v6=[::1]:54":       {"v6", "[::1]:54"},
		"name=ns.example":   {"name", "ns.example:53"},
		" eu = 127.0.0.9 ":  {"eu", "127.0.0.9:53"},
	}
	for in, want := range good {
		if got, err := ParseResolver(in); err != nil || got != want {
			t.Errorf("ParseResolver(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "eu=", "=127.0.0.1", "127.0.0.1:port", "a b", ":53", "127.0.0.1:99999"} {
		if _, err := ParseResolver(in); err == nil {
			t.Errorf("ParseResolver(%q): want an error", in)
		}
	}
}

func TestSystemResolvers(t *testing.T) {
	rs, err := SystemResolvers("testdata/resolv.conf")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0] != (Resolver{"system1", "127.0.0.53:53"}) || rs[1] != (Resolver{"system2", "[::1]:53"}) {
		t.Errorf("%+v", rs)
	}
	empty := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(empty, []byte("search x\n"), 0o644)
	if _, err := SystemResolvers(empty); err == nil || !strings.Contains(err.Error(), "--resolver") {
		t.Errorf("no nameserver: %v", err)
	}
}
