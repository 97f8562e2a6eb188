package importer

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/vindex/vindex/importer/hdf5"
	"github.com/vindex/vindex/importer/npy"
	"github.com/vindex/vindex/storage"
)

// maxTextBytes bounds a metadata JSON or CSV file read whole.
const maxTextBytes = 1 << 30

// openStream reads a text input (metadata JSON, CSV) at uri, any scheme.
func openStream(uri string) (io.Reader, error) {
	b, err := storage.ReadFile(context.Background(), uri, maxTextBytes)
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(b), nil
}

// readHDF5 reads dataset of the HDF5 file at uri (any scheme: ranged reads
// on gs://) as float32 values in row-major order.
func readHDF5(uri, dataset string, opt hdf5.Options) ([]float32, []int, error) {
	f, err := storage.Open(context.Background(), uri)
	if err != nil {
		return nil, nil, fmt.Errorf("importer: %w", err)
	}
	defer f.Close()
	hf, err := hdf5.Open(f, f.Size(), uri, opt)
	if err != nil {
		return nil, nil, err
	}
	d, err := hf.Dataset(dataset)
	if err != nil {
		return nil, nil, err
	}
	data, err := d.Float32()
	if err != nil {
		return nil, nil, err
	}
	return data, d.Shape, nil
}

// readNPY reads the .npy file at uri (any scheme).
func readNPY(uri string, opt npy.Options) (*npy.Array, error) {
	f, err := storage.Open(context.Background(), uri)
	if err != nil {
		return nil, fmt.Errorf("importer: %w", err)
	}
	defer f.Close()
	a, err := npy.Read(io.NewSectionReader(f, 0, f.Size()), opt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", uri, err)
	}
	return a, nil
}
