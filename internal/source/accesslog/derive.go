package accesslog

import (
	"bytes"
	"net/netip"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/keyindex"
)

// cacheMax bounds each derived-value cache; a full cache is cleared, which
// keeps memory bounded on high-cardinality inputs.
const cacheMax = 1 << 15

// deriver computes derived dimensions, caching them per distinct raw value
// so that the work is done once per value rather than once per line.
type deriver struct {
	pathBuf []byte
	uas     memo[uaInfo]
	nets6   memo[[2][]byte]
	ups     memo[[]byte]
	upKey   []byte // scratch for the ups key: addr NUL name
	net24   []byte // scratch for IPv4 networks (valid until the next line)
	net16   []byte
	lastTL  []byte // last $time_local text and its value
	lastNS  int64
}

func (d *deriver) init() {
	d.net24 = make([]byte, 0, 24)
	d.net16 = make([]byte, 0, 24)
}

// path normalises a request target into the deriver's scratch buffer (valid
// until the next line): no allocation, whatever the path's cardinality.
func (d *deriver) path(uri []byte) []byte {
	d.pathBuf = appendNormalizedPath(d.pathBuf[:0], uri)
	return d.pathBuf
}

// NormalizePath templates the variable parts of a path:
// /users/123/orders/9f8e7d6c5b4a39281706f5e4d3c2b1a0 → /users/:id/orders/:hash.
// The query string and fragment go; an absolute-form target keeps its path.
func NormalizePath(uri string) string {
	return string(appendNormalizedPath(nil, []byte(uri)))
}

func appendNormalizedPath(dst, uri []byte) []byte {
	// Two IndexByte calls beat IndexAny's per-call set on these short
	// strings: this runs once per request.
	if i := bytes.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	if i := bytes.IndexByte(uri, '#'); i >= 0 {
		uri = uri[:i]
	}
	if len(uri) > 7 && uri[0] == 'h' && (bytes.HasPrefix(uri, []byte("http://")) || bytes.HasPrefix(uri, []byte("https://"))) {
		rest := uri[bytes.Index(uri, []byte("//"))+2:]
		if i := bytes.IndexByte(rest, '/'); i >= 0 {
			uri = rest[i:]
		} else {
			uri = []byte("/")
		}
	}
	if len(uri) == 0 {
		return append(dst, '/')
	}
	for first := true; ; first = false {
		i := bytes.IndexByte(uri, '/')
		seg := uri
		if i >= 0 {
			seg = uri[:i]
		}
		if !first {
			dst = append(dst, '/')
		}
		dst = appendSegment(dst, seg)
		if i < 0 {
			return dst
		}
		uri = uri[i+1:]
	}
}

func appendSegment(dst, s []byte) []byte {
	if len(s) == 0 {
		return dst
	}
	if len(s) < 8 && (s[0] < '0' || s[0] > '9') {
		// Most segments are short words ("api", "v1", "orders"): too short
		// for a uuid or a hash, and not a number even before an extension.
		return append(dst, s...)
	}
	base, ext := s, s[len(s):]
	if i := bytes.LastIndexByte(s, '.'); i > 0 && len(s)-i <= 6 {
		base, ext = s[:i], s[i:]
	}
	switch {
	case isDigits(base):
		return append(append(dst, ":id"...), ext...)
	case isUUID(base):
		return append(append(dst, ":uuid"...), ext...)
	case isHash(base):
		return append(append(dst, ":hash"...), ext...)
	}
	return append(dst, s...)
}

func isDigits(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func isUUID(s []byte) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if s[i] != '-' {
				return false
			}
		} else if !isHex(s[i]) {
			return false
		}
	}
	return true
}

// isHash: a long hex string, or a long token mixing letters and digits
// (session ids, base64url ids).
func isHash(s []byte) bool {
	if len(s) < 8 {
		return false
	}
	hex, digits, letters := true, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letters++
			if !isHex(c) {
				hex = false
			}
		case c == '-' || c == '_':
			hex = false
		default:
			return false
		}
	}
	if hex && digits > 0 && len(s) >= 12 {
		return true
	}
	// Random tokens have many digits; slugs such as "logstash-2013" do not.
	return len(s) >= 16 && letters >= 3 && digits*4 >= len(s)
}

