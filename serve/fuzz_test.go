package serve

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/vindex/vindex/schema"
)

// FuzzFeaturesBody feeds arbitrary bytes to the features-body reader, as
// JSON and as Parquet: it must never panic, every refusal is an API error
// with a 4xx status, and every accepted song has whole frames of 12 values.
func FuzzFeaturesBody(f *testing.F) {
	for _, seed := range []string{
		`{"k": 3, "songs": [{"song_id": "a", "hop": 512, "crema": [[0,0,0,0,0,0,0,0,0,0,0,1]]}]}`,
		`{"songs": [{"song_id": "b", "crema": [0,0,0,0,0,0,0,0,0,0,0,1, 0.5,0,0,0,0,0,0,0,0,0,0,1]}]}`,
		`{"songs": [{"song_id": "c", "crema": [[0.1, 0.2]]}]}`,
		`{"songs": [{"song_id": "d", "crema": null}]}`,
		`{"songs": []} {}`,
		`[`,
	} {
		f.Add([]byte(seed), false)
	}
	var pq bytes.Buffer
	if err := func() error {
		w, err := schema.NewSongWriter(&pq, schema.WriterOptions{})
		if err != nil {
			return err
		}
		if err := w.Write(schema.Song{SongID: "p", Crema: make([]float32, 24)}); err != nil {
			return err
		}
		return w.Close()
	}(); err != nil {
		f.Fatal(err)
	}
	f.Add(pq.Bytes(), true)
	s, err := New(Config{Index: "unused", MaxBody: 1 << 20, MaxSongs: 8})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, parquet bool) {
		ctype := "application/json"
		if parquet {
			ctype = "application/vnd.apache.parquet"
		}
		r := httptest.NewRequest(http.MethodPost, "/v1/neighbors", bytes.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		req, err := s.readFeatures(httptest.NewRecorder(), r)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status < 400 || ae.Status > 499 || ae.Code == "" {
				t.Fatalf("refusal %v is not a 4xx API error", err)
			}
			return
		}
		if len(req.Songs) == 0 || len(req.Songs) > 8 || req.K < 1 {
			t.Fatalf("accepted %d songs, k %d", len(req.Songs), req.K)
		}
		for _, song := range req.Songs {
			if len(song.Crema)%schema.PitchClasses != 0 {
				t.Fatalf("song %q: %d values", song.SongID, len(song.Crema))
			}
		}
	})
}
