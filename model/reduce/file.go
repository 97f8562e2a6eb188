package reduce

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
)

// FormatVersion is the version string in every reducer file's header.
const FormatVersion = "vindex.reducer/v1"

// Magic starts every reducer file.
const Magic = "VXREDUCE"

// maxHeader bounds the JSON header of a reducer file.
const maxHeader = 16 << 20

// header is the JSON header of a reducer file.
type header struct {
	Format                 string    `json:"format"`
	Method                 Method    `json:"method"`
	InDim                  int       `json:"in_dim"`
	OutDim                 int       `json:"out_dim"`
	Model                  string    `json:"model"`
	Seed                   uint64    `json:"seed"`
	FitCount               int64     `json:"fit_count"`
	Whiten                 bool      `json:"whiten"`
	HasMean                bool      `json:"has_mean"`
	ExplainedVariance      []float64 `json:"explained_variance,omitempty"`
	ExplainedVarianceRatio []float64 `json:"explained_variance_ratio,omitempty"`
	Iterations             int       `json:"iterations,omitempty"`
	Converged              bool      `json:"converged,omitempty"`
}

// MarshalBinary returns the reducer file encoding of r.
func (r *Reducer) MarshalBinary() ([]byte, error) {
	in := r.info
	h, err := json.Marshal(header{
		Format: FormatVersion, Method: in.Method, InDim: in.InDim, OutDim: in.OutDim, Model: in.Model,
		Seed: in.Seed, FitCount: in.FitCount, Whiten: in.Whiten, HasMean: r.mean != nil,
		ExplainedVariance: in.ExplainedVariance, ExplainedVarianceRatio: in.ExplainedVarianceRatio,
		Iterations: in.Iterations, Converged: in.Converged,
	})
	if err != nil {
		return nil, fmt.Errorf("reduce: encoding header: %w", err)
	}
	n := len(Magic) + 4 + len(h) + 8*(len(r.mean)+len(r.matrix))
	b := make([]byte, 0, n)
	b = append(b, Magic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(h)))
	b = append(b, h...)
	for _, v := range r.mean {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	for _, v := range r.matrix {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b, nil
}

// Unmarshal decodes a reducer file's bytes. Errors wrap ErrFormat (or
// ErrNotFinite, ErrDim).
func Unmarshal(b []byte) (*Reducer, error) {
	if len(b) < len(Magic)+4 || string(b[:len(Magic)]) != Magic {
		return nil, fmt.Errorf("%w: no %q magic", ErrFormat, Magic)
	}
	hl := binary.LittleEndian.Uint32(b[len(Magic):])
	rest := b[len(Magic)+4:]
	if hl > maxHeader || int64(hl) > int64(len(rest)) {
		return nil, fmt.Errorf("%w: header length %d exceeds the %d bytes present (limit %d)", ErrFormat, hl, len(rest), maxHeader)
	}
	var h header
	dec := json.NewDecoder(bytes.NewReader(rest[:hl]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the header", ErrFormat)
	}
	if h.Format != FormatVersion {
		return nil, fmt.Errorf("%w: format %q, this vindex reads %q", ErrFormat, h.Format, FormatVersion)
	}
	info := Info{
		Method: h.Method, InDim: h.InDim, OutDim: h.OutDim, Model: h.Model, Seed: h.Seed, FitCount: h.FitCount,
		Whiten: h.Whiten, ExplainedVariance: h.ExplainedVariance, ExplainedVarianceRatio: h.ExplainedVarianceRatio,
		Iterations: h.Iterations, Converged: h.Converged,
	}
	if err := info.validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	payload := rest[hl:]
	want := int64(info.InDim) * int64(info.OutDim)
	if h.HasMean {
		want += int64(info.InDim)
	}
	if int64(len(payload)) != 8*want {
		return nil, fmt.Errorf("%w: payload has %d bytes, header declares %d float64 values", ErrFormat, len(payload), want)
	}
	vals := make([]float64, want)
	for i := range vals {
		vals[i] = math.Float64frombits(binary.LittleEndian.Uint64(payload[8*i:]))
	}
	var mean []float64
	if h.HasMean {
		mean, vals = vals[:info.InDim:info.InDim], vals[info.InDim:]
	}
	r, err := New(info, mean, vals)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	// r.id hashes the canonical encoding, so equal reducers have equal ids
	// even if a file's header was written differently.
	return r, nil
}

// ReadFile reads and decodes a reducer file.
func ReadFile(path string) (*Reducer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reduce: %w", err)
	}
	r, err := Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return r, nil
}

// idOf returns the id of a reducer with the given info and file bytes.
func idOf(info Info, b []byte) string {
	sum := sha256.Sum256(b)
	return fmt.Sprintf("%s%d-%s", info.Method, info.OutDim, hex.EncodeToString(sum[:6]))
}
