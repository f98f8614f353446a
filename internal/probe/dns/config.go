package dnsprobe

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Resolver is a DNS server to ask, with the label it is shown under.
type Resolver struct {
	Label string `json:"label"`
	// Addr is host:port.
	Addr string `json:"addr"`
}

// ParseResolver parses a --resolver value: "label=ADDR" or "ADDR", where
// ADDR is host or host:port (port 53 by default). Without a label the
// address is the label.
func ParseResolver(s string) (Resolver, error) {
	label, addr, ok := strings.Cut(s, "=")
	if !ok {
		addr, label = label, ""
	}
	label = strings.TrimSpace(label)
	if ok && label == "" {
		return Resolver{}, fmt.Errorf("resolver %q: empty label before '='", s)
	}
	a, err := NormalizeAddr(addr)
	if err != nil {
		return Resolver{}, fmt.Errorf("resolver %q: %w", s, err)
	}
	if label == "" {
		label = a
	}
	return Resolver{Label: label, Addr: a}, nil
}

// Config is the DNS part of sitrep's config file:
//
//	resolvers:
//	  default:              # used when no --resolver or --resolvers is given
//	    - eu=10.1.0.53
//	    - us=10.2.0.53:5353
//	  vantage:
//	    - label: ap
//	      addr: 10.3.0.53
//
// Each named set is a list of resolvers, written "label=ADDR", "ADDR", or as
// a mapping with label and addr. Other top-level sections of the file belong
// to other parts of sitrep and are ignored here.
type Config struct {
	// Resolvers maps a set's name to its resolvers, in file order.
	Resolvers map[string][]Resolver
	// Order lists the set names in file order.
	Order []string
}

// DefaultConfigPath returns the config file to read: $SITREP_CONFIG, else
// $XDG_CONFIG_HOME/sitrep/config.yaml, else ~/.config/sitrep/config.yaml.
func DefaultConfigPath(getenv func(string) string) string {
	if p := getenv("SITREP_CONFIG"); p != "" {
		return p
	}
	if x := getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "sitrep", "config.yaml")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "sitrep", "config.yaml")
	}
	return ""
}

// LoadConfig reads the config file at path. A missing file is not an error
// when optional is set (the default path need not exist): it yields an empty
// Config.
func LoadConfig(path string, optional bool) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if optional && errors.Is(err, os.ErrNotExist) {
			return &Config{Resolvers: map[string][]Resolver{}}, nil
		}
		return nil, fmt.Errorf("read config: %w", err)
	}
	return ParseConfig(data, path)
}

var setName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// ParseConfig parses config file data; name is used in error messages,
// which give the line of the offending entry.
func ParseConfig(data []byte, name string) (*Config, error) {
	cfg := &Config{Resolvers: map[string][]Resolver{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(doc.Content) == 0 {
		return cfg, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: the config file must be a mapping of sections (resolvers: …)", name, root.Line)
	}
	var res *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "resolvers" {
			res = root.Content[i+1]
		}
	}
	if res == nil || res.Kind == yaml.ScalarNode && res.Tag == "!!null" {
		return cfg, nil
	}
	if res.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: resolvers: want a mapping of set names to lists of resolvers", name, res.Line)
	}
	for i := 0; i+1 < len(res.Content); i += 2 {
		k, v := res.Content[i], res.Content[i+1]
		set := k.Value
		if !setName.MatchString(set) {
			return nil, fmt.Errorf("%s:%d: resolvers: set name %q: use letters, digits, '.', '_' and '-'", name, k.Line, set)
		}
		if _, dup := cfg.Resolvers[set]; dup {
			return nil, fmt.Errorf("%s:%d: resolvers: set %q is defined twice", name, k.Line, set)
		}
		if v.Kind != yaml.SequenceNode {
			return nil, fmt.Errorf("%s:%d: resolvers.%s: want a list of resolvers (- label=ADDR)", name, v.Line, set)
		}
		if len(v.Content) == 0 {
			return nil, fmt.Errorf("%s:%d: resolvers.%s: the set is empty", name, v.Line, set)
		}
		labels := map[string]bool{}
		list := make([]Resolver, 0, len(v.Content))
		for _, e := range v.Content {
			r, err := parseResolverNode(e)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: resolvers.%s: %w", name, e.Line, set, err)
			}
			if labels[r.Label] {
				return nil, fmt.Errorf("%s:%d: resolvers.%s: label %q is used twice", name, e.Line, set, r.Label)
			}
			labels[r.Label] = true
			list = append(list, r)
		}
		cfg.Resolvers[set] = list
		cfg.Order = append(cfg.Order, set)
	}
	return cfg, nil
}

func parseResolverNode(e *yaml.Node) (Resolver, error) {
	switch e.Kind {
	case yaml.ScalarNode:
		return ParseResolver(e.Value)
	case yaml.MappingNode:
		var label, addr string
		for i := 0; i+1 < len(e.Content); i += 2 {
			k, v := e.Content[i], e.Content[i+1]
			if v.Kind != yaml.ScalarNode {
				return Resolver{}, fmt.Errorf("%s: want a string", k.Value)
			}
			switch k.Value {
			case "label":
				label = v.Value
			case "addr":
				addr = v.Value
			default:
				return Resolver{}, fmt.Errorf("unknown field %q (want label and addr)", k.Value)
			}
		}
		if addr == "" {
			return Resolver{}, errors.New("addr is required")
		}
		if label == "" {
			return ParseResolver(addr)
		}
		return ParseResolver(label + "=" + addr)
	}
	return Resolver{}, errors.New("want label=ADDR or a mapping with label and addr")
}

// Set returns the named resolver set.
func (c *Config) Set(name string) ([]Resolver, error) {
	if rs, ok := c.Resolvers[name]; ok {
		return rs, nil
	}
	if len(c.Order) == 0 {
		return nil, fmt.Errorf("resolver set %q: the config file defines no resolver sets", name)
	}
	return nil, fmt.Errorf("resolver set %q is not in the config file (it has: %s)", name, strings.Join(c.Order, ", "))
}

// SystemResolvers reads the nameserver lines of a resolv.conf file
// (normally /etc/resolv.conf).
func SystemResolvers(path string) ([]Resolver, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read system resolvers: %w", err)
	}
	defer f.Close()
	rs, err := ParseResolvConf(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("%s lists no nameserver; name resolvers with --resolver", path)
	}
	return rs, nil
}

// ParseResolvConf returns the resolvers of resolv.conf text, labelled
// "system" (one) or "system1", "system2" … (several).
func ParseResolvConf(r io.Reader) ([]Resolver, error) {
	var rs []Resolver
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		// A zone index (fe80::1%eth0) is kept as is.
		a, err := NormalizeAddr(f[1])
		if err != nil {
			continue
		}
		rs = append(rs, Resolver{Addr: a})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for i := range rs {
		rs[i].Label = "system"
		if len(rs) > 1 {
			rs[i].Label = fmt.Sprintf("system%d", i+1)
		}
	}
	return rs, nil
}
