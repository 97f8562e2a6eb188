// Package runners owns the choice of Beam runner and its options: prism (the
// default, embedded in the process), direct, flink (a portable Beam Flink job
// server) and dataflow. Flags live in cmd/vindex; this package takes a
// validated Options and runs a pipeline with Run, which returns a *Result
// (Beam's PipelineResult plus the run's user counters, and a printable
// Summary).
//
// # Beam's global options
//
// Beam Go's portable and Dataflow runners read their settings from global
// flag variables (jobopts, gcpopts, and the dataflow package's flags). Run
// sets them from Options through the flag package just before a flink or
// dataflow run and restores the previous values afterwards, holding a lock:
// flink and dataflow runs in one process are serialised, prism and direct
// runs may overlap. Prism stores its in-process job server's address in
// jobopts.Endpoint on its first run and reuses it afterwards.
//
// # Progress
//
// Beam Go returns metrics only when a job ends, so progress while running
// comes from a process-wide tally (an expvar.Map named TallyVar, "vindex")
// that the transforms package's counters bump alongside their Beam counters.
// Run prints the change of that tally every Options.ProgressInterval: songs
// read, embedded and rejected, songs per second and, with Options.Expected,
// the time left. This is live only when the DoFns run in this process:
// prism, direct and flink with LOOPBACK. On Dataflow and on Flink with DOCKER
// or EXTERNAL environments the workers are other processes; there Run prints
// one line pointing at the runner's UI, where the same counters (namespace
// "vindex") are visible while the job runs, and the final summary carries
// the Beam counters the runner reports.
//
// # Versions
//
// The Go SDK is Beam 2.77.0. The project's Flink test runs it against the
// Beam 2.62.0 Flink 1.19 job server (scripts/flink/fetch.sh explains why
// that one: the Maven repository the project's machines reach serves no
// 2.77.0 job server), started from its Maven classpath; the portable job API
// was compatible for the pipelines tested. Production clusters should use a
// job server of the SDK's version (docs/deploy.md).
//
// # Deviations
//
// Run returns *Result instead of beam.PipelineResult; Result embeds the
// PipelineResult, so callers that used Metrics() or JobID() compile
// unchanged. A dry run (any runner) prints the job graph, runs nothing and
// returns a Result whose JobID is "dry-run"; for Dataflow it also prints the
// job Beam translates offline (Beam logs it at INFO, which vindex hides).
//
// Exit codes (ExitCode): 0 success, 1 failure, 2 usage, 3 a threshold crossed
// by a run that succeeded (ThresholdError).
package runners
