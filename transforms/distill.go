package transforms

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/model/safetensors"
	"github.com/vindex/vindex/model/statedict"
	"github.com/vindex/vindex/model/train"
	"github.com/vindex/vindex/schema"
	"github.com/vindex/vindex/storage"
)

// DistillConfig configures the training step of a distillation.
type DistillConfig struct {
	Teacher string       // teacher checkpoint (the one the pooled features come from)
	Model   model.Config // variant choices the teacher's shapes leave open
	In      string       // pooled-features dataset (folder, file or glob)
	Out     string       // student checkpoint, a .safetensors path or URI
	Train   train.Config // method, dimension, epochs, batch size, learning rate, seed
	ValFrac float64      // fraction of works (with ≥ 2 songs) held out for validation
	// Progress, if set, receives one line per epoch.
	Progress io.Writer
}

// Validate checks the configuration (not the files).
func (c *DistillConfig) Validate() error {
	if c.Teacher == "" || c.In == "" || c.Out == "" {
		return errors.New("transforms: distill: needs --teacher FILE, --in (pooled features) and --out STUDENT.safetensors")
	}
	if !strings.HasSuffix(c.Out, ".safetensors") {
		return fmt.Errorf("transforms: distill: output %s: the student is written as safetensors (name it *.safetensors)", c.Out)
	}
	if !(c.ValFrac >= 0 && c.ValFrac < 1) {
		return fmt.Errorf("transforms: distill: validation fraction %v: want [0, 1)", c.ValFrac)
	}
	return c.Train.Validate()
}

// DistillSummary describes a finished distillation.
type DistillSummary struct {
	Method               train.Method
	Dim, TeacherDim      int
	TrainSongs, ValSongs int
	TrainWorks, ValWorks int
	Rows                 int     // pooled rows read (whole songs and patches)
	ValMAP               float64 // of the kept student; NaN without validation
	Epoch                int     // the kept student's epoch
	Seconds              float64 // training time (not reading)
	ModelID              string  // the student's model id, as vindex embed records it
	Out                  string
}

// Distill distils a student from the teacher on the pooled features, in this
// process (model/train), and publishes it to cfg.Out (storage.WriteFile:
// a temporary name, then a rename). The pooled features of a million songs
// are about 1 GB; training reads only them.
func Distill(ctx context.Context, cfg DistillConfig) (*DistillSummary, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sd, err := ReadStateDict(ctx, cfg.Teacher)
	if err != nil {
		return nil, fmt.Errorf("transforms: distill: %w", err)
	}
	w, err := model.NewWeights(sd, cfg.Model)
	if err != nil {
		return nil, fmt.Errorf("transforms: distill: teacher %s: %w", cfg.Teacher, err)
	}
	if v := w.Variant(); v.SumMethod != 4 || v.FinalActivation != 3 {
		return nil, fmt.Errorf("transforms: distill: teacher %s is MOVEModel %s; distillation needs sum_method 4 and final_activation 3 (lin_bn), as every Re-MOVE trainer's", cfg.Teacher, v)
	}
	rows, err := LoadPooled(ctx, cfg.In)
	if err != nil {
		return nil, fmt.Errorf("transforms: distill: %w", err)
	}
	data, err := dataOf(rows, w.ExtractorID())
	if err != nil {
		return nil, err
	}
	nRows := len(rows)
	rows = nil // data holds the vectors; let the rows go (1 GB for a million songs)
	lin1, _, _, _ := w.Head()
	t := &train.Teacher{D: w.Dim(), W: lin1, Mean: sd.Tensors["lin_bn.running_mean"].Data, Var: sd.Tensors["lin_bn.running_var"].Data}
	trainSet, valSet := train.SplitByWork(data, cfg.ValFrac, cfg.Train.Seed)
	tc := cfg.Train
	if cfg.Progress != nil {
		tc.Progress = func(p train.Progress) { fmt.Fprintln(cfg.Progress, progressLine(tc.Method, p)) }
	}
	start := time.Now()
	st, err := train.Train(tc, t, trainSet, valSet)
	if err != nil {
		return nil, fmt.Errorf("transforms: distill: %w", err)
	}
	secs := time.Since(start).Seconds()
	student := StudentStateDict(sd, st)
	id, err := WriteStudent(ctx, cfg.Out, student, map[string]string{
		"vindex.distill.method": string(tc.Method), "vindex.distill.teacher": w.ID(),
		"vindex.distill.seed": fmt.Sprint(tc.Seed), "vindex.distill.val_map": fmt.Sprint(st.ValMAP)})
	if err != nil {
		return nil, err
	}
	return &DistillSummary{Method: tc.Method, Dim: st.D, TeacherDim: w.Dim(), TrainSongs: len(trainSet.Songs),
		ValSongs: len(valSet.Songs), TrainWorks: trainSet.Works, ValWorks: valSet.Works, Rows: nRows,
		ValMAP: st.ValMAP, Epoch: st.Epoch, Seconds: secs, ModelID: id, Out: cfg.Out}, nil
}

