package serve

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vindex/vindex/query"
)

// metrics are the server's Prometheus metrics, in a registry of its own
// (no package-level state: two servers in one process do not collide).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec   // route, code
	latency  *prometheus.HistogramVec // route
	queries  *prometheus.CounterVec   // kind: song, features
	reloads  *prometheus.CounterVec   // result: ok, failed
	version  *prometheus.GaugeVec     // version, dir, model, reducer, distance: 1 for the version in service
	songs    prometheus.Gauge
	loadedAt prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vindex_serve_requests_total",
			Help: "HTTP requests answered, by route and status code."}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "vindex_serve_request_duration_seconds",
			Help:    "Time to answer a request, by route.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5, 10, 30}}, []string{"route"}),
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vindex_serve_queries_total",
			Help: "Query songs answered: by song id of the index, or embedded from features."}, []string{"kind"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vindex_serve_reloads_total",
			Help: "Version loads, by result (a failed load leaves the old version serving)."}, []string{"result"}),
		version: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vindex_serve_index_info",
			Help: "1 for the index version in service, with its labels."}, []string{"version", "dir", "model", "reducer", "distance"}),
		songs: prometheus.NewGauge(prometheus.GaugeOpts{Name: "vindex_serve_index_songs",
			Help: "Songs searchable in the version in service."}),
		loadedAt: prometheus.NewGauge(prometheus.GaugeOpts{Name: "vindex_serve_index_loaded_timestamp_seconds",
			Help: "When the version in service was loaded (Unix time)."}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.queries, m.reloads, m.version, m.songs, m.loadedAt,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// setVersion points the version gauges at v, replacing old's labels.
func (m *metrics) setVersion(v *query.Version, old *loaded) {
	if old != nil {
		m.version.DeleteLabelValues(versionLabels(old.v)...)
	}
	m.version.WithLabelValues(versionLabels(v)...).Set(1)
	m.songs.Set(float64(v.Index.Len()))
	m.loadedAt.Set(float64(time.Now().UnixNano()) / 1e9)
}

func versionLabels(v *query.Version) []string {
	return []string{v.Name, v.Dir, v.Info.Model, v.Info.Reducer, string(v.Index.Distance)}
}

// statusWriter records the status code a handler writes.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// instrument counts and times the requests of one route.
func (m *metrics) instrument(route string, h http.Handler) http.Handler {
	lat := m.latency.WithLabelValues(route)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		lat.Observe(time.Since(start).Seconds())
		m.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
	})
}
