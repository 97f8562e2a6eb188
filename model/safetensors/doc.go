// Package safetensors reads and writes the safetensors format
// (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON header
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
// "__metadata__": {"k": "v"}}, then the tensors' raw little-endian bytes.
//
// Read returns a *statedict.Dict with floating-point tensors (F32, F16, BF16,
// F64) converted to float32 and integer/bool tensors (I64, I32, I16, I8, U8,
// BOOL) to int64, DType keeping the stored dtype, plus the metadata. Keys come
// in the order of their data (ascending begin offset), which is saved order
// for files Write made. Write stores float tensors as F32 and integer
// tensors as I64 (so num_batches_tracked stays an integer), in the dict's key
// order, with the header padded with spaces to a multiple of 8 bytes.
//
// # Security considerations
//
// The header length is checked against the file size and a 100 MB cap
// before it is read; every tensor's shape must match its byte range exactly
// (no overflow), ranges must lie inside the data section and not overlap;
// nothing is allocated for a tensor before its range has been checked, so
// every tensor is decoded from bytes of its own and a file costs at most
// about 30 bytes allocated per byte (measured worst cases: long all-zero
// shapes 28, many empty tensors 12, U8 data 9; TestHostileFilesBounded
// holds it under 32 per byte plus 1 MiB). Callers bound the file's size
// (model.MaxCheckpointBytes). Errors
// wrap ErrFormat, name the tensor at fault, and no input panics (FuzzRead).
//
// # Deviations
//
// Float8 and unsigned 16/32/64-bit dtypes are refused (ErrUnsupported).
// Holes between tensors are tolerated on read (the reference library refuses them).
package safetensors
