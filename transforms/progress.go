package transforms

import "expvar"

// The process-wide progress tally.
//
// Beam Go returns metrics only when a pipeline ends, so runners.Run cannot
// ask the runner how far a running job got. Instead every ProgressCounter
// also adds to an expvar.Int in the expvar.Map named "vindex"
// (runners.TallyVar), which runners.Run reads every few seconds and prints
// as a progress line. This is the one piece of package-level mutable state
// in transforms, and it is only ever added to (atomically).
//
// What it sees: the DoFns of this process. On prism, direct and flink with
// the LOOPBACK environment the SDK harness runs inside the submitting
// process, so the tally is live progress. On Dataflow and on Flink with
// DOCKER or EXTERNAL environments the DoFns run in worker processes whose
// tallies nobody reads: there only the Beam counters (visible in the runner's
// UI while the job runs, and in runners.Result at the end) exist. The tally
// is cumulative over the life of the process; runners.Run reports the change
// since it started, so two pipelines running at once in one process mix
// their numbers (the Beam counters do not).
//
// The map is also served at /debug/vars by any HTTP server the process runs
// with http.DefaultServeMux.

// tallyVar must equal runners.TallyVar (runners does not import transforms,
// whose tests import runners; a test checks the two agree).
const tallyVar = "vindex"

var tally = expvar.NewMap(tallyVar)

// tallyEntry returns the tally's counter name, creating it at zero.
func tallyEntry(name string) *expvar.Int {
	tally.Add(name, 0)
	return tally.Get(name).(*expvar.Int)
}
