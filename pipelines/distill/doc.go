// Package distill is the distillation pipeline (issue 14): it turns a teacher
// checkpoint and a labelled catalog into a Re-MOVE student checkpoint of any
// embedding size, by the methods of model/train.
//
//	features (schema.Song, work_id set) → ReadSongs → Pool → WritePooled → OUT/pooled/   (Beam, parallel)
//	                                          └──────────┴──→ WriteRejects → OUT/rejects/
//	OUT/pooled/ → Train (one process: lsr | kd | prune) → STUDENT.safetensors
//
// Pooling is the expensive step (the whole feature extractor per song and
// patch) and runs as Beam DoFns fused with the reader; training touches only
// the 256 pooled values per row (1 KB) and runs in one process. The student
// holds the teacher's convolutions, PReLUs and autopool parameter and the
// new lin1.weight and lin_bn statistics: MOVEModel(D, 4, 3), usable by
// vindex embed and by PyTorch's load_state_dict.
//
// The training itself is transforms.Distill (model/train's methods); this
// package only composes. docs/distill.md explains the frozen-extractor
// deviation and how the two steps scale.
package distill
