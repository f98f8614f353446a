package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sitrep-dev/sitrep/internal/incident"
)

// metrics are the server's own Prometheus metrics, on a private registry
// so that several servers (tests) can coexist in one process.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

func newMetrics(reg *prometheus.Registry, inc *incident.Service) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sitrep_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sitrep_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sitrep_http_requests_in_flight",
			Help: "HTTP requests being answered.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if inc != nil {
		reg.MustRegister(&openIncidents{svc: inc})
	}
	return m
}

// openIncidents reports the open incidents (not yet resolved) by status and
// severity, read from the store at scrape time. Open incidents are few, so
// this stays cheap however long the history is.
type openIncidents struct {
	svc *incident.Service
}

var openIncidentsDesc = prometheus.NewDesc("sitrep_open_incidents",
	"Incidents not yet resolved, by status and severity.", []string{"status", "severity"}, nil)

func (o *openIncidents) Describe(ch chan<- *prometheus.Desc) { ch <- openIncidentsDesc }

func (o *openIncidents) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	open := []incident.Status{incident.Triggered, incident.Acknowledged, incident.Mitigated}
	list, err := o.svc.List(ctx, incident.ListFilter{Statuses: open})
	if err != nil {
		ch <- prometheus.NewInvalidMetric(openIncidentsDesc, err)
		return
	}
	counts := map[[2]string]int{}
	for _, st := range open { // report zeros too, so that alerts see the series
		for _, sv := range incident.Severities {
			counts[[2]string{string(st), string(sv.Severity)}] = 0
		}
	}
	for _, inc := range list {
		counts[[2]string{string(inc.Status), string(inc.Severity)}]++
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(openIncidentsDesc, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
}
