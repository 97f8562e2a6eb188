package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/vindex/vindex/model/metrics"
)

// Method is a distillation method of remove-spec.md §4.
type Method string

// The methods.
const (
	// LSR is latent space reconfiguration with NormalizedSoftmax (§4.3-4.4):
	// a new lin1 (In → D) and one proxy per work, learned with Ranger.
	LSR Method = "lsr"
	// KD is knowledge distillation with the distance loss plus the
	// hard-mining triplet loss on the student (§4.5), learned with Ranger.
	KD Method = "kd"
	// Prune is iterative magnitude pruning of the teacher's lin1 rows down
	// to D, retraining with the triplet loss and rewinding between steps
	// (§4.6), with SGD.
	Prune Method = "prune"
)

// ParseMethod returns the Method named s.
func ParseMethod(s string) (Method, error) {
	switch m := Method(s); m {
	case LSR, KD, Prune:
		return m, nil
	}
	return "", fmt.Errorf("train: unknown method %q (want lsr, kd or prune)", s)
}

// Distance returns the distance a student of method m is ranked with:
// cosine for NormalizedSoftmax (LSR), squared Euclidean for triplet-trained
// students (KD, pruning), as the reference's evaluation does (§3.1).
func (m Method) Distance() metrics.Distance {
	if m == LSR {
		return metrics.Cosine
	}
	return metrics.SqEuclidean
}

// Defaults returns the reference's defaults for m (remove-spec.md §4.2):
// 70 epochs, batches of 64, learning rate 0.1 (LSR, pruning) or 0.001 (KD),
// milestones at epochs 50 and 60 (scaled to Epochs), γ 0.1, margin 1,
// temperature 0.05, validation every 2nd epoch.
func Defaults(m Method, dim int) Config {
	c := Config{Method: m, Dim: dim, Epochs: 70, BatchSize: 64, LR: 0.1, Gamma: 0.1, Margin: 1,
		Temperature: 0.05, ValidateEvery: 2, Seed: 42}
	if m == KD {
		c.LR = 0.001
	}
	return c
}

// Config configures a distillation.
type Config struct {
	Method    Method
	Dim       int     // D, the student's embedding size
	Epochs    int     // per training (each pruning iteration trains Epochs epochs)
	BatchSize int     // songs per batch (the clique sampler takes BatchSize/4 works × 4)
	LR        float64 // learning rate of the head (and proxies)
	Seed      uint64
	// Milestones are the epochs at which the learning rate is multiplied by
	// Gamma (MultiStepLR); nil: 50/70 and 60/70 of Epochs, rounded.
	Milestones    []int
	Gamma         float64
	Margin        float64 // triplet margin
	Temperature   float64 // NormalizedSoftmax temperature
	ValidateEvery int     // validate every this many epochs, and after the last
	// Progress, if set, is called after every epoch.
	Progress func(Progress)
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if _, err := ParseMethod(string(c.Method)); err != nil {
		return err
	}
	switch {
	case c.Dim < 1:
		return fmt.Errorf("train: dimension %d: want ≥ 1", c.Dim)
	case c.Epochs < 1:
		return fmt.Errorf("train: %d epochs: want ≥ 1", c.Epochs)
	case c.BatchSize < 8:
		return fmt.Errorf("train: batch size %d: want ≥ 8 (two works of four songs)", c.BatchSize)
	case !(c.LR > 0):
		return fmt.Errorf("train: learning rate %v: want > 0", c.LR)
	case !(c.Gamma > 0):
		return fmt.Errorf("train: gamma %v: want > 0", c.Gamma)
	case c.ValidateEvery < 1:
		return fmt.Errorf("train: validate every %d epochs: want ≥ 1", c.ValidateEvery)
	case c.Method == LSR && !(c.Temperature > 0):
		return fmt.Errorf("train: temperature %v: want > 0", c.Temperature)
	}
	return nil
}

func (c *Config) lr(epoch int) float64 {
	ms := c.Milestones
	if ms == nil {
		ms = []int{int(math.Round(float64(c.Epochs) * 50 / 70)), int(math.Round(float64(c.Epochs) * 60 / 70))}
	}
	lr := c.LR
	for _, m := range ms {
		if epoch >= m {
			lr *= c.Gamma
		}
	}
	return lr
}

// Progress reports one epoch.
type Progress struct {
	Iteration int     // pruning iteration (0 for LSR and KD)
	Rows      int     // live lin1 rows during this training
	Epoch     int     // 0-based
	LR        float64 // learning rate of the epoch
	Loss      float64 // mean training loss over the epoch's batches
	ValMAP    float64 // validation MAP, NaN when not validated this epoch
}

// Teacher is the head of the teacher checkpoint: lin1.weight (D×In) and
// lin_bn's running statistics.
type Teacher struct {
	D         int
	W         []float32
	Mean, Var []float32
}

// Student is a distilled head: lin1.weight (D×In) and the lin_bn running
// statistics over the training songs' full-length pooled features.
type Student struct {
	D         int
	W         []float32
	Mean, Var []float32
	// ValMAP is the validation MAP of the kept weights (NaN without a
	// validation set); Epoch the epoch they come from.
	ValMAP float64
	Epoch  int
	// Kept lists, for pruning, the teacher's lin1 rows the student keeps.
	Kept    []int
	History []Progress
}

