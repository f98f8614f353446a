package prom

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/signal"
)

// Query describes one query the client ran, for logging and -v output.
type Query struct {
	Query      string
	Start, End time.Time
	Step       time.Duration
	Series     int           // series returned
	Took       time.Duration // round trip
	Err        error
}

// Options configure a Client.
type Options struct {
	// URL is the Prometheus base URL, e.g. http://127.0.0.1:9090 (a path
	// prefix such as /prometheus is kept).
	URL string
	// HTTPClient defaults to a client with Timeout.
	HTTPClient *http.Client
	// Timeout bounds each query (default 30s).
	Timeout time.Duration
	// Logger receives one debug record per query ("prometheus query").
	Logger *slog.Logger
	// OnQuery, when set, is called after every query; the CLI prints the
	// queries under -v with it.
	OnQuery func(Query)
	// Catalog chooses the metrics Fetch asks for (default DefaultCatalog).
	Catalog *Catalog
	// MaxPoints bounds the points per series Fetch asks for when it picks a
	// step (default 720; Prometheus refuses more than 11,000).
	MaxPoints int
	// MinStep is the smallest step Fetch uses (default 15s).
	MinStep time.Duration
}

// Client queries a live Prometheus over its HTTP API.
type Client struct {
	base *url.URL
	opts Options
	hc   *http.Client
	log  *slog.Logger
}

// NewClient checks opts and returns a client. It does not contact the server.
func NewClient(opts Options) (*Client, error) {
	if opts.URL == "" {
		return nil, errors.New("prometheus url is required (e.g. http://127.0.0.1:9090)")
	}
	u, err := url.Parse(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("prometheus url %q: %w", opts.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("prometheus url %q: want http(s)://host:port", opts.URL)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxPoints <= 0 {
		opts.MaxPoints = 720
	}
	if opts.MaxPoints > 11000 {
		opts.MaxPoints = 11000
	}
	if opts.MinStep <= 0 {
		opts.MinStep = 15 * time.Second
	}
	if opts.Catalog == nil {
		opts.Catalog = DefaultCatalog()
	}
	c := &Client{base: u, opts: opts, hc: opts.HTTPClient, log: opts.Logger}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: opts.Timeout}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("component", "prometheus")
	return c, nil
}

// maxBody bounds a response body; a bare selector over a long window can be
// large, but not this large.
const maxBody = 512 << 20

// QueryRange runs a PromQL range query (/api/v1/query_range) and returns its
// series. Prometheus' own error message is returned on a bad query.
func (c *Client) QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) ([]signal.Series, error) {
	if step <= 0 {
		return nil, fmt.Errorf("query %q: step must be positive", query)
	}
	if !end.After(start) {
		return nil, fmt.Errorf("query %q: end %s is not after start %s", query, end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	form := url.Values{
		"query": {query},
		"start": {formatTime(start)},
		"end":   {formatTime(end)},
		"step":  {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	}
	began := time.Now()
	series, err := c.post(ctx, "api/v1/query_range", form)
	q := Query{Query: query, Start: start, End: end, Step: step, Series: len(series), Took: time.Since(began), Err: err}
	c.log.DebugContext(ctx, "prometheus query", "query", query, "start", start.UTC().Format(time.RFC3339),
		"end", end.UTC().Format(time.RFC3339), "step", step, "series", len(series), "took", q.Took, "err", err)
	if c.opts.OnQuery != nil {
		c.opts.OnQuery(q)
	}
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", query, err)
	}
	return series, nil
}

func formatTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)
}

func (c *Client) post(ctx context.Context, path string, form url.Values) ([]signal.Series, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	u := c.base.JoinPath(path)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, maxBody)
	ct := resp.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "application/json") {
		snippet, _ := io.ReadAll(io.LimitReader(body, 200))
		return nil, fmt.Errorf("%s: HTTP %d, content type %q, not a Prometheus API response: %s", u.Redacted(), resp.StatusCode, ct, strings.TrimSpace(string(snippet)))
	}
	// Prometheus answers errors (400, 422, 503) with a JSON error body,
	// which Decode turns into its message.
	series, err := Decode(body)
	if err != nil {
		return nil, fmt.Errorf("HTTP %d: %w", resp.StatusCode, err)
	}
	return series, nil
}

// StandardQueries returns the queries Fetch runs: one bare selector per
// metric name the catalog knows, e.g. http_requests_total.
// Bare selectors keep Fetch's output identical to a saved metrics file, so
// Derive treats both the same way.
func StandardQueries(cat *Catalog) []string {
	if cat == nil {
		cat = DefaultCatalog()
	}
	return cat.Metrics()
}

// Step picks the query resolution for a window: the window over
// MaxPoints, rounded up to whole seconds, at least MinStep.
func (c *Client) Step(w Window) time.Duration {
	d := w.End.Sub(w.Start)
	step := (d / time.Duration(c.opts.MaxPoints)).Round(time.Second)
	if step*time.Duration(c.opts.MaxPoints) < d {
		step += time.Second
	}
	if step < c.opts.MinStep {
		step = c.opts.MinStep
	}
	return step
}

// Fetch runs StandardQueries over w (both ends required) at Step(w) and
// returns every series found. A metric the server does not have simply
// returns nothing; a failing query (bad URL, server down, timeout) stops
// the fetch with its error.
func (c *Client) Fetch(ctx context.Context, w Window) ([]signal.Series, error) {
	if w.Start.IsZero() || w.End.IsZero() {
		return nil, errors.New("fetch: the window needs a start and an end")
	}
	step := c.Step(w)
	var all []signal.Series
	for _, q := range StandardQueries(c.opts.Catalog) {
		s, err := c.QueryRange(ctx, q, w.Start, w.End, step)
		if err != nil {
			return nil, fmt.Errorf("fetch: %w", err)
		}
		all = append(all, s...)
	}
	return all, nil
}
