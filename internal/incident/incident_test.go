package incident

import (
	"errors"
	"strings"
	"testing"
)

func TestCanTransition(t *testing.T) {
	tests := []struct {
		from, to Status
		ok       bool
	}{
		{Triggered, Acknowledged, true},
		{Triggered, Mitigated, true},
		{Triggered, Resolved, true},
		{Acknowledged, Mitigated, true},
		{Mitigated, Resolved, true},
		{Resolved, Closed, true},
		{Resolved, Acknowledged, true}, // reopen
		{Triggered, Closed, false},     // must be resolved first
		{Mitigated, Closed, false},
		{Acknowledged, Triggered, false},
		{Mitigated, Acknowledged, false},
		{Closed, Acknowledged, false},
		{Closed, Resolved, false},
		{Acknowledged, Acknowledged, false},
	}
	for _, tt := range tests {
		if got := CanTransition(tt.from, tt.to); got != tt.ok {
			t.Errorf("CanTransition(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.ok)
		}
	}
}

func TestTransitionErrorSaysWhatIsAllowed(t *testing.T) {
	err := error(&TransitionError{ID: 4, From: Triggered, To: Closed})
	if !strings.Contains(err.Error(), "INC-4 is triggered and cannot become closed") ||
		!strings.Contains(err.Error(), "acknowledged, mitigated, resolved") {
		t.Errorf("message = %q", err)
	}
	var te *TransitionError
	if !errors.As(err, &te) {
		t.Error("not a *TransitionError")
	}
}

func TestParseIDAndSeverity(t *testing.T) {
	for in, want := range map[string]int64{"INC-12": 12, "inc-3": 3, "7": 7} {
		if got, err := ParseID(in); err != nil || got != want {
			t.Errorf("ParseID(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "INC-", "INC-0", "INC--1", "abc", "INC-1x"} {
		if _, err := ParseID(bad); err == nil {
			t.Errorf("ParseID(%q) accepted", bad)
		}
	}
	for in, want := range map[string]Severity{"sev2": SEV2, "SEV1": SEV1, "4": SEV4} {
		if got, err := ParseSeverity(in); err != nil || got != want {
			t.Errorf("ParseSeverity(%q) = %s, %v", in, got, err)
		}
	}
	var ve *ValidationError
	if _, err := ParseSeverity("SEV5"); !errors.As(err, &ve) || ve.Field != "severity" {
		t.Errorf("ParseSeverity(SEV5) = %v, want a severity validation error", err)
	}
}

func TestDeclareInputValidate(t *testing.T) {
	in := DeclareInput{Title: "  x  ", Severity: "sev2", Services: []string{"api, web", "api", ""}}
	if err := in.Validate(); err != nil {
		t.Fatal(err)
	}
	if in.Title != "x" || strings.Join(in.Services, "|") != "api|web" {
		t.Errorf("normalised to %q %v", in.Title, in.Services)
	}
	for _, bad := range []DeclareInput{{Severity: "SEV1"}, {Title: "t"}, {Title: "t", Severity: "SEV9"}, {Title: strings.Repeat("a", 201), Severity: "SEV1"}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
