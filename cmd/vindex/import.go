package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/vindex/vindex/importer"
)

func init() {
	register(command{name: "import", summary: "import features (Da-TACOS HDF5, NumPy .npy, benchmark_crema.pt) into a dataset", run: runImport})
}

const importHelp = `
Converts features into a vindex features dataset folder (Parquet part files of songs and a manifest), in the
source's order. SOURCE is one of:

  datacos       Da-TACOS as distributed: --metadata da-tacos_benchmark_subset_metadata.json
                --features da-tacos_benchmark_subset_crema (holding {work}_crema/{perf}_crema.h5, dataset
                'crema', T x 12 at hop 512). Title, artist, year and instrumental go into the song's fields,
                the other metadata into its extra columns.
  numpy         --csv songs.csv with columns song_id,work_id[,hop][,file] and .npy files (T x 12; default
                <song_id>.npy beside the CSV, or under --dir).
  benchmark-pt  the reference code's benchmark_crema.pt (--in FILE): {'data': [1 x 23 x T], 'labels': [...]};
                song ids are <label>-<index>.

A bad song (unreadable file, wrong shape, values outside [0, 1]) stops the import with an error naming the file;
no manifest is written then.`

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("import", "SOURCE (datacos|numpy|benchmark-pt) --out DIR [flags]", importHelp, stderr)
	out := fs.String("out", "", "output folder (local; must not hold a dataset)")
	metadata := fs.String("metadata", "", "datacos: the metadata JSON")
	features := fs.String("features", "", "datacos: the folder of {work}_crema/{perf}_crema.h5 files")
	dataset := fs.String("dataset", "crema", "datacos: the HDF5 dataset to read")
	csvPath := fs.String("csv", "", "numpy: the CSV listing song_id,work_id[,hop][,file]")
	dir := fs.String("dir", "", "numpy: folder of the .npy files (default: the CSV's folder)")
	hop := fs.Int("hop", 0, "numpy: hop of rows without a hop column (0: 4096)")
	in := fs.String("in", "", "benchmark-pt: the benchmark_crema.pt file")
	perFile := fs.Int("songs-per-file", 0, "songs per Parquet file (0: 1000)")
	rowGroup := fs.Int64("row-group-rows", 0, "songs per row group (0: the schema default, 256)")
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		fs.Usage()
		return usageErr(fmt.Errorf("import: SOURCE is required (datacos, numpy or benchmark-pt)"))
	}
	source := args[0]
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *out == "" {
		fs.Usage()
		return usageErr(fmt.Errorf("import: --out is required"))
	}
	opt := importer.DatasetOptions{SongsPerFile: *perFile, RowGroupRows: *rowGroup, Command: "vindex import " + source}
	var sum importer.Summary
	var err error
	switch source {
	case "datacos":
		sum, err = importer.ImportDaTacos(importer.DaTacosConfig{Metadata: *metadata, Features: *features, Dataset: *dataset, Out: *out, Options: opt})
	case "numpy":
		sum, err = importer.ImportNumpy(importer.NumpyConfig{CSV: *csvPath, Dir: *dir, Hop: *hop, Out: *out, Options: opt})
	case "benchmark-pt":
		sum, err = importer.ImportBenchmarkPT(importer.BenchmarkPTConfig{Path: *in, Out: *out, Options: opt})
	default:
		fs.Usage()
		return fmt.Errorf("import: unknown SOURCE %q (want datacos, numpy or benchmark-pt)", source)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "import: wrote %d songs (%d works, %d frames) in %d files to %s\n",
		sum.Songs, sum.Works, sum.Frames, len(sum.Manifest.Files), *out)
	return nil
}
