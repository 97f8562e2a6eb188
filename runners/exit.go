package runners

import (
	"errors"
	"fmt"
)

// Exit codes of vindex commands, for schedulers (documented in every
// command's --help and the README).
const (
	ExitOK        = 0 // success
	ExitFailure   = 1 // the command failed; nothing was published
	ExitUsage     = 2 // bad flags or arguments; nothing ran
	ExitThreshold = 3 // the run succeeded and published, but crossed a threshold (--max-reject-rate, --max-map-drop)
)

// ExitCodesHelp is the paragraph commands append to their --help.
const ExitCodesHelp = `Exit codes: 0 success; 1 failure (nothing published); 2 usage error (nothing ran); 3 the run succeeded and
published, but rejects exceeded --max-reject-rate or MAP dropped by more than --max-map-drop.`

// ThresholdError reports a successful run that crossed a threshold the
// user set; ExitCode maps it to ExitThreshold.
type ThresholdError struct {
	What  string  // "reject rate", "MAP drop"
	Value float64 // what the run measured
	Limit float64 // the threshold
}

func (e *ThresholdError) Error() string {
	return fmt.Sprintf("%s %.4g exceeds the limit %.4g (the output was published)", e.What, e.Value, e.Limit)
}

// UsageError marks an error in how a command was called; ExitCode maps it
// to ExitUsage.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// ExitCode is the exit code for a command's error.
func ExitCode(err error) int {
	var te *ThresholdError
	var ue *UsageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &te):
		return ExitThreshold
	case errors.As(err, &ue):
		return ExitUsage
	}
	return ExitFailure
}

// CheckRejectRate returns a *ThresholdError if rejected/(songs+rejected)
// exceeds limit; limit ≤ 0 turns the check off.
func CheckRejectRate(songs, rejected int64, limit float64) error {
	if limit <= 0 || songs+rejected == 0 {
		return nil
	}
	rate := float64(rejected) / float64(songs+rejected)
	if rate > limit {
		return &ThresholdError{What: "reject rate", Value: rate, Limit: limit}
	}
	return nil
}

// CheckMAPDrop returns a *ThresholdError if MAP fell by more than limit
// (delta = new − previous); limit ≤ 0 or an unknown delta turns it off.
func CheckMAPDrop(delta *float64, limit float64) error {
	if limit <= 0 || delta == nil || -*delta <= limit {
		return nil
	}
	return &ThresholdError{What: "MAP drop", Value: -*delta, Limit: limit}
}
