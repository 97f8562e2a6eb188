package model

import (
	"fmt"
	"math"

	"github.com/vindex/vindex/model/statedict"
)

// Weights is a MOVEModel checkpoint prepared for inference: convolution
// weights packed for the GEMM kernel, BatchNorm folded into a scale and a
// shift. It is immutable after NewWeights and safe to share across
// goroutines; each goroutine embeds through its own Net (NewNet).
type Weights struct {
	variant  Variant
	id       string
	params   int
	padShort bool // Config.PadShort

	slopes [5]float32 // "prelu1.weight".."prelu5.weight", [1] each
	p      float32    // "autopool_p", 0-dim

	conv1 []float32      // "conv1.weight" OIHW [256][1][12][180], packed (packA, K = r*180+k)
	spec  *spectralConv1 // conv1 in the pitch-DFT domain (used when fft is nil); nil: direct conv1
	fft   *fftConv1      // conv1 by FFT along pitch and time (fft.go); nil: spec
	conv2 []float32      // "conv2.weight" OIHW [256][256][1][5], packed (K = ci*5+q)
	conv3 []float32      // "conv3.weight" [256][256][1][5], packed
	conv4 []float32      // "conv4.weight" [256][256][1][5], packed
	conv5 []float32      // "conv5.weight" [c5][256][1][5], packed; c5 = 512 for sum_method 3, 4
	bias  [5][]float32

	lin1    []float32 // "lin1.weight" [d][256], row-major
	lin1b   []float32 // "lin1.bias" [d]; nil for final_activation 3
	bnScale []float32 // 1/sqrt("lin_bn.running_var"+1e-5) [d]; fa 3 only
	bnMean  []float32 // "lin_bn.running_mean" [d]; fa 3 only
}

// NewWeights checks sd against MOVEModel (DetectVariant) and prepares it.
// sd is not retained.
func NewWeights(sd *statedict.Dict, cfg Config) (*Weights, error) {
	v, err := DetectVariant(sd, cfg)
	if err != nil {
		return nil, err
	}
	for _, k := range sd.Keys {
		for i, x := range sd.Tensors[k].Data {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("%w: %s[%d] = %v", ErrCheckpoint, k, i, x)
			}
		}
	}
	data := func(key string) []float32 { return sd.Tensors[key].Data }
	w := &Weights{variant: v, padShort: cfg.PadShort}
	w.p = data("autopool_p")[0]
	for i := range w.slopes {
		w.slopes[i] = data(fmt.Sprintf("prelu%d.weight", i+1))[0]
	}
	c5 := v.conv5Channels()
	w.conv1 = packA(data("conv1.weight"), channels, k1Len)
	w.spec = newSpectralConv1(data("conv1.weight"))
	w.fft = newFFTConv1(data("conv1.weight"))
	w.conv2 = packA(data("conv2.weight"), channels, channels*kTime)
	w.conv3 = packA(data("conv3.weight"), channels, channels*kTime)
	w.conv4 = packA(data("conv4.weight"), channels, channels*kTime)
	w.conv5 = packA(data("conv5.weight"), c5, channels*kTime)
	for i := range w.bias {
		w.bias[i] = clone(data(fmt.Sprintf("conv%d.bias", i+1)))
	}
	w.lin1 = clone(data("lin1.weight"))
	if v.FinalActivation == 3 {
		w.bnMean = clone(data("lin_bn.running_mean"))
		rv := data("lin_bn.running_var")
		w.bnScale = make([]float32, v.Dim)
		for i, x := range rv {
			if !(x >= 0) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("%w: lin_bn.running_var[%d] = %v", ErrCheckpoint, i, x)
			}
			w.bnScale[i] = float32(1 / math.Sqrt(float64(x)+bnEps))
		}
	} else {
		w.lin1b = clone(data("lin1.bias"))
	}
	for _, k := range sd.Keys {
		if t := sd.Tensors[k]; t.Data != nil && k != "lin_bn.running_mean" && k != "lin_bn.running_var" {
			w.params += t.Numel()
		}
	}
	h := sd.Hash()
	w.id = "move-" + v.String() + "-" + h[:12]
	return w, nil
}

func clone(s []float32) []float32 { return append([]float32(nil), s...) }

// Variant returns the network variant.
func (w *Weights) Variant() Variant { return w.variant }

// ID returns the model id: "move-" + variant + "-" + the first 12 hex digits
// of the state_dict's hash, e.g. "move-sum4-fa3-d256-3f2a9c1b7d4e".
func (w *Weights) ID() string { return w.id }

// ParamCount returns the number of learnable parameters as remove-spec.md
// §1.5 counts them (BatchNorm running statistics are buffers, not counted).
func (w *Weights) ParamCount() int { return w.params }

// Dim returns the embedding size d.
func (w *Weights) Dim() int { return w.variant.Dim }
