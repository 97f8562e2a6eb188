package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/vindex/vindex/model/train"
	"github.com/vindex/vindex/pipelines/distill"
	"github.com/vindex/vindex/runners"
)

func init() {
	register(command{name: "pooled", summary: "compute a labelled catalog's pooled features with a teacher (for distill)", run: runPooled})
	register(command{name: "distill", summary: "distil a Re-MOVE student of any size from a teacher (lsr, kd, prune)", run: runDistill})
	examples["pooled"] = `  vindex pooled --teacher move.pt --in labelled-features/ --out pooled-run/
  vindex pooled --teacher move.pt --in labelled-features/ --out pooled-run/ --patches 4 --seed 7`
	examples["distill"] = `  vindex distill --method lsr --teacher move.pt --in pooled-run/pooled --dim 256 --out remove256.safetensors
  vindex distill --method prune --teacher move.pt --in pooled-run/pooled --dim 32 --epochs 30 --out pruned32.safetensors`
}

const pooledHelp = `
Runs the teacher's feature extractor (the MOVE network up to autopooling) over the labelled songs (work_id set)
of the feature files GLOB names, in parallel Beam DoFns, and writes the 256 pooled values of every song, and of
--patches random patches of 1800 model frames per song (the reference's training length; positions follow
from --seed and the song id), to DIR/pooled, with refused songs in DIR/rejects. 'vindex distill' trains on it.`

func runPooled(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("pooled", "--teacher FILE --in GLOB --out DIR [--patches K] [flags]", pooledHelp, stderr)
	var cfg distill.PoolConfig
	fs.StringVar(&cfg.Teacher, "teacher", "", "teacher checkpoint: PyTorch .pt or .safetensors; local path or gs:// URI")
	fs.StringVar(&cfg.In, "in", "", "glob of labelled feature Parquet files")
	fs.StringVar(&cfg.Out, "out", "", "output folder")
	fs.IntVar(&cfg.Patches, "patches", 0, "random 1800-frame patches per song, besides the whole song")
	fs.Uint64Var(&cfg.Seed, "seed", 42, "seed of the patch positions")
	fs.IntVar(&cfg.Shards, "shards", 0, "number of output files (0: automatic)")
	mf := addModelFlags(fs, &cfg.Model)
	rf := addRunnerFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	mf.apply()
	cfg.Command = commandLine()
	if err := cfg.Validate(ctx); err != nil {
		return err
	}
	p, s := beam.NewPipelineWithRoot()
	distill.BuildPool(s, cfg)
	if _, err := runners.Run(ctx, p, rf.options(stderr, expectedRows(cfg.In))); err != nil {
		return fmt.Errorf("pooled: %w", err)
	}
	fmt.Fprintf(stdout, "pooled:  %s\nrejects: %s\n", distill.PooledDir(cfg.Out), distill.RejectsDir(cfg.Out))
	return nil
}

const distillHelp = `
Trains a student head on the pooled features of 'vindex pooled' (computed with the same teacher) and writes a
complete MOVEModel(D, 4, 3) checkpoint as safetensors: the teacher's convolutions, PReLUs and autopool
parameter, the new lin1.weight (D x 256) and lin_bn running statistics over the training songs. 'vindex embed
--weights STUDENT.safetensors' uses it like any checkpoint; PyTorch loads it with load_state_dict.

Methods (remove-spec.md §4; the feature extractor stays frozen, see docs/distill.md):
  lsr    latent space reconfiguration: NormalizedSoftmax over one proxy per work; Ranger, lr 0.1; rank by cosine
  kd     knowledge distillation: distance loss to the teacher + hard-mining triplet; Ranger, lr 0.001;
         rank by squared Euclidean distance (vindex evaluate --distance sqeuclidean)
  prune  iterative magnitude pruning of the teacher's lin1 rows to D (halving), triplet, SGD lr 0.1, rewinding;
         rank by squared Euclidean distance
Works (with two songs or more) are split into training and validation by --val and --seed; each epoch prints
the loss, and every 2nd epoch the validation MAP. The student kept is the one of the best validation MAP.
Training is deterministic for a seed.`

func runDistill(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("distill", "--method lsr|kd|prune --teacher FILE --in DIR --dim D --out STUDENT.safetensors [flags]", distillHelp, stderr)
	var cfg distill.TrainConfig
	method := fs.String("method", "lsr", "lsr, kd or prune")
	fs.StringVar(&cfg.Teacher, "teacher", "", "teacher checkpoint (the one the pooled features were computed with)")
	fs.StringVar(&cfg.In, "in", "", "pooled features: the DIR/pooled folder of 'vindex pooled', a file or a glob")
	fs.StringVar(&cfg.Out, "out", "", "student checkpoint to write (local path, *.safetensors)")
	dim := fs.Int("dim", 256, "embedding size D of the student")
	epochs := fs.Int("epochs", 70, "epochs (per pruning iteration)")
	batch := fs.Int("batch", 64, "songs per batch (kd, prune: batch/4 works x 4 versions)")
	lr := fs.Float64("lr", 0, "learning rate (0: the reference's: 0.1 for lsr and prune, 0.001 for kd)")
	seed := fs.Uint64("seed", 42, "seed: initialisation, batches, patches drawn, validation split")
	fs.Float64Var(&cfg.ValFrac, "val", 0.2, "fraction of works held out for validation (0: none, keep the last epoch)")
	quiet := fs.Bool("quiet", false, "no progress lines")
	mf := addModelFlags(fs, &cfg.Model)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	mf.apply()
	m, err := train.ParseMethod(*method)
	if err != nil {
		fs.Usage()
		return fmt.Errorf("distill: %w", err)
	}
	cfg.Train = distill.Defaults(m, *dim)
	cfg.Train.Epochs, cfg.Train.BatchSize, cfg.Train.Seed = *epochs, *batch, *seed
	if *lr != 0 {
		cfg.Train.LR = *lr
	}
	if !*quiet {
		cfg.Progress = stderr
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["method"] || !set["dim"] {
		fs.Usage()
		return fmt.Errorf("distill: --method and --dim are required")
	}
	sum, err := distill.Train(ctx, cfg)
	if err != nil {
		return err
	}
	val := "no validation set"
	if !math.IsNaN(sum.ValMAP) {
		val = fmt.Sprintf("validation MAP %.4f (epoch %d)", sum.ValMAP, sum.Epoch+1)
	}
	fmt.Fprintf(stdout, "distill: %s student d=%d from a d=%d teacher: %d training songs (%d works), %d validation songs (%d works), %s, trained in %.2f s\nstudent: %s (%s)\n",
		sum.Method, sum.Dim, sum.TeacherDim, sum.TrainSongs, sum.TrainWorks, sum.ValSongs, sum.ValWorks, val, sum.Seconds, sum.Out, sum.ModelID)
	return nil
}
