package transforms

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/schema"
)

// TestNetPoolMatchesNet: songs handed to a pool of two networks by three
// bundles at once (each with its own inflight window) come back with exactly
// the embedding one Net computes alone, or with its error (a song too short),
// each exactly once.
func TestNetPoolMatchesNet(t *testing.T) {
	w, err := model.NewWeights(model.SeededCheckpoint(64, 3), model.Config{})
	if err != nil {
		t.Fatal(err)
	}
	net := w.NewNet()
	songs := make([]schema.Song, 12)
	want := make([][]float32, len(songs))
	for i := range songs {
		frames := 400 + 37*i
		if i == 5 {
			frames = 10 // too short: an error, not an embedding
		}
		songs[i] = schema.Song{SongID: string(rune('a' + i)), Crema: makeSongs("s", 1, frames)[0].Crema}
		want[i] = make([]float32, net.Dim())
		if err := net.Embed(want[i], songs[i].Crema, schema.ModelHop); err != nil {
			want[i] = nil
		}
	}
	pool := newNetPool(w, 2)
	var mu sync.Mutex
	got := map[string][]float32{}
	failed := map[string]bool{}
	var wg sync.WaitGroup
	for b := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := newInflight(pool)
			collect := func(j *embedJob) error {
				mu.Lock()
				defer mu.Unlock()
				if j.fail != nil {
					return j.fail
				}
				if _, dup := got[j.song.SongID]; dup || failed[j.song.SongID] {
					t.Errorf("song %s came back twice", j.song.SongID)
				}
				if j.err != nil {
					failed[j.song.SongID] = errors.Is(j.err, model.ErrTooShort)
					return nil
				}
				got[j.song.SongID] = j.dst
				return nil
			}
			for i := b; i < len(songs); i += 3 {
				j := &embedJob{song: songs[i], hop: schema.ModelHop, dst: make([]float32, pool.dim)}
				if err := in.submit(j, collect); err != nil {
					t.Error(err)
				}
			}
			if err := in.drain(collect); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i, s := range songs {
		if want[i] == nil {
			if !failed[s.SongID] {
				t.Errorf("song %s: want ErrTooShort", s.SongID)
			}
			continue
		}
		if !slices.Equal(got[s.SongID], want[i]) {
			t.Errorf("song %s: pool's embedding differs from Net.Embed's", s.SongID)
		}
	}
}
