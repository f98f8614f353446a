package accesslog

import (
	"strings"
)

// envoyOperators maps Envoy's access-log command operators to the
// variables of the format engine. Operators not listed become a variable
// of their own lower-cased name (%ROUTE_NAME% → route_name); headers
// follow nginx's naming (%REQ(X-REGION)% → http_x_region → region).
var envoyOperators = map[string]string{
	"START_TIME":                             "time_iso8601",
	"REQ(:METHOD)":                           "request_method",
	"REQ(:PATH)":                             "request_uri",
	"REQ(X-ENVOY-ORIGINAL-PATH?:PATH)":       "request_uri",
	"PROTOCOL":                               "server_protocol",
	"RESPONSE_CODE":                          "status",
	"DURATION":                               "duration_ms",
	"REQ(:AUTHORITY)":                        "host",
	"REQ(X-REQUEST-ID)":                      "req_id",
	"UPSTREAM_HOST":                          "upstream_addr",
	"UPSTREAM_CLUSTER":                       "upstream_cluster",
	"UPSTREAM_CLUSTER_RAW":                   "upstream_cluster",
	"DOWNSTREAM_REMOTE_ADDRESS":              "downstream_remote_address",
	"DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT": "remote_addr",
	"RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)":    "upstream_service_time",
	"BYTES_SENT":                             "bytes_sent",
	"BYTES_RECEIVED":                         "bytes_received",
}

// fromEnvoy translates an Envoy format string ("[%START_TIME%]
// \"%REQ(:METHOD)% …") into the engine's $variable syntax. It reports false
// when s holds no Envoy command operator.
func fromEnvoy(s string) (string, bool) {
	var b strings.Builder
	ops := 0
	for i := 0; i < len(s); {
		op, n := envoyOperator(s[i:])
		if n == 0 {
			b.WriteByte(s[i])
			i++
			continue
		}
		ops++
		i += n
		b.WriteString("${")
		b.WriteString(envoyVariable(op))
		b.WriteByte('}')
	}
	if ops == 0 {
		return "", false
	}
	// nginx's $request is the three parts Envoy's default writes in one
	// quoted field; as one variable a path with odd bytes cannot shift the
	// fields after it.
	out := strings.ReplaceAll(b.String(), "${request_method} ${request_uri} ${server_protocol}", "${request}")
	return strings.TrimSuffix(strings.TrimSuffix(out, `\n`), "\n"), true
}

// envoyOperator reads the command operator at the start of s: %NAME%,
// %NAME(ARGS)% or either with a :LENGTH limit. It returns the operator
// without its percent signs and the bytes it spans (0 when s does not
// open with one).
func envoyOperator(s string) (string, int) {
	if len(s) < 3 || s[0] != '%' {
		return "", 0
	}
	i := 1
	for i < len(s) && (s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9' || s[i] == '_') {
		i++
	}
	if i == 1 {
		return "", 0
	}
	if i < len(s) && s[i] == '(' {
		end := strings.IndexByte(s[i:], ')')
		if end < 0 {
			return "", 0
		}
		i += end + 1
	}
	opEnd := i
	if i < len(s) && s[i] == ':' {
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j > i+1 {
			i = j
		}
	}
	if i >= len(s) || s[i] != '%' {
		return "", 0
	}
	return s[1:opEnd], i + 1
}

// envoyVariable names the engine variable of an Envoy operator.
func envoyVariable(op string) string {
	if v, ok := envoyOperators[op]; ok {
		return v
	}
	name, arg, hasArg := strings.Cut(strings.TrimSuffix(op, ")"), "(")
	switch {
	case name == "START_TIME" && hasArg:
		// %START_TIME(%s.%3f)% is epoch seconds; strftime layouts that
		// open with the date read as ISO 8601.
		if strings.HasPrefix(arg, "%s") {
			return "msec"
		}
		return "time_iso8601"
	case (name == "REQ" || name == "REQUEST_HEADER") && hasArg:
		h, _, _ := strings.Cut(arg, "?") // X-ENVOY-ORIGINAL-PATH?:PATH
		return "http_" + headerVar(h)
	case (name == "RESP" || name == "RESPONSE_HEADER") && hasArg:
		return "sent_http_" + headerVar(arg)
	}
	return strings.ToLower(strings.NewReplacer("(", "_", ")", "", ":", "", "-", "_").Replace(op))
}

func headerVar(h string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(h, ":"), "-", "_"))
}