func progressLine(m train.Method, p train.Progress) string {
	s := fmt.Sprintf("distill %s: ", m)
	if m == train.Prune {
		s += fmt.Sprintf("iteration %d (%d rows) ", p.Iteration, p.Rows)
	}
	s += fmt.Sprintf("epoch %3d  lr %.3g  loss %.5f", p.Epoch+1, p.LR, p.Loss)
	if !math.IsNaN(p.ValMAP) {
		s += fmt.Sprintf("  validation MAP %.4f", p.ValMAP)
	}
	return s
}

// dataOf groups pooled rows by song (whole song: patch 0; patches 1..K) and
// numbers works in song_id order, so the result does not depend on the order
// of files or shards. Rows from another extractor than model are an error.
func dataOf(rows []schema.Pooled, modelID string) (*train.Data, error) {
	if len(rows) == 0 {
		return nil, errors.New("transforms: distill: no pooled features")
	}
	slices.SortFunc(rows, func(a, b schema.Pooled) int {
		if c := strings.Compare(a.SongID, b.SongID); c != 0 {
			return c
		}
		return int(a.Patch) - int(b.Patch)
	})
	in := len(rows[0].Pooled)
	d := &train.Data{In: in, X: make([]float32, 0, len(rows)*in)}
	works := map[string]int32{}
	for i := range rows {
		r := &rows[i]
		if r.Model != modelID {
			return nil, fmt.Errorf("transforms: distill: song %s was pooled by %s, not by the teacher's extractor %s: pool again with this teacher", r.SongID, r.Model, modelID)
		}
		if len(r.Pooled) != in {
			return nil, fmt.Errorf("transforms: distill: song %s has %d pooled values, others %d", r.SongID, len(r.Pooled), in)
		}
		if i > 0 && rows[i-1].SongID == r.SongID && rows[i-1].Patch == r.Patch {
			return nil, fmt.Errorf("transforms: distill: song %s patch %d appears twice", r.SongID, r.Patch)
		}
		row := int32(len(d.X) / in)
		d.X = append(d.X, r.Pooled...)
		if i == 0 || rows[i-1].SongID != r.SongID {
			w, ok := works[r.WorkID]
			if !ok {
				w = int32(len(works))
				works[r.WorkID] = w
			}
			d.Songs = append(d.Songs, train.Song{Work: w, Full: -1})
			d.Names = append(d.Names, r.SongID)
		}
		s := &d.Songs[len(d.Songs)-1]
		if r.Patch == 0 {
			s.Full = row
		} else {
			s.Patches = append(s.Patches, row)
		}
	}
	d.Works = len(works)
	return d, d.Validate()
}

// StudentStateDict returns the student checkpoint: the teacher's keys up to
// conv5 (autopool_p, prelu1-5, conv1-5) shared, then the student's lin_bn
// running statistics (num_batches_tracked 0) and lin1.weight, in
// MOVEModel(D, 4, 3)'s saved order (remove-spec.md §1.4).
func StudentStateDict(teacher *statedict.Dict, st *train.Student) *statedict.Dict {
	out := &statedict.Dict{}
	for _, k := range teacher.Keys {
		if strings.HasPrefix(k, "lin1.") || strings.HasPrefix(k, "lin_bn.") {
			continue
		}
		out.Add(k, teacher.Tensors[k])
	}
	f32 := func(shape []int, v []float32) *statedict.Tensor {
		return &statedict.Tensor{Shape: shape, DType: "F32", Data: v}
	}
	out.Add("lin_bn.running_mean", f32([]int{st.D}, st.Mean))
	out.Add("lin_bn.running_var", f32([]int{st.D}, st.Var))
	out.Add("lin_bn.num_batches_tracked", &statedict.Tensor{Shape: []int{}, DType: "I64", Ints: []int64{0}})
	out.Add("lin1.weight", f32([]int{st.D, len(st.W) / st.D}, st.W))
	return out
}

// WriteStudent checks that sd is a MOVEModel vindex can run, publishes it
// as safetensors at uri (storage.WriteFile: local or any scheme Beam's
// filesystem layer registers) and returns its model id.
func WriteStudent(ctx context.Context, uri string, sd *statedict.Dict, meta map[string]string) (string, error) {
	w, err := model.NewWeights(sd, model.Config{})
	if err != nil {
		return "", fmt.Errorf("transforms: the student is not a valid MOVEModel: %w", err)
	}
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, sd, meta); err != nil {
		return "", fmt.Errorf("transforms: %w", err)
	}
	if err := storage.WriteFile(ctx, uri, buf.Bytes()); err != nil {
		return "", fmt.Errorf("transforms: writing the student: %w", err)
	}
	return w.ID(), nil
}
