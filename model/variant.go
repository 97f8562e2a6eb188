package model

import (
	"errors"
	"fmt"
	"slices"

	"github.com/vindex/vindex/model/statedict"
)

// Shape facts of MOVEModel (remove-spec.md §1.1).
const (
	// MinFrames is the shortest input, in frames at the model rate, the
	// network accepts: its receptive field 180+4+80+4+52.
	MinFrames = 320
	// ModelHop is the hop (samples at 44.1 kHz) of the model's frame rate.
	ModelHop = 4096
	// PitchClasses is the number of chroma bins per frame.
	PitchClasses = 12

	channels = 256 // conv1..conv4 output channels; the summary width
	k1       = 180 // conv1 kernel length along time
	k1Len    = PitchClasses * k1
	kTime    = 5 // conv2..conv5 kernel length along time
	dil3     = 20
	dil5     = 13
	bnEps    = 1e-5
)

// Errors returned by this package. They are wrapped with context (key,
// frame count, ...); test with errors.Is.
var (
	// ErrTooShort: the song has fewer than MinFrames frames at the model
	// rate and Config.PadShort is off. PyTorch raises on such input.
	ErrTooShort = errors.New("model: song too short for the network")
	// ErrHop: the hop does not divide ModelHop.
	ErrHop = errors.New("model: unsupported hop")
	// ErrInput: the crema slice is malformed (length not a multiple of 12,
	// empty, or holding NaN/Inf) or dst has the wrong length.
	ErrInput = errors.New("model: bad input")
	// ErrCheckpoint: the state_dict is not a MOVEModel this package can run
	// (missing or unexpected key, wrong shape or dtype).
	ErrCheckpoint = errors.New("model: checkpoint does not match MOVEModel")
	// ErrConfig: the Config is invalid or does not fit the checkpoint.
	ErrConfig = errors.New("model: bad config")
)

// Config chooses what a checkpoint's shapes cannot tell. The zero value is
// right for every released MOVE / Re-MOVE checkpoint (sum_method 4,
// final_activation 3).
//
// SumMethod and FinalActivation are nil to infer them; set them (with Int)
// to force a value:
//   - conv5 with 512 output channels: sum_method 3 or 4 (inferred: 4, the
//     constructor default and the only one any released trainer uses);
//   - conv5 with 256 output channels: sum_method 0, 1 or 2; there is no
//     principled default, so SumMethod must be set (else ErrConfig);
//   - lin_bn present: final_activation 3;
//   - lin_bn absent (lin1 has a bias): final_activation 0, 1 or 2; must be
//     set (else ErrConfig).
//
// A value that contradicts the shapes (e.g. SumMethod 1 with a 512-channel
// conv5) is an error.
type Config struct {
	SumMethod       *int // reference sum_method 0..4; nil infers
	FinalActivation *int // reference final_activation 0..3; nil infers
	// PadShort zero-pads songs shorter than MinFrames (at the model rate) at
	// the end to MinFrames, as training pads its crops. Off by default: the
	// reference evaluation never pads (it crashes). A deviation when on.
	PadShort bool
}

// Int returns a pointer to v, for Config fields.
func Int(v int) *int { return &v }

// Validate checks the ranges of the explicit fields.
func (c Config) Validate() error {
	if c.SumMethod != nil && (*c.SumMethod < 0 || *c.SumMethod > 4) {
		return fmt.Errorf("%w: SumMethod %d not in 0..4", ErrConfig, *c.SumMethod)
	}
	if c.FinalActivation != nil && (*c.FinalActivation < 0 || *c.FinalActivation > 3) {
		return fmt.Errorf("%w: FinalActivation %d not in 0..3", ErrConfig, *c.FinalActivation)
	}
	return nil
}

// Variant identifies a MOVEModel configuration: MOVEModel(emb_size=Dim,
// sum_method=SumMethod, final_activation=FinalActivation).
type Variant struct {
	SumMethod, FinalActivation, Dim int
}

// String returns e.g. "sum4-fa3-d256".
func (v Variant) String() string {
	return fmt.Sprintf("sum%d-fa%d-d%d", v.SumMethod, v.FinalActivation, v.Dim)
}

// conv5Channels is conv5's output width: 512 for sum_method 3 and 4.
func (v Variant) conv5Channels() int {
	if v.SumMethod >= 3 {
		return 2 * channels
	}
	return channels
}

type keySpec struct {
	key   string
	shape []int
	ints  bool
}

// expectedKeys is the state_dict of MOVEModel for v, in saved order
// (remove-spec.md §1.4).
func expectedKeys(v Variant) []keySpec {
	c5 := v.conv5Channels()
	ks := []keySpec{{key: "autopool_p", shape: []int{}}}
	for i := 1; i <= 5; i++ {
		ks = append(ks, keySpec{key: fmt.Sprintf("prelu%d.weight", i), shape: []int{1}})
	}
	ks = append(ks,
		keySpec{key: "conv1.weight", shape: []int{channels, 1, PitchClasses, k1}},
		keySpec{key: "conv1.bias", shape: []int{channels}},
	)
	for i := 2; i <= 4; i++ {
		ks = append(ks,
			keySpec{key: fmt.Sprintf("conv%d.weight", i), shape: []int{channels, channels, 1, kTime}},
			keySpec{key: fmt.Sprintf("conv%d.bias", i), shape: []int{channels}},
		)
	}
	ks = append(ks,
		keySpec{key: "conv5.weight", shape: []int{c5, channels, 1, kTime}},
		keySpec{key: "conv5.bias", shape: []int{c5}},
	)
	if v.FinalActivation == 3 {
		ks = append(ks,
			keySpec{key: "lin_bn.running_mean", shape: []int{v.Dim}},
			keySpec{key: "lin_bn.running_var", shape: []int{v.Dim}},
			keySpec{key: "lin_bn.num_batches_tracked", shape: []int{}, ints: true},
			keySpec{key: "lin1.weight", shape: []int{v.Dim, channels}},
		)
	} else {
		ks = append(ks,
			keySpec{key: "lin1.weight", shape: []int{v.Dim, channels}},
			keySpec{key: "lin1.bias", shape: []int{v.Dim}},
		)
	}
	return ks
}