// clientNets returns the client's /24 and /16 (IPv4) or /48 (IPv6).
func (d *deriver) clientNets(c []byte) ([]byte, []byte) {
	if len(c) == 0 || c[0] == '-' {
		return nil, nil
	}
	if a, b, ok := ipv4Prefixes(c, d.net24[:0], d.net16[:0]); ok {
		d.net24, d.net16 = a, b
		return a, b
	}
	v, h, ok := d.nets6.get(c)
	if ok {
		return v[0], v[1]
	}
	if addr, err := netip.ParseAddr(strings.Trim(string(c), "[]")); err == nil {
		if addr.Is4In6() {
			addr = addr.Unmap()
		}
		if addr.Is6() {
			p, _ := addr.Prefix(48)
			v[0] = []byte(p.String())
			p32, _ := addr.Prefix(32)
			v[1] = []byte(p32.String())
		} else {
			p, _ := addr.Prefix(24)
			p16, _ := addr.Prefix(16)
			v[0], v[1] = []byte(p.String()), []byte(p16.String())
		}
	}
	d.nets6.put(h, v)
	return v[0], v[1]
}

// ipv4Prefixes writes a.b.c.0/24 and a.b.0.0/16 for a dotted-quad client.
func ipv4Prefixes(c []byte, b24, b16 []byte) ([]byte, []byte, bool) {
	dots := 0
	var d2, d3 int
	for i, ch := range c {
		switch {
		case ch == '.':
			dots++
			if dots == 2 {
				d2 = i
			} else if dots == 3 {
				d3 = i
			}
		case ch < '0' || ch > '9':
			return nil, nil, false
		}
	}
	if dots != 3 || d3 == len(c)-1 {
		return nil, nil, false
	}
	b24 = append(append(b24, c[:d3]...), ".0/24"...)
	b16 = append(append(b16, c[:d2]...), ".0.0/16"...)
	return b24, b16, true
}

// User-agent families.
var (
	uaNone        = []byte("none")
	uaBot         = []byte("bot")
	uaCurl        = []byte("curl")
	uaCLI         = []byte("cli")
	uaLibrary     = []byte("library")
	uaMobileApp   = []byte("mobile-app")
	uaMobileBrows = []byte("mobile-browser")
	uaBrowser     = []byte("browser")
	uaMonitor     = []byte("monitoring")
	uaOther       = []byte("other")
)

// uaInfo is what a user agent says of the client — its family and its
// product — with their keyindex.Of, and the user agent's own (h).
type uaInfo struct {
	family, product       []byte
	familyKey, productKey uint64
	h                     uint64
}

func (d *deriver) ua(ua []byte) uaInfo {
	v, h, ok := d.uas.get(ua)
	if !ok {
		s := string(ua)
		v = uaInfo{family: UAFamily(s), product: []byte(UAProduct(s))}
		v.familyKey, v.productKey = keyindex.Of(v.family), keyindex.Of(v.product)
		d.uas.put(h, v)
	}
	v.h = h
	return v
}

// browserTokens are the product tokens that name a browser, the most
// specific first: Edge's and Opera's user agents also say Chrome and
// Safari, Chrome's also says Safari.
var browserTokens = []struct{ token, name string }{
	{"Edg/", "Edge"}, {"EdgA/", "Edge"}, {"EdgiOS/", "Edge"}, {"OPR/", "Opera"},
	{"SamsungBrowser/", "SamsungBrowser"}, {"YaBrowser/", "YaBrowser"}, {"UCBrowser/", "UCBrowser"},
	{"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"}, {"CriOS/", "Chrome"}, {"Chrome/", "Chrome"},
	{"Version/", "Safari"}, // Safari gives its version so; its Safari/ token is WebKit's build
	{"MSIE ", "MSIE"}, {"Trident/", "Trident"},
}

