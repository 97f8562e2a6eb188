package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/model/search"
	"github.com/vindex/vindex/query"
	"github.com/vindex/vindex/schema"
)

// apiError is the JSON body of every error answer.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"error"`             // stable, machine-readable
	Message string `json:"message"`           // for people
	SongID  string `json:"song_id,omitempty"` // the query song at fault
}

func (e *apiError) Error() string { return e.Message }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// neighborsResponse is the answer of both neighbour routes.
type neighborsResponse struct {
	Version  string         `json:"version"`
	Distance string         `json:"distance"`
	Songs    int            `json:"songs"` // songs searched
	Queries  []query.Answer `json:"queries"`
}

// indexResponse is the answer of GET /v1/index.
type indexResponse struct {
	Version   string    `json:"version"`
	Dir       string    `json:"dir"`
	Created   time.Time `json:"created"`
	LoadedAt  time.Time `json:"loaded_at"`
	Model     string    `json:"model"`
	Reducer   string    `json:"reducer,omitempty"`
	Distance  string    `json:"distance"`
	Dim       int       `json:"dim"`
	Songs     int       `json:"songs"`   // searchable songs
	Skipped   int       `json:"skipped"` // songs the distance cannot score
	MAP       *float64  `json:"map"`     // overall MAP of the version's evaluation, null without one
	Embedding bool      `json:"features_queries"`
}

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	handle := func(pattern, route string, h func(http.ResponseWriter, *http.Request) error) {
		s.mux.Handle(pattern, s.metrics.instrument(route, s.api(h)))
	}
	handle("GET /v1/songs/{song_id}/neighbors", "song_neighbors", s.songNeighbors)
	handle("POST /v1/neighbors", "neighbors", s.featureNeighbors)
	handle("GET /v1/index", "index", s.index)
	handle("/v1/", "unknown", func(http.ResponseWriter, *http.Request) error {
		return errorf(http.StatusNotFound, "no_route", "no such API route (see docs/api.md)")
	})
	s.mux.Handle("GET /healthz", s.metrics.instrument("healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})))
	s.mux.Handle("GET /readyz", s.metrics.instrument("readyz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if s.cur.Load() == nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "no version loaded yet")
			return
		}
		fmt.Fprintln(w, "ok")
	})))
	s.mux.Handle("GET /metrics", s.metrics.handler())
}

// api runs an API handler with the request's time bound and turns its error
// into a JSON answer.
func (s *Server) api(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
		defer cancel()
		err := h(w, r.WithContext(ctx))
		if err == nil {
			return
		}
		var ae *apiError
		if !errors.As(err, &ae) {
			switch {
			case errors.Is(err, context.DeadlineExceeded):
				ae = errorf(http.StatusServiceUnavailable, "timeout", "the request took longer than %v", s.cfg.Timeout)
			case errors.Is(err, context.Canceled):
				ae = errorf(499, "canceled", "the client went away")
			default:
				s.cfg.Logger.Error("serve: request failed", "path", r.URL.Path, "err", err)
				ae = errorf(http.StatusInternalServerError, "internal", "%v", err)
			}
		}
		writeJSON(w, ae.Status, ae)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v) // a failed write is the client's leaving
}

// parseK reads ?k= (default 10), 1..MaxK.
func (s *Server) parseK(r *http.Request, dflt int) (int, error) {
	q := r.URL.Query().Get("k")
	if q == "" {
		return dflt, nil
	}
	k, err := strconv.Atoi(q)
	if err != nil {
		return 0, errorf(http.StatusBadRequest, "bad_k", "k %q is not an integer", q)
	}
	if k < 1 || k > s.cfg.MaxK {
		return 0, errorf(http.StatusBadRequest, "k_out_of_range", "k %d is out of range: want 1 to %d", k, s.cfg.MaxK)
	}
	return k, nil
}

func notReady() error {
	return errorf(http.StatusServiceUnavailable, "not_ready", "no index version is loaded yet")
}

func (s *Server) songNeighbors(w http.ResponseWriter, r *http.Request) error {
	k, err := s.parseK(r, 10)
	if err != nil {
		return err
	}
	l := s.acquire()
	if l == nil {
		return notReady()
	}
	defer l.release()
	return s.answer(w, r, l.v, query.Request{SongIDs: []string{r.PathValue("song_id")}, K: k})
}

func (s *Server) featureNeighbors(w http.ResponseWriter, r *http.Request) error {
	if s.cur.Load() == nil {
		return notReady()
	}
	req, err := s.readFeatures(w, r)
	if err != nil {
		return err
	}
	l := s.acquire() // after reading the body: a slow client does not hold a replaced version
	defer l.release()
	return s.answer(w, r, l.v, req)
}

// answer runs a request on v and writes the answer or a precise error.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, v *query.Version, req query.Request) error {
	answers, err := v.Neighbors(r.Context(), req)
	if err != nil {
		return songError(err)
	}
	if len(req.SongIDs) > 0 {
		s.metrics.queries.WithLabelValues("song").Add(float64(len(req.SongIDs)))
	}
	if len(req.Songs) > 0 {
		s.metrics.queries.WithLabelValues("features").Add(float64(len(req.Songs)))
	}
	writeJSON(w, http.StatusOK, neighborsResponse{Version: v.Name, Distance: string(v.Index.Distance),
		Songs: v.Index.Len(), Queries: answers})
	return nil
}

// songError maps a query error to its API error.
func songError(err error) error {
	var se *query.SongError
	if !errors.As(err, &se) {
		return err
	}
	ae := &apiError{Status: http.StatusUnprocessableEntity, SongID: se.SongID,
		Message: fmt.Sprintf("song %q: %v", se.SongID, se.Err)}
	switch {
	case errors.Is(err, search.ErrNotFound):
		ae.Status, ae.Code, ae.Message = http.StatusNotFound, "unknown_song", fmt.Sprintf("song %q is not in the index", se.SongID)
	case errors.Is(err, model.ErrTooShort):
		ae.Code = "features_too_short"
	case errors.Is(err, model.ErrHop):
		ae.Code = "bad_hop"
	case errors.Is(err, search.ErrUnscorable):
		ae.Code = "unscorable"
	case errors.Is(err, schema.ErrInvalid), errors.Is(err, model.ErrInput):
		ae.Code = "invalid_features"
	default:
		return err
	}
	return ae
}

func (s *Server) index(w http.ResponseWriter, _ *http.Request) error {
	l := s.acquire()
	if l == nil {
		return notReady()
	}
	defer l.release()
	v := l.v
	res := indexResponse{Version: v.Name, Dir: v.Dir, Created: v.Info.Created, LoadedAt: l.loadedAt,
		Model: v.Info.Model, Reducer: v.Info.Reducer, Distance: string(v.Index.Distance), Dim: v.Index.Dim,
		Songs: v.Index.Len(), Skipped: len(v.Index.Skipped), MAP: v.MAP, Embedding: v.Embedder() != nil}
	writeJSON(w, http.StatusOK, res)
	return nil
}
