// Package pipelines holds vindex's whole pipelines, one sub-package each
// (embed, fit, reduce, evaluate, index, reindex). Each has a validated Config
// and a Build(s beam.Scope, cfg Config) that adds the pipeline to a scope;
// runners.Run executes it on the chosen runner.
package pipelines
