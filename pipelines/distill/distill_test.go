package distill

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/parquet-go/parquet-go"

	"github.com/vindex/vindex/importer/synth"
	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/model/train"
	"github.com/vindex/vindex/runners"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/transforms"
)

func TestMain(m *testing.M) { ptest.MainWithDefault(m, "prism") }

// The pooled-features pipeline on prism writes, for each labelled song, the
// vector Net.Pooled computes for the whole song and for a padded patch,
// rejects unlabelled and short songs; training on its output writes a
// student that vindex loads, deterministically.
func TestPoolThenTrain(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "features")
	if err := os.MkdirAll(in, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := synth.Small()
	cfg.Works, cfg.Versions, cfg.Noise, cfg.Seed = 4, 3, 0, 9
	var songs []schema.Song
	for i := range cfg.Total() {
		songs = append(songs, synth.Song(cfg, i))
	}
	unlabelled := synth.Song(cfg, 0)
	unlabelled.SongID, unlabelled.WorkID = "x-nowork", ""
	short := synth.Song(cfg, 1)
	short.SongID, short.Crema = "x-short", short.Crema[:12*100]
	songs = append(songs, unlabelled, short)
	if err := schema.WriteSongsFile(filepath.Join(in, "songs.parquet"), songs, schema.WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	out := filepath.Join(dir, "out")
	pc := PoolConfig{Teacher: teacherFile, In: filepath.Join(in, "*.parquet"), Out: out, Patches: 2, Seed: 3, Shards: 2, Command: "test"}
	if err := pc.Validate(ctx); err != nil {
		t.Fatal(err)
	}
	p, s := beam.NewPipelineWithRoot()
	BuildPool(s, pc)
	rc, err := runners.RowCoders(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rc {
		t.Errorf("schema Row coder in the pooled-features pipeline: %s", r)
	}
	res, err := runners.Run(ctx, p, runners.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Counter("vindex." + transforms.SongsPooled); got != 12 {
		t.Errorf("songs_pooled = %d, want 12", got)
	}
	rows, err := transforms.LoadPooled(ctx, PooledDir(out))
	if err != nil {
		t.Fatal(err)
	}
	// Synthetic songs here are shorter than a patch: one padded patch each.
	if len(rows) != 24 {
		t.Fatalf("%d pooled rows, want 24 (12 songs × whole song + one padded patch)", len(rows))
	}
	w, err := transforms.LoadWeights(ctx, teacherFile, model.Config{})
	if err != nil {
		t.Fatal(err)
	}
	net := w.NewNet()
	byID := map[string]schema.Song{}
	for _, s := range songs {
		byID[s.SongID] = s
	}
	for _, r := range rows {
		s := byID[r.SongID]
		want := make([]float32, model.PooledDim)
		x := s.Crema
		if r.Patch == 1 {
			x = make([]float32, 12*transforms.TrainingPatchFrames) // the song, zero-padded to 1800 frames
			copy(x, s.Crema)
		}
		if err := net.Pooled(want, x, model.ModelHop); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(r.Pooled, want) || r.WorkID != s.WorkID || r.Model != w.ExtractorID() || r.Start != 0 {
			t.Fatalf("%s patch %d: row differs from Net.Pooled (work %q, model %q, start %d)", r.SongID, r.Patch, r.WorkID, r.Model, r.Start)
		}
	}
	files, err := schema.ListDataset(filepath.Join(RejectsDir(out), "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	var rejects []string
	for _, f := range files {
		rs, err := parquet.ReadFile[schema.Reject](f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			rejects = append(rejects, r.SongID+": "+r.Reason)
		}
	}
	slices.Sort(rejects)
	if len(rejects) != 2 || !strings.HasPrefix(rejects[0], "x-nowork: no work_id") || !strings.Contains(rejects[1], "short") {
		t.Errorf("rejects %q, want x-nowork (no work_id) and x-short (too short)", rejects)
	}

	// Train twice with one seed: the same student, byte for byte.
	var students [][]byte
	for i := range 2 {
		tc := TrainConfig{Teacher: teacherFile, In: PooledDir(out), Out: filepath.Join(dir, "student"+string(rune('a'+i))+".safetensors"),
			Train: train.Defaults(train.KD, 8), ValFrac: 0.25}
		tc.Train.Epochs, tc.Train.BatchSize = 4, 8
		var progress bytes.Buffer
		tc.Progress = &progress
		sum, err := Train(ctx, tc)
		if err != nil {
			t.Fatal(err)
		}
		if sum.TrainWorks != 3 || sum.ValWorks != 1 || sum.Rows != 24 || math.IsNaN(sum.ValMAP) {
			t.Errorf("summary %+v: want 3 training works, 1 validation work, 24 rows, a validation MAP", sum)
		}
		if !strings.Contains(progress.String(), "validation MAP") {
			t.Errorf("progress %q shows no validation MAP", progress.String())
		}
		b, err := os.ReadFile(tc.Out)
		if err != nil {
			t.Fatal(err)
		}
		students = append(students, b)
		sd, err := model.LoadCheckpoint(tc.Out)
		if err != nil {
			t.Fatal(err)
		}
		sw, err := model.NewWeights(sd, model.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if sw.Dim() != 8 || sw.ExtractorID() != w.ExtractorID() || sw.ID() != sum.ModelID {
			t.Errorf("student: d %d, extractor %s (teacher's %s), id %s (summary %s)", sw.Dim(), sw.ExtractorID(), w.ExtractorID(), sw.ID(), sum.ModelID)
		}
	}
	if !bytes.Equal(students[0], students[1]) {
		t.Error("two trainings with one seed wrote different students")
	}
}
