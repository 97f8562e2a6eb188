package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/vindex/vindex/query"
	"github.com/vindex/vindex/schema"
)

// featuresRequest is the JSON body of POST /v1/neighbors.
type featuresRequest struct {
	K     *int          `json:"k"`
	Songs []featureSong `json:"songs"`
}

// featureSong is one query song: crema as T lists of 12, or flat 12·T
// (frame-major), at hop samples per frame (0: 4096).
type featureSong struct {
	SongID string          `json:"song_id"`
	WorkID string          `json:"work_id"`
	Title  string          `json:"title"`
	Artist string          `json:"artist"`
	Hop    int32           `json:"hop"`
	Crema  json.RawMessage `json:"crema"`
}

// readFeatures reads the body of POST /v1/neighbors: JSON, or a Parquet
// file of schema.Song rows (k then comes from ?k=).
func (s *Server) readFeatures(w http.ResponseWriter, r *http.Request) (query.Request, error) {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil && r.Header.Get("Content-Type") != "" {
		return query.Request{}, errorf(http.StatusUnsupportedMediaType, "bad_content_type", "Content-Type %q: %v", r.Header.Get("Content-Type"), err)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return query.Request{}, errorf(http.StatusRequestEntityTooLarge, "body_too_large", "the body is larger than %d bytes", s.cfg.MaxBody)
	case err != nil:
		return query.Request{}, errorf(http.StatusBadRequest, "bad_body", "reading the body: %v", err)
	}
	var req query.Request
	switch ct {
	case "application/json", "":
		req, err = s.parseJSON(r, body)
	case "application/vnd.apache.parquet", "application/x-parquet", "application/octet-stream":
		req, err = s.parseParquet(r, body)
	default:
		return query.Request{}, errorf(http.StatusUnsupportedMediaType, "bad_content_type",
			"Content-Type %q: want application/json or application/vnd.apache.parquet", ct)
	}
	if err != nil {
		return query.Request{}, err
	}
	switch {
	case len(req.Songs) == 0:
		return query.Request{}, errorf(http.StatusBadRequest, "no_songs", "the body holds no song")
	case len(req.Songs) > s.cfg.MaxSongs:
		return query.Request{}, errorf(http.StatusRequestEntityTooLarge, "too_many_songs", "%d songs in one request: at most %d", len(req.Songs), s.cfg.MaxSongs)
	}
	for i := range req.Songs {
		if err := checkHop(&req.Songs[i]); err != nil {
			return query.Request{}, err
		}
	}
	return req, nil
}

func (s *Server) parseJSON(r *http.Request, body []byte) (query.Request, error) {
	var fr featuresRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fr); err != nil {
		return query.Request{}, errorf(http.StatusBadRequest, "malformed_body", "the JSON body does not parse: %v", err)
	}
	if dec.More() {
		return query.Request{}, errorf(http.StatusBadRequest, "malformed_body", "the JSON body holds more than one value")
	}
	k, err := s.parseK(r, 10)
	if err != nil {
		return query.Request{}, err
	}
	if fr.K != nil {
		if *fr.K < 1 || *fr.K > s.cfg.MaxK {
			return query.Request{}, errorf(http.StatusBadRequest, "k_out_of_range", "k %d is out of range: want 1 to %d", *fr.K, s.cfg.MaxK)
		}
		k = *fr.K
	}
	req := query.Request{K: k, Songs: make([]schema.Song, len(fr.Songs))}
	if len(fr.Songs) > s.cfg.MaxSongs {
		return req, nil // refused by the caller, without decoding features
	}
	for i, fs := range fr.Songs {
		crema, err := parseCrema(fs.Crema)
		if err != nil {
			return query.Request{}, &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid_features", SongID: fs.SongID,
				Message: fmt.Sprintf("song %d (%q): crema: %v", i, fs.SongID, err)}
		}
		req.Songs[i] = schema.Song{SongID: fs.SongID, WorkID: fs.WorkID, Title: fs.Title, Artist: fs.Artist, Hop: fs.Hop, Crema: crema}
	}
	return req, nil
}

// parseCrema accepts T lists of 12 numbers, or a flat list of 12·T.
func parseCrema(raw json.RawMessage) ([]float32, error) {
	t := bytes.TrimLeft(raw, " \t\r\n")
	switch {
	case len(t) == 0 || bytes.Equal(t, []byte("null")):
		return nil, errors.New("missing")
	case t[0] != '[':
		return nil, errors.New("not a list")
	}
	if u := bytes.TrimLeft(t[1:], " \t\r\n"); len(u) > 0 && u[0] == '[' {
		var rows [][]float32
		if err := json.Unmarshal(raw, &rows); err != nil {
			return nil, fmt.Errorf("not a list of lists of numbers: %v", err)
		}
		flat := make([]float32, 0, len(rows)*schema.PitchClasses)
		for i, row := range rows {
			if len(row) != schema.PitchClasses {
				return nil, fmt.Errorf("frame %d has %d values, want %d", i, len(row), schema.PitchClasses)
			}
			flat = append(flat, row...)
		}
		return flat, nil
	}
	var flat []float32
	if err := json.Unmarshal(raw, &flat); err != nil {
		return nil, fmt.Errorf("not a list of numbers: %v", err)
	}
	if len(flat)%schema.PitchClasses != 0 {
		return nil, fmt.Errorf("%d values, not a multiple of %d (flat crema is frame-major, 12 a frame)", len(flat), schema.PitchClasses)
	}
	return flat, nil
}

func (s *Server) parseParquet(r *http.Request, body []byte) (query.Request, error) {
	k, err := s.parseK(r, 10)
	if err != nil {
		return query.Request{}, err
	}
	f, err := schema.OpenFile("body", bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return query.Request{}, errorf(http.StatusBadRequest, "malformed_body", "the body is not a Parquet file of songs: %v", err)
	}
	if f.NumRows() > int64(s.cfg.MaxSongs) {
		return query.Request{}, errorf(http.StatusRequestEntityTooLarge, "too_many_songs", "%d songs in one request: at most %d", f.NumRows(), s.cfg.MaxSongs)
	}
	req := query.Request{K: k}
	for rg := range f.NumRowGroups() {
		for song, err := range f.Songs(rg) {
			if err != nil {
				return query.Request{}, errorf(http.StatusUnprocessableEntity, "invalid_features", "%v", strings.TrimPrefix(err.Error(), "schema: "))
			}
			req.Songs = append(req.Songs, song)
		}
	}
	return req, nil
}

// checkHop refuses a hop the model cannot decimate from, before any work.
func checkHop(s *schema.Song) error {
	h := s.Hop
	if h < 0 || h > schema.ModelHop || (h > 0 && schema.ModelHop%h != 0) {
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "bad_hop", SongID: s.SongID,
			Message: fmt.Sprintf("song %q: hop %d is not a divisor of %d (0 means %d)", s.SongID, h, schema.ModelHop, schema.ModelHop)}
	}
	return nil
}
