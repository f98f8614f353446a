package accesslog

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// Detection is the result of Detect.
type Detection struct {
	// Format is the chosen format.
	Format *Format `json:"-"`
	// Name is Format's name.
	Name string `json:"format"`
	// Candidates are the formats that parse the sample, best first.
	Candidates []string `json:"candidates"`
	// Ambiguous is set when several formats parse the sample equally well.
	Ambiguous bool `json:"ambiguous"`
	// ParsedShare is the share of sample lines the chosen format parses.
	ParsedShare float64 `json:"parsed_share"`
	// Extra is set when the lines carry fields after the chosen format's
	// last one that could not be read (see Extended).
	Extra bool `json:"extra_fields,omitempty"`
	// Extended names the fields read after the chosen preset's last one
	// (a team's extended format, see extend): Format is the preset with
	// them appended, and Format.Spec the log_format that reads them.
	Extended []string `json:"extended,omitempty"`
}

type detectScore struct {
	f      *Format
	parsed int
	exact  int // lines consumed whole
	order  int
}

// parseCounts counts the lines f parses, and of those the ones it consumes
// whole.
func parseCounts(f *Format, lines [][]byte) (parsed, exact int) {
	p := newParser(f, "detect")
	for _, l := range lines {
		// A client address with a space is a format that took two
		// fields for one (combined reading vhost_combined's "host:port
		// client").
		if p.parse(l) == "" && bytes.IndexByte(p.req.Client, ' ') < 0 {
			parsed++
			if f.kind != kindNginx || p.end == len(l) {
				exact++
			}
		}
	}
	return parsed, exact
}

// Detect picks the preset that parses the sample lines best. A format that
// consumes whole lines beats one that leaves text over; on a full tie the
// richer preset wins and the detection is marked ambiguous. Fields the
// lines carry after the chosen preset's last are read too when they can be
// (extend).
func Detect(sample [][]byte) (Detection, error) {
	var lines [][]byte
	for _, l := range sample {
		if len(l) > 0 {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return Detection{}, fmt.Errorf("cannot detect the log format: no lines to look at")
	}
	var scores []detectScore
	for i, name := range PresetNames {
		f, err := ParseFormat(name)
		if err != nil {
			return Detection{}, err
		}
		sc := detectScore{f: f, order: i}
		sc.parsed, sc.exact = parseCounts(f, lines)
		if sc.parsed > 0 {
			scores = append(scores, sc)
		}
	}
	if len(scores) == 0 {
		first := string(lines[0])
		if len(first) > 160 {
			first = first[:160] + "…"
		}
		return Detection{}, fmt.Errorf("cannot detect the log format: no preset (%s) parses the first lines, e.g. %q; pass --log-format with your nginx log_format string", strings.Join(PresetNames, ", "), first)
	}
	sort.SliceStable(scores, func(i, j int) bool {
		a, b := scores[i], scores[j]
		if a.parsed != b.parsed {
			return a.parsed > b.parsed
		}
		if a.exact != b.exact {
			return a.exact > b.exact
		}
		return a.order < b.order
	})
	best := scores[0]
	d := Detection{Format: best.f, Name: best.f.Name, ParsedShare: float64(best.parsed) / float64(len(lines))}
	for _, s := range scores {
		if s.parsed*10 >= best.parsed*9 {
			d.Candidates = append(d.Candidates, s.f.Name)
		}
	}
	if best.exact < best.parsed {
		// Fields after the preset's last: read them if they split into
		// the same columns on every line, else say they are there.
		if ext, ok := extend(best.f, lines); ok {
			d.Format, d.Extended = ext.f, ext.names
			return d, nil
		}
		d.Extra = true
	}
	// Two presets that read the whole lines equally are a real choice; of
	// two that both leave text over, the first (richer) read more of it.
	if len(scores) > 1 && scores[1].parsed == best.parsed && scores[1].exact == best.exact && !d.Extra {
		d.Ambiguous = true
	}
	return d, nil
}
