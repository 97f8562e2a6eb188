package main

// examples ends each command's --help (newFlagSet), keyed by the name given
// to newFlagSet. A test checks that every command has some. Read-only.
var examples = map[string]string{
	"demo": `  vindex demo                                   # synthetic catalog, seeded weights, index, evaluation table
  vindex demo --weights model_re-move_lsr.pt    # the same with a released checkpoint`,
	"synth": `  vindex synth --small --out features/
  vindex synth --works 1000 --versions 13 --noise 2000 --seed 7 --out gs://bucket/features/`,
	"import": `  vindex import datacos --metadata da-tacos_metadata.json --features da-tacos_crema/ --out features/
  vindex import numpy --csv songs.csv --out features/`,
	"embed": `  vindex embed --weights model_re-move_lsr.pt --in 'features/*.parquet' --out emb/
  vindex embed --runner flink --endpoint localhost:8099 --weights model.pt --in features/ --out emb/`,
	"fit": `  vindex fit --method pca --dim 256 --in emb/embeddings/ --out pca256.vxr
  vindex fit --method ica --dim 128 --sample 10000 --seed 3 --in 'emb/embeddings/*.parquet' --out ica128.vxr`,
	"reduce": `  vindex reduce --reducer pca256.vxr --in emb/embeddings/ --out compact/
  vindex reduce --reducer pca256.vxr --normalize --in emb/embeddings/ --out compact/`,
	"evaluate": `  vindex evaluate --in emb/embeddings/ --in compact/embeddings/ --out eval/
  vindex evaluate --in emb/embeddings/,compact/embeddings/ --group-by year,instrumental --out eval/`,
	"index": `  vindex index --weights model.pt --in 'features/*.parquet' --out idx/ --method pca --dim 256
  vindex index --weights model.pt --in features/ --out idx/ --method none --evaluate=false`,
	"reindex": `  vindex reindex --catalog 'features/*.parquet' --index nightly/ --weights model.pt
  vindex reindex --catalog features/ --index nightly/ --refit      # refit the reducer on tonight's catalog`,
	"query": `  vindex query --index nightly/ --song P_0000042 --k 10
  vindex query --index idx/ --features upload.parquet --json`,
	"serve": `  vindex serve --index nightly/ --addr 127.0.0.1:8080
  vindex serve --index gs://bucket/nightly --addr :8080 --poll 5m   # then: curl localhost:8080/v1/songs/P_0000042/neighbors`,
	"version": `  vindex version`,
	"weights inspect": `  vindex weights inspect model_re-move_lsr.pt
  vindex weights inspect --tensors --sum-method 4 model.pt`,
	"weights convert": `  vindex weights convert model_re-move_lsr.pt model.safetensors`,
	"versions": `  vindex versions --index nightly/
  vindex versions --index gs://bucket/nightly/`,
	"rollback": `  vindex rollback --index nightly/ --to v0041
  vindex rollback --index gs://bucket/nightly/ --to v0041 --wait 10m   # wait for a running reindex`,
}