// UAProduct names the client software a User-Agent header identifies,
// with its version: the app and release of a mobile app, library or tool
// ("ShopApp/5.2.0", "okhttp/4.12.0", "curl/8.4.0"), a browser and its
// major version ("Chrome/120"), a crawler ("Googlebot/2.1"). A client
// release that fails shows as one value.
func UAProduct(ua string) string {
	ua = strings.TrimSpace(ua)
	if ua == "" || ua == "-" {
		return "-"
	}
	if !strings.Contains(ua, " ") {
		ua = w3cSpaces.Replace(ua)
	}
	if !strings.HasPrefix(ua, "Mozilla/") && !strings.HasPrefix(ua, "Opera/") {
		// An app, library or tool: its first product token.
		end := strings.IndexAny(ua, " (;")
		if end < 0 {
			end = len(ua)
		}
		return capLen(ua[:end])
	}
	// A crawler says who it is inside the comment: (compatible; Googlebot/2.1; …).
	if i := strings.Index(ua, "compatible; "); i >= 0 {
		c := ua[i+len("compatible; "):]
		if j := strings.IndexAny(c, ";)"); j >= 0 {
			c = c[:j]
		}
		if strings.Contains(c, "/") && !strings.HasPrefix(c, "MSIE") {
			return capLen(strings.TrimSpace(c))
		}
	}
	for _, b := range browserTokens {
		i := strings.Index(ua, b.token)
		if i < 0 {
			continue
		}
		v := ua[i+len(b.token):]
		if j := strings.IndexAny(v, ". ;)"); j >= 0 {
			v = v[:j]
		}
		if v == "" {
			return b.name
		}
		return capLen(b.name + "/" + v)
	}
	// Another product behind Mozilla/: its last token, as it is.
	if i := strings.LastIndexByte(ua, ' '); i >= 0 && strings.Contains(ua[i+1:], "/") {
		return capLen(ua[i+1:])
	}
	return "other"
}

// w3cSpaces reads the spaces W3C logs write as '+' (IIS) or %20
// (CloudFront).
var w3cSpaces = strings.NewReplacer("+", " ", "%20", " ")

// capLen bounds a derived value's length: a product token is a name and a
// version, not a sentence.
func capLen(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}

// UAFamily classifies a User-Agent header.
func UAFamily(ua string) []byte {
	l := strings.ToLower(ua)
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(l, s) {
				return true
			}
		}
		return false
	}
	switch {
	case l == "" || l == "-":
		return uaNone
	case has("bot", "crawler", "spider", "slurp", "crawl", "facebookexternalhit", "bingpreview", "mediapartners"):
		return uaBot
	case has("kube-probe", "elb-healthchecker", "pingdom", "uptimerobot", "prometheus", "blackbox", "datadog", "nagios", "statuscake", "health"):
		return uaMonitor
	case strings.HasPrefix(l, "curl/"):
		return uaCurl
	case strings.HasPrefix(l, "wget/") || strings.HasPrefix(l, "httpie/"):
		return uaCLI
	case has("python-requests", "python-urllib", "go-http-client", "okhttp", "java/", "apache-httpclient", "axios", "node-fetch", "libwww-perl", "ruby", "aiohttp", "httpx", "guzzle", "reqwest"):
		return uaLibrary
	case !strings.HasPrefix(l, "mozilla/") && has("cfnetwork", "dalvik", "ios", "android", "iphone", "ipad"):
		return uaMobileApp
	case strings.HasPrefix(l, "mozilla/") && has("mobile", "android", "iphone", "ipad"):
		return uaMobileBrows
	case strings.HasPrefix(l, "mozilla/") || strings.HasPrefix(l, "opera/"):
		return uaBrowser
	}
	return uaOther
}

var (
	vTrue  = []byte("true")
	vFalse = []byte("false")
	vDash  = []byte("-")
)