// DetectVariant reads the variant from the checkpoint's keys and shapes,
// using cfg where shapes are ambiguous (see Config). It is strict: a missing
// or unexpected key, a wrong shape or dtype is an error (wrapping
// ErrCheckpoint) naming the key, what was expected and what was found.
// Key order is not checked (a state_dict is a mapping).
func DetectVariant(sd *statedict.Dict, cfg Config) (Variant, error) {
	if err := cfg.Validate(); err != nil {
		return Variant{}, err
	}
	if sd == nil || len(sd.Tensors) == 0 {
		return Variant{}, fmt.Errorf("%w: empty state_dict", ErrCheckpoint)
	}
	var v Variant
	c5, err := leadingDim(sd, "conv5.weight")
	if err != nil {
		return Variant{}, err
	}
	switch c5 {
	case 2 * channels:
		v.SumMethod = 4
		if cfg.SumMethod != nil {
			if *cfg.SumMethod < 3 {
				return Variant{}, fmt.Errorf("%w: SumMethod %d needs a 256-channel conv5, checkpoint has 512 (sum_method 3 or 4)", ErrConfig, *cfg.SumMethod)
			}
			v.SumMethod = *cfg.SumMethod
		}
	case channels:
		if cfg.SumMethod == nil {
			return Variant{}, fmt.Errorf("%w: conv5 has 256 output channels: sum_method 0, 1 or 2 cannot be told from the checkpoint; set Config.SumMethod", ErrConfig)
		}
		if *cfg.SumMethod > 2 {
			return Variant{}, fmt.Errorf("%w: SumMethod %d needs a 512-channel conv5, checkpoint has 256 (sum_method 0, 1 or 2)", ErrConfig, *cfg.SumMethod)
		}
		v.SumMethod = *cfg.SumMethod
	default:
		return Variant{}, fmt.Errorf("%w: conv5.weight: expected 256 or 512 output channels, found %d", ErrCheckpoint, c5)
	}
	if d, ok := sd.Tensors["lin_bn.running_mean"]; ok && d != nil {
		v.FinalActivation = 3
		if cfg.FinalActivation != nil && *cfg.FinalActivation != 3 {
			return Variant{}, fmt.Errorf("%w: FinalActivation %d, but the checkpoint has lin_bn (final_activation 3)", ErrConfig, *cfg.FinalActivation)
		}
	} else {
		if cfg.FinalActivation == nil {
			return Variant{}, fmt.Errorf("%w: no lin_bn: final_activation 0, 1 or 2 cannot be told from the checkpoint; set Config.FinalActivation", ErrConfig)
		}
		if *cfg.FinalActivation == 3 {
			return Variant{}, fmt.Errorf("%w: FinalActivation 3, but the checkpoint has no lin_bn.running_mean", ErrConfig)
		}
		v.FinalActivation = *cfg.FinalActivation
	}
	v.Dim, err = leadingDim(sd, "lin1.weight")
	if err != nil {
		return Variant{}, err
	}
	if v.Dim < 1 {
		return Variant{}, fmt.Errorf("%w: lin1.weight: embedding size %d", ErrCheckpoint, v.Dim)
	}
	if err := checkKeys(sd, expectedKeys(v)); err != nil {
		return Variant{}, err
	}
	return v, nil
}

func leadingDim(sd *statedict.Dict, key string) (int, error) {
	t, ok := sd.Tensors[key]
	if !ok || t == nil {
		return 0, fmt.Errorf("%w: missing key %q", ErrCheckpoint, key)
	}
	if len(t.Shape) == 0 {
		return 0, fmt.Errorf("%w: %s: expected a 4-D or 2-D tensor, found a scalar", ErrCheckpoint, key)
	}
	return t.Shape[0], nil
}

func checkKeys(sd *statedict.Dict, want []keySpec) error {
	seen := make(map[string]bool, len(want))
	for _, ks := range want {
		seen[ks.key] = true
		t, ok := sd.Tensors[ks.key]
		if !ok || t == nil {
			return fmt.Errorf("%w: missing key %q", ErrCheckpoint, ks.key)
		}
		if !slices.Equal(t.Shape, ks.shape) {
			return fmt.Errorf("%w: %s: expected shape %v, found %v", ErrCheckpoint, ks.key, ks.shape, t.Shape)
		}
		n := t.Numel()
		if ks.ints {
			if len(t.Ints) != n {
				return fmt.Errorf("%w: %s: expected an integer tensor of %d values, found %d ints (dtype %q)", ErrCheckpoint, ks.key, n, len(t.Ints), t.DType)
			}
		} else if len(t.Data) != n {
			return fmt.Errorf("%w: %s: expected a floating-point tensor of %d values, found %d floats (dtype %q)", ErrCheckpoint, ks.key, n, len(t.Data), t.DType)
		}
	}
	for _, k := range sd.Keys {
		if !seen[k] {
			return fmt.Errorf("%w: unexpected key %q", ErrCheckpoint, k)
		}
	}
	for k := range sd.Tensors {
		if !seen[k] {
			return fmt.Errorf("%w: unexpected key %q", ErrCheckpoint, k)
		}
	}
	return nil
}
