package transforms

import (
	"context"
	"fmt"
	"sort"

	"github.com/vindex/vindex/model/reduce"
	"github.com/vindex/vindex/model/search"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
)

// maxReducerBytes bounds a reducer file: 16,000 × 16,000 float64 is 2 GB.
const maxReducerBytes = 4 << 30

// ReadReducer reads and decodes the reducer file at uri (any scheme storage
// knows), returning it and its bytes (what Reduce takes as FittedReducer.File).
func ReadReducer(ctx context.Context, uri string) (*reduce.Reducer, []byte, error) {
	b, err := storage.ReadFile(ctx, uri, maxReducerBytes)
	if err != nil {
		return nil, nil, fmt.Errorf("transforms: reducer: %w", err)
	}
	r, err := reduce.Unmarshal(b)
	if err != nil {
		return nil, nil, fmt.Errorf("transforms: reducer %s: %w", uri, err)
	}
	return r, b, nil
}

// WriteSearchFile publishes the compact search file (model/search) of the
// embeddings dataset pattern names at uri, rows sorted by song id.
func WriteSearchFile(ctx context.Context, pattern, uri string) error {
	embs, err := schema.ReadEmbeddingsFiles(pattern)
	if err != nil {
		return fmt.Errorf("transforms: %w", err)
	}
	sort.Slice(embs, func(i, j int) bool { return embs[i].SongID < embs[j].SongID })
	m, err := SearchMatrix(embs)
	if err != nil {
		return fmt.Errorf("transforms: search file: %w", err)
	}
	b, err := search.Marshal(m)
	if err != nil {
		return fmt.Errorf("transforms: search file: %w", err)
	}
	return storage.WriteFile(ctx, uri, b)
}

// SearchFile is the name of the search file in an index folder.
const SearchFile = search.FileName

// ReadSearchFile reads the search file at uri: straight into its vectors
// for a local path (search.ReadFile), through storage otherwise.
func ReadSearchFile(ctx context.Context, uri string) (*search.Matrix, error) {
	if storage.IsLocal(uri) {
		return search.ReadFile(uri)
	}
	b, err := storage.ReadFile(ctx, uri, 0)
	if err != nil {
		return nil, fmt.Errorf("transforms: search file: %w", err)
	}
	m, err := search.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("transforms: %s: %w", uri, err)
	}
	return m, nil
}
