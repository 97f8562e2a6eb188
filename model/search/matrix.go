package search

// NewMatrix returns an empty Matrix of dimension dim with room for n rows.
func NewMatrix(dim, n int) *Matrix {
	return &Matrix{Dim: dim, IDs: make([]string, 0, n), WorkIDs: make([]string, 0, n),
		Titles: make([]string, 0, n), Artists: make([]string, 0, n), Vecs: make([]float32, 0, n*dim)}
}

// Append adds one song; a vector of the wrong length is ErrShape.
func (m *Matrix) Append(id, workID, title, artist string, vec []float32) error {
	if len(vec) != m.Dim {
		return ErrShape
	}
	m.IDs = append(m.IDs, id)
	m.WorkIDs = append(m.WorkIDs, workID)
	m.Titles = append(m.Titles, title)
	m.Artists = append(m.Artists, artist)
	m.Vecs = append(m.Vecs, vec...)
	return nil
}
