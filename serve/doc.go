// Package serve answers nearest-neighbour questions over an index through
// an HTTP JSON API, and switches to each version the nightly job publishes
// without a restart. docs/api.md documents the routes with curl examples:
//
//	GET  /v1/songs/{song_id}/neighbors?k=10   a song of the index
//	POST /v1/neighbors                        feature rows (JSON or Parquet), embedded with the index's model
//	GET  /v1/index                            the version in service
//	GET  /healthz, /readyz, /metrics          liveness, readiness (a version is loaded), Prometheus
//
// Answers come from package query, so they equal those of 'vindex query'.
//
// # Versions and hot swap
//
// One goroutine owns loading: at start, every Config.Poll and on Reload
// (SIGHUP in 'vindex serve') it resolves CURRENT; when it names a version
// other than the one in service (folder and index.json's creation time), it
// loads it (query.LoadDir with the model, which runs query.Verify), then
// swaps an atomic pointer. Each request takes the version in service once,
// counted, and uses it to the end, so requests in flight finish on the
// version they started with. The loader starts no other load before the
// replaced version's last request is done and its memory returned: at most
// two versions are in memory during a switch, one otherwise. A version that
// fails to load is logged and counted (vindex_serve_reloads_total{result=
// "failed"}); the old one keeps serving and the failed one is not retried
// until CURRENT changes or Reload is called.
//
// # Bounds and errors
//
// Bodies are bounded (Config.MaxBody, 413), as are feature rows per request
// (Config.MaxSongs, 413), k (1..Config.MaxK, 400) and each request's time
// (Config.Timeout: 503 "timeout"; the server's read and write timeouts
// follow it). Every error is a JSON object {"error": code, "message",
// "song_id"} with a precise status: 404 unknown_song, 400 bad_k /
// k_out_of_range / malformed_body / no_songs, 413 body_too_large /
// too_many_songs, 415 bad_content_type, 422 invalid_features /
// features_too_short / bad_hop / unscorable, 503 not_ready / timeout.
//
// # Concurrency
//
// A Server is safe for concurrent use. A single request's search spreads
// the catalog's blocks over all cores (model/search); feature rows are
// embedded one after another on networks pooled per concurrent request.
//
// # Metrics
//
// vindex_serve_requests_total{route,code}, vindex_serve_request_duration_
// seconds{route} (histogram), vindex_serve_queries_total{kind},
// vindex_serve_reloads_total{result}, vindex_serve_index_info{version,dir,
// model,reducer,distance}, vindex_serve_index_songs,
// vindex_serve_index_loaded_timestamp_seconds, and the Go and process
// collectors; each Server has a registry of its own.
//
// # Security considerations
//
// Request bodies are untrusted: they are read through http.MaxBytesReader
// before parsing, JSON is decoded strictly (unknown fields refused), crema
// shapes are checked before they are copied, Parquet bodies are read by
// package schema (declared sizes checked), and every song is validated by
// schema.ValidateSong before the network runs.
package serve
