package triage

import (
	"fmt"
	"strconv"
	"strings"
)

// DefaultErrorExpr is the error predicate used when none is given.
const DefaultErrorExpr = "status>=500"

// ErrorPredicate decides whether a request failed. It is compiled from a
// small expression language:
//
//	expr  := or
//	or    := and ( "||" and )*
//	and   := unary ( "&&" unary )*
//	unary := "!" unary | "(" expr ")" | cmp
//	cmp   := NAME op NUMBER          op: >= <= > < == != =
//
// NAME is status, request_time (also duration), retries (the upstream
// attempts that failed before the last; an expression that reads it
// counts a retried request at the upstream that failed it) or any numeric
// field of the log. A comparison on a field a request does not have (or that is not a
// number) is false.
type ErrorPredicate struct {
	src  string
	root exprNode
	// Vars lists the names the expression reads, in first-use order.
	Vars []string
}

// String returns the expression as written.
func (p *ErrorPredicate) String() string { return p.src }

// Eval evaluates the predicate; vals[i] and known[i] hold the value of Vars[i].
func (p *ErrorPredicate) Eval(vals []float64, known []bool) bool {
	return p.root.eval(vals, known)
}

type exprNode interface {
	eval(vals []float64, known []bool) bool
}

type cmpOp uint8

const (
	opGE cmpOp = iota
	opLE
	opGT
	opLT
	opEQ
	opNE
)

type cmpNode struct {
	v  int
	op cmpOp
	c  float64
}

func (n *cmpNode) eval(vals []float64, known []bool) bool {
	if !known[n.v] {
		return false
	}
	x := vals[n.v]
	switch n.op {
	case opGE:
		return x >= n.c
	case opLE:
		return x <= n.c
	case opGT:
		return x > n.c
	case opLT:
		return x < n.c
	case opEQ:
		return x == n.c
	default:
		return x != n.c
	}
}

type andNode struct{ a, b exprNode }

func (n *andNode) eval(v []float64, k []bool) bool { return n.a.eval(v, k) && n.b.eval(v, k) }

type orNode struct{ a, b exprNode }

func (n *orNode) eval(v []float64, k []bool) bool { return n.a.eval(v, k) || n.b.eval(v, k) }

type notNode struct{ a exprNode }

func (n *notNode) eval(v []float64, k []bool) bool { return !n.a.eval(v, k) }

const (
	maxExprLen   = 4096
	maxExprDepth = 64
)

// ParseErrorExpr compiles an error expression such as
// `status>=500 || request_time>2`. Errors name the column and what was
// expected there.
func ParseErrorExpr(s string) (*ErrorPredicate, error) {
	if len(s) > maxExprLen {
		return nil, fmt.Errorf("error expression is %d bytes long; the limit is %d", len(s), maxExprLen)
	}
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("error expression is empty; try %q", DefaultErrorExpr)
	}
	p := &exprParser{src: s}
	root, err := p.parseOr(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(s) {
		return nil, p.errorf("unexpected %q; expected && or || or the end", p.rest())
	}
	return &ErrorPredicate{src: s, root: root, Vars: p.vars}, nil
}

type exprParser struct {
	src  string
	pos  int
	vars []string
}

func (p *exprParser) errorf(format string, args ...any) error {
	return fmt.Errorf("error expression %q, column %d: %s", p.src, p.pos+1, fmt.Sprintf(format, args...))
}

func (p *exprParser) rest() string {
	r := p.src[p.pos:]
	if len(r) > 12 {
		r = r[:12] + "…"
	}
	return r
}

func (p *exprParser) skipSpace() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n' || p.src[p.pos] == '\r') {
		p.pos++
	}
}

func (p *exprParser) accept(tok string) bool {
	p.skipSpace()
	if strings.HasPrefix(p.src[p.pos:], tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

func (p *exprParser) parseOr(depth int) (exprNode, error) {
	if depth > maxExprDepth {
		return nil, p.errorf("nested too deeply (limit %d)", maxExprDepth)
	}
	a, err := p.parseAnd(depth)
	if err != nil {
		return nil, err
	}
	for p.accept("||") {
		b, err := p.parseAnd(depth)
		if err != nil {
			return nil, err
		}
		a = &orNode{a, b}
	}
	return a, nil
}

func (p *exprParser) parseAnd(depth int) (exprNode, error) {
	a, err := p.parseUnary(depth)
	if err != nil {
		return nil, err
	}
	for p.accept("&&") {
		b, err := p.parseUnary(depth)
		if err != nil {
			return nil, err
		}
		a = &andNode{a, b}
	}
	return a, nil
}

func (p *exprParser) parseUnary(depth int) (exprNode, error) {
	if depth > maxExprDepth {
		return nil, p.errorf("nested too deeply (limit %d)", maxExprDepth)
	}
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == '!' && !strings.HasPrefix(p.src[p.pos:], "!=") {
		p.pos++
		a, err := p.parseUnary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &notNode{a}, nil
	}
	if p.accept("(") {
		a, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if !p.accept(")") {
			if p.pos >= len(p.src) {
				return nil, p.errorf("missing )")
			}
			return nil, p.errorf("unexpected %q; expected )", p.rest())
		}
		return a, nil
	}
	return p.parseCmp()
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '@' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentPart(c byte) bool {
	return isIdentStart(c) || (c >= '0' && c <= '9') || c == '.' || c == '-'
}

func (p *exprParser) parseCmp() (exprNode, error) {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return nil, p.errorf("expected a comparison such as status>=500, got the end")
	}
	if !isIdentStart(p.src[p.pos]) {
		return nil, p.errorf("unexpected %q; expected a field name such as status or request_time", p.rest())
	}
	start := p.pos
	for p.pos < len(p.src) && isIdentPart(p.src[p.pos]) {
		p.pos++
	}
	name := p.src[start:p.pos]
	if name == "duration" {
		name = "request_time"
	}
	var op cmpOp
	switch {
	case p.accept(">="):
		op = opGE
	case p.accept("<="):
		op = opLE
	case p.accept("=="):
		op = opEQ
	case p.accept("!="):
		op = opNE
	case p.accept(">"):
		op = opGT
	case p.accept("<"):
		op = opLT
	case p.accept("="):
		op = opEQ
	default:
		return nil, p.errorf("expected a comparison operator (>= <= > < == !=) after %q", name)
	}
	p.skipSpace()
	start = p.pos
	for p.pos < len(p.src) && strings.IndexByte("+-.0123456789eE", p.src[p.pos]) >= 0 {
		p.pos++
	}
	num := p.src[start:p.pos]
	c, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" {
		p.pos = start
		return nil, p.errorf("expected a number after %s, got %q", name, p.rest())
	}
	v := -1
	for i, n := range p.vars {
		if n == name {
			v = i
		}
	}
	if v < 0 {
		v = len(p.vars)
		p.vars = append(p.vars, name)
	}
	return &cmpNode{v: v, op: op, c: c}, nil
}
