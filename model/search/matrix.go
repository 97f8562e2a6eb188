package search

import (
	"fmt"

	"github.com/vindex/vindex/schema"
)

// FromEmbeddings gathers embedding rows (one model, one dimension) into a
// Matrix, keeping ids, work ids, titles and artists.
func FromEmbeddings(embs []schema.Embedding) (*Matrix, error) {
	m := &Matrix{}
	if len(embs) == 0 {
		return nil, fmt.Errorf("search: no embeddings")
	}
	m.Dim = len(embs[0].Embedding)
	n := len(embs)
	m.IDs = make([]string, n)
	m.WorkIDs = make([]string, n)
	m.Titles = make([]string, n)
	m.Artists = make([]string, n)
	m.Vecs = make([]float32, 0, n*m.Dim)
	for i := range embs {
		e := &embs[i]
		if len(e.Embedding) != m.Dim {
			return nil, fmt.Errorf("%w: song %q has %d values, song %q has %d", ErrShape, e.SongID, len(e.Embedding), embs[0].SongID, m.Dim)
		}
		m.IDs[i], m.WorkIDs[i], m.Titles[i], m.Artists[i] = e.SongID, e.WorkID, e.Title, e.Artist
		m.Vecs = append(m.Vecs, e.Embedding...)
	}
	return m, m.check()
}
