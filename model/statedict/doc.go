// Package statedict holds a PyTorch state_dict in memory: named tensors in
// their saved order. Checkpoint readers (model/torch, model/safetensors)
// produce a *Dict; model.NewWeights consumes one.
//
// Invariants: Dict.Keys lists every key of Dict.Tensors once, in saved order.
// A Tensor holds its values in exactly one of Data (floating-point dtypes,
// converted to float32 on load: F16, BF16 and F32 exactly, F64 rounded to
// nearest as torch's .float() does) or Ints (integer and bool dtypes, as
// int64); DType records the dtype as stored, in safetensors' spelling. A
// 0-dim tensor has an empty Shape and one value. Hash depends on keys,
// order, shapes and values only (not on DType or the file format), so the
// same weights hash the same in .pt and safetensors files.
//
// Deviations from PyTorch: no strides, devices, requires_grad or dtypes
// beyond float32/int64 in memory.
package statedict
