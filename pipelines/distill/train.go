package distill

import (
	"context"
	"errors"

	"github.com/vindex/vindex/model/train"
	"github.com/vindex/vindex/transforms"
)

// TrainConfig configures the training step: transforms.DistillConfig (the
// teacher, the pooled features, the student's path, train.Config, the
// validation fraction, a progress writer).
type TrainConfig = transforms.DistillConfig

// Summary describes a finished distillation.
type Summary = transforms.DistillSummary

// Train distils a student from cfg.Teacher on the pooled features cfg.In
// (written by BuildPool with the same teacher) in this process and writes it
// to cfg.Out. It is deterministic for cfg.Train.Seed.
func Train(ctx context.Context, cfg TrainConfig) (*Summary, error) {
	if cfg.Train.Method == "" {
		return nil, errors.New("distill: no method (lsr, kd or prune)")
	}
	return transforms.Distill(ctx, cfg)
}

// Defaults returns the reference's training defaults for a method and a
// student dimension (train.Defaults).
func Defaults(m train.Method, dim int) train.Config { return train.Defaults(m, dim) }