// ErrNoPairs: the training set has no work with two songs, so no triplet or
// clique batch can be formed.
var ErrNoPairs = errors.New("train: no work has two songs")

// Train distils a student head of cfg.Dim from the teacher's on the pooled
// features of trainSet (validated on valSet, which may be nil or empty). It
// is deterministic for cfg.Seed.
func Train(cfg Config, t *Teacher, trainSet, valSet *Data) (*Student, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := trainSet.Validate(); err != nil {
		return nil, err
	}
	if t == nil || t.D < 1 || len(t.W) != t.D*trainSet.In || len(t.Mean) != t.D || len(t.Var) != t.D {
		return nil, errors.New("train: teacher head missing or not D×In")
	}
	if valSet != nil && len(valSet.Songs) == 0 {
		valSet = nil
	}
	if valSet != nil {
		if err := valSet.Validate(); err != nil {
			return nil, err
		}
	}
	if cfg.Method == Prune && cfg.Dim > t.D {
		return nil, fmt.Errorf("train: pruning keeps rows of the teacher's lin1: dimension %d exceeds the teacher's %d", cfg.Dim, t.D)
	}
	r := &run{cfg: cfg, t: t, tr: trainSet, val: valSet,
		rng: rand.New(rand.NewPCG(cfg.Seed, 0x64697374696c)), // "distil"
	}
	r.trainFull, _ = trainSet.fullRows()
	if len(r.trainFull) == 0 {
		return nil, errors.New("train: no training song has full-length features (for the BatchNorm statistics)")
	}
	if valSet != nil {
		r.valFull, r.valWorks = valSet.fullRows()
	}
	switch cfg.Method {
	case LSR:
		return r.lsr()
	case KD:
		return r.kd()
	default:
		return r.prune()
	}
}

type run struct {
	cfg       Config
	t         *Teacher
	tr, val   *Data
	rng       *rand.Rand
	trainFull []float32
	valFull   []float32
	valWorks  []int32
	history   []Progress
	loss      Losses
	xb        []float32
	labels    []int32
}

// batch gathers the features and labels of the songs of idx (a random patch
// each, when the songs have patches).
func (r *run) batch(idx []int) ([]float32, []int32) {
	in := r.tr.In
	r.xb = grow(r.xb, len(idx)*in)
	r.labels = r.labels[:0]
	for k, s := range idx {
		row := r.tr.row(s, r.rng)
		copy(r.xb[k*in:(k+1)*in], r.tr.X[int(row)*in:int(row+1)*in])
		r.labels = append(r.labels, r.tr.Songs[s].Work)
	}
	return r.xb, r.labels
}

// initLinear returns a d×in matrix drawn as PyTorch's Linear default
// (uniform in ±1/sqrt(in)).
func (r *run) initLinear(d, in int) []float32 {
	w := make([]float32, d*in)
	bound := 1 / math.Sqrt(float64(in))
	for i := range w {
		w[i] = float32((2*r.rng.Float64() - 1) * bound)
	}
	return w
}

// student finishes a head: BatchNorm statistics over the training songs'
// full-length features.
func (r *run) student(w []float32, d int, best *keeper) *Student {
	if best.w != nil {
		w = best.w
	}
	in := r.tr.In
	mean, variance := Stats(w, in, d, r.trainFull, len(r.trainFull)/in)
	return &Student{D: d, W: w, Mean: mean, Var: variance, ValMAP: best.score, Epoch: best.epoch, History: r.history}
}

// keeper keeps the weights of the best validation MAP, saving only when
// MAP ≥ best + 1e-3, as the reference's trainer does (§4.1).
type keeper struct {
	w      []float32
	score  float64
	epoch  int
	scored bool
}

// validate returns the validation MAP of head w (d×In) in eval mode, NaN
// without a validation set.
func (r *run) validate(w []float32, d int) (float64, error) {
	if r.val == nil || len(r.valFull) == 0 {
		return math.NaN(), nil
	}
	in := r.tr.In
	mean, variance := Stats(w, in, d, r.trainFull, len(r.trainFull)/in)
	n := len(r.valFull) / in
	emb := make([]float32, n*d)
	EvalEmbed(emb, w, in, d, r.valFull, n, mean, variance)
	return mapOf(emb, n, d, r.valWorks, r.cfg.Method.Distance())
}

// epochEnd validates when due, keeps the best weights and reports progress.
func (r *run) epochEnd(p Progress, w []float32, d int, best *keeper) error {
	p.ValMAP = math.NaN()
	last := p.Epoch == r.cfg.Epochs-1
	if (p.Epoch+1)%r.cfg.ValidateEvery == 0 || last {
		m, err := r.validate(w, d)
		if err != nil {
			return err
		}
		p.ValMAP = m
		if !math.IsNaN(m) && (!best.scored || m >= best.score+1e-3) {
			best.w, best.score, best.epoch, best.scored = slices.Clone(w), m, p.Epoch, true
		}
	}
	if !best.scored {
		best.score, best.epoch = math.NaN(), p.Epoch
	}
	r.history = append(r.history, p)
	if r.cfg.Progress != nil {
		r.cfg.Progress(p)
	}
	return nil
}
