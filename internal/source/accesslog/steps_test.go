package accesslog

import (
	"strings"
	"testing"
)

// TestNginxSteps covers the corners of splitting a line along a compiled
// nginx format: an opening literal, quotes escaped inside a value, upstream
// lists with spaces, fields appended after the format, and the reasons
// given when a line does not match.
func TestNginxSteps(t *testing.T) {
	const combined = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`
	for _, tc := range []struct {
		name, format, line string
		want               map[string]string // field → value
		why                string            // expected reason (substring) when the line must not parse
		trailing           bool
	}{
		{
			name:   "opening literal",
			format: `[$time_local] $status "$request"`,
			line:   `[20/Nov/2026:12:00:00 +0000] 503 "GET /a/1 HTTP/1.1"`,
			want:   map[string]string{"status": "503", "uri": "/a/1", "method": "GET", "path": "/a/:id"},
		},
		{
			name:   "upstream list ending the format",
			format: `$status $upstream_addr $upstream_response_time`,
			line:   `502 10.0.0.1:80, 10.0.0.2:80 : 10.0.1.1:80 0.004, 0.010 : 0.001`,
			want:   map[string]string{"upstream_addr": "10.0.0.1:80, 10.0.0.2:80 : 10.0.1.1:80", "upstream_response_time": "0.004, 0.010 : 0.001"},
		},
		{
			name:     "upstream list ending the format, extra text after it",
			format:   `$status $upstream_response_time`,
			line:     `502 0.004, 0.010 "eu"`,
			want:     map[string]string{"upstream_response_time": "0.004, 0.010"},
			trailing: true,
		},
		{
			name:   "opening literal missing",
			format: `[$time_local] $status "$request"`,
			line:   `20/Nov/2026:12:00:00 +0000] 503 "GET / HTTP/1.1"`,
			why:    `expected "[" at column 1`,
		},
		{
			name:   "escaped quotes inside a quoted value",
			format: combined,
			line:   `1.2.3.4 - - [20/Nov/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl \"x\" y"`,
			want:   map[string]string{"user_agent": `curl \"x\" y`, "status": "200"},
		},
		{
			name:   "escaped backslash before the closing quote",
			format: combined,
			line:   `1.2.3.4 - - [20/Nov/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 5 "a\\" "ua"`,
			want:   map[string]string{"referer": `a\\`, "user_agent": "ua"},
		},
		{
			name:   "upstream lists with retries and groups",
			format: `$remote_addr [$time_local] $status $upstream_addr $upstream_status $request_time`,
			line:   `1.2.3.4 [20/Nov/2026:12:00:00 +0000] 200 10.0.0.1:80, 10.0.0.2:80 : 10.0.1.1:80 502, 502 : 200 0.120`,
			want: map[string]string{
				"upstream_addr":   "10.0.0.1:80, 10.0.0.2:80 : 10.0.1.1:80",
				"upstream_status": "502, 502 : 200",
				"upstream":        "10.0.1.1:80",
				"no_upstream":     "false",
			},
		},
		{
			name:     "fields appended after the format",
			format:   `$remote_addr [$time_local] $status`,
			line:     `1.2.3.4 [20/Nov/2026:12:00:00 +0000] 200 extra fields`,
			want:     map[string]string{"status": "200", "client": "1.2.3.4"},
			trailing: true,
		},
		{
			name:   "terminator missing",
			format: `$remote_addr [$time_local] $status`,
			line:   `1.2.3.4`,
			why:    `expected " [" after $remote_addr`,
		},
		{
			name:   "bad status",
			format: `$remote_addr [$time_local] $status`,
			line:   `1.2.3.4 [20/Nov/2026:12:00:00 +0000] OK`,
			why:    `status "OK" is not a number`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFormat(tc.format)
			if err != nil {
				t.Fatal(err)
			}
			p := newParser(f, "test.log")
			why := p.parse([]byte(tc.line))
			if tc.why != "" {
				if !strings.Contains(why, tc.why) {
					t.Fatalf("reason %q, want it to contain %q", why, tc.why)
				}
				return
			}
			if why != "" {
				t.Fatalf("line refused: %s", why)
			}
			got := map[string]string{}
			for _, fl := range p.req.Fields {
				got[fl.Name] = string(fl.Value)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			if trailing := p.end < len(tc.line); trailing != tc.trailing {
				t.Errorf("trailing = %v, want %v", trailing, tc.trailing)
			}
		})
	}
}

// TestJSONStrings covers JSON string values with and without escapes: the
// plain ones alias the line, the others are unescaped.
func TestJSONStrings(t *testing.T) {
	f, err := ParseFormat("json")
	if err != nil {
		t.Fatal(err)
	}
	for line, want := range map[string]string{
		`{"time":"2026-11-20T10:00:00Z","status":503,"user_agent":"plain ua"}`:          "plain ua",
		`{"time":"2026-11-20T10:00:00Z","status":503,"user_agent":"a \"q\" b"}`:         `a "q" b`,
		`{"time":"2026-11-20T10:00:00Z","status":503,"user_agent":"ends in \\"}`:        `ends in \`,
		`{"time":"2026-11-20T10:00:00Z","status":503,"user_agent":"tab\there \u00e9"}`:  "tab\there é",
		`{"time":"2026-11-20T10:00:00Z","status":503,"user_agent":"","referer":"x\"y"}`: "",
	} {
		p := newParser(f, "test.log")
		if why := p.parse([]byte(line)); why != "" {
			t.Fatalf("%s: refused: %s", line, why)
		}
		got := ""
		for _, fl := range p.req.Fields {
			if fl.Name == "user_agent" {
				got = string(fl.Value)
			}
		}
		if got != want {
			t.Errorf("%s: user_agent = %q, want %q", line, got, want)
		}
		if p.req.Status != 503 {
			t.Errorf("%s: status = %d, want 503", line, p.req.Status)
		}
	}
	p := newParser(f, "test.log")
	if why := p.parse([]byte(`{"time":"2026-11-20T10:00:00Z","status":503,"user_agent":"never closed}`)); !strings.Contains(why, "unterminated string") {
		t.Errorf("unterminated string: reason %q", why)
	}
}
