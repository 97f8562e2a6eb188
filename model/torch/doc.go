// Package torch reads PyTorch checkpoints without Python: the files
// torch.save writes for a state_dict, in the zip format (torch >= 1.6) and
// the legacy format (torch < 1.6, or _use_new_zipfile_serialization=False),
// through a restricted unpickler that executes nothing.
//
// Load returns a *statedict.Dict (keys in saved order; floating-point
// tensors converted to float32, integer and bool tensors to int64, DType
// keeping the stored dtype). LoadObject returns any other torch.save'd value
// made of dicts, lists, tuples, scalars, strings and tensors (for example the
// Da-TACOS benchmark_crema.pt dict). Sniff tells the two formats apart from a
// file's first four bytes.
//
// # Formats
//
// Zip: entries <prefix>/data.pkl (the pickle), <prefix>/data/<key> (raw
// little-endian storages), <prefix>/version and, from torch 2, byteorder.
// The prefix is whatever directory holds data.pkl ("archive" in torch 1.6,
// the file stem later). Legacy: five pickles in a row (magic number
// 0x1950a86a20f9469cfc6c, protocol version 1001, sys_info, the object, the
// list of storage keys), then for each key an int64 element count and the
// raw data. Persistent ids are ('storage', torch.XStorage, key, location,
// numel) and, in the legacy format, an optional view (view_key, offset, size).
// Tensors are rebuilt from (storage, offset, size, stride), so views that
// share a storage or are not contiguous load as torch would load them.
//
// # Security considerations
//
// Checkpoints are untrusted input. The unpickler accepts only these globals:
// collections.OrderedDict; torch._utils._rebuild_tensor, _rebuild_tensor_v2,
// _rebuild_parameter, _rebuild_parameter_with_state; torch.{Float, Double,
// Half, BFloat16, Long, Int, Short, Char, Byte, Bool}Storage (as storage
// types inside persistent ids only); and, for LoadObject only, builtins.dict
// and builtins.list. Any other global (GLOBAL, STACK_GLOBAL, INST) fails
// with a *RefusedError naming it ("torch: refusing global os.system"), and
// so does a whole pickled nn.Module. The EXT and out-of-band buffer opcodes
// are refused. Nothing is imported or called: allowed globals are
// interpreted by Go code.
//
// Every declared size is checked before memory is allocated for it: pickle
// string and bytes lengths against the bytes left in the pickle; storage
// element counts against the file size; zip entry sizes against the file size
// (stored) or the DEFLATE bound of 1032:1 (compressed), and their CRC after
// reading; legacy storage headers against the pickle and the bytes left.
//
// Work is bounded by the file: the unpickler (a table of small opcode
// handlers, opcodes.go) charges every opcode, every value it copies (marked
// items, list(...)), every tensor dimension and, at 4 units, every dict
// insert (plus one unit per 64 bytes of a string key hashed) to a budget of
// 4 units per file byte plus 2^16, shared by all the pickles of one file;
// past it the load fails with ErrTooLarge. A unit allocates about 50 bytes,
// so a hostile pickle allocates at most a few hundred bytes per file byte
// (FuzzHostile asserts 400 plus 32 MiB), where before a 48 kB file of
// OrderedDict(d) copies allocated 2.2 GB. Zip entries may not overlap or run
// past the archive (checked on the central directory before anything is
// read), so the entries read total at most the archive's bytes, however many
// names the directory lists; entries compressed with DEFLATE may inflate to
// at most 32 times the archive plus 1 MiB in all.
// Tensor views are checked against their storage (offset + Σ (size-1)·stride
// must be inside it; no negative sizes or strides, no overflow), and the
// elements decoded for all tensors together are limited to 8 per file byte
// plus 2^20, which bounds zero-stride (expanded) views. Text opcodes take
// at most 64 KiB, integers at most 1 KiB, and LoadObject refuses
// self-containing or more than 1000-deep structures. Errors wrap the
// sentinels ErrRefused, ErrNotCheckpoint, ErrNotStateDict, ErrTruncated,
// ErrCorrupt, ErrTooLarge and ErrUnsupported; no input makes the package
// panic (FuzzLoad and FuzzLoadObject check it).
//
// # Deviations from torch.load
//
// Storages are always loaded to the CPU whatever their saved location
// (torch.load(..., map_location='cpu')). requires_grad, backward hooks and
// a state_dict's _metadata are read and dropped. Big-endian files, the
// pre-0.4 tar format, TorchScript archives and sparse or quantized tensors are
// not supported (clear errors).
package torch