// upstream returns the upstream that produced the response — the last of
// a retry list — with its name when the log carries one, and whether the
// request never reached an upstream.
func (d *deriver) upstream(addr, name []byte) ([]byte, []byte) {
	addr = bytes.TrimSpace(addr)
	if len(addr) == 0 || (len(addr) == 1 && addr[0] == '-') || string(addr) == "<NOSRV>" {
		return vDash, vTrue
	}
	last := lastUpstream(addr)
	if len(last) == 1 && last[0] == '-' {
		return last, vTrue
	}
	if len(last) > 0 && (last[0] < '0' || last[0] > '9') {
		last = hostPort(last)
	}
	return d.named(last, name), vFalse
}

// hostPort reduces an upstream written as a URL (Traefik's
// http://10.0.0.5:80, older Envoy's tcp://10.0.0.5:80) to its host and
// port; other values are returned as they are.
func hostPort(v []byte) []byte {
	i := bytes.Index(v, []byte("://"))
	if i < 0 {
		return v
	}
	v = v[i+3:]
	if j := bytes.IndexByte(v, '/'); j >= 0 {
		v = v[:j]
	}
	return v
}

// named returns "addr (name)" when the log names the upstream (an
// ingress-nginx upstream, an ALB target group), else addr. The pair is
// cached: built once per distinct pair, not once per line.
func (d *deriver) named(addr, name []byte) []byte {
	name = targetGroupName(name)
	if len(name) == 0 || (len(name) == 1 && name[0] == '-') {
		return addr
	}
	// The key is built in a scratch buffer: a concatenation in the index
	// expression would be allocated for every line once longer than 32
	// bytes, which addresses with service names usually are.
	d.upKey = append(append(append(d.upKey[:0], addr...), 0), name...)
	v, h, ok := d.ups.get(d.upKey)
	if !ok {
		v = make([]byte, 0, len(addr)+len(name)+3)
		v = append(append(append(append(v, addr...), " ("...), name...), ')')
		d.ups.put(h, v)
	}
	return v
}

// retries counts the failed attempts of an upstream list and returns the
// first failed address. nginx moves to the next upstream of a group
// (listed after a comma) when an attempt fails — an error, a timeout, or a
// status proxy_next_upstream names; " : " separates groups (an internal
// redirect, not a retry). An attempt followed by a comma failed unless the
// upstream status at the same place in its list says it answered (below
// 500, 429 aside): some logs show an answered attempt retried.
func retries(addr, status []byte) (n int, first []byte) {
	var a, s []byte
	for len(addr) > 0 {
		var sep byte
		a, addr, sep = nextAttempt(addr)
		s, status, _ = nextAttempt(status)
		if sep != ',' || len(a) == 0 || answered(s) {
			continue
		}
		if n == 0 {
			first = a
		}
		n++
	}
	return n, first
}

// nextAttempt splits the first entry off an nginx upstream list
// ("a, b : c") and returns it, the rest, and the separator after it: ',',
// ':' or 0 at the end.
func nextAttempt(b []byte) (entry, rest []byte, sep byte) {
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == ',':
			return bytes.TrimSpace(b[:i]), b[i+1:], ','
		case b[i] == ':' && i > 0 && b[i-1] == ' ' && (i+1 == len(b) || b[i+1] == ' '):
			return bytes.TrimSpace(b[:i]), b[i+1:], ':'
		}
	}
	return bytes.TrimSpace(b), nil, 0
}

// answered reports whether an attempt's upstream status is a response the
// client could have had: below 500, and not 429.
func answered(s []byte) bool {
	st, ok := atoi3(s)
	return ok && st >= 100 && st < 500 && st != 429
}

// lastUpstream picks the last address of "a, b : c" (nginx separates
// retries with ", " and upstream groups with " : ").
func lastUpstream(addr []byte) []byte {
	i := len(addr) - 1
	for ; i >= 0; i-- {
		c := addr[i]
		if c == ',' || (c == ':' && (i+1 == len(addr) || addr[i+1] == ' ')) {
			// a separator; a ':' followed by a digit is a port
			break
		}
	}
	if i < 0 {
		return addr
	}
	return bytes.TrimSpace(addr[i+1:])
}
