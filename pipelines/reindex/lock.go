package reindex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"time"

	"github.com/vindex/vindex/storage"
)

// LockFile names the lock object of an index folder.
const LockFile = "LOCK"

// DefaultLockStale is the age after which a lock is presumed left by a
// killed run and broken. A nightly reindex of a catalog of a million songs
// on a cluster takes hours, not a day.
const DefaultLockStale = 12 * time.Hour

// lockPoll is how often a waiting run checks the lock again.
const lockPoll = 2 * time.Second

// Lock is an index folder's LOCK: one writer (reindex, rollback) at a time.
// It is created with a conditional write (O_EXCL-like link locally, "does
// not exist" precondition on GCS), so of two runs exactly one gets it.
type Lock struct {
	Owner   string    `json:"owner"`
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	Run     string    `json:"run"`
	Command string    `json:"command,omitempty"`

	uri  string
	data []byte
}

// LockedError is returned when another run holds the lock.
type LockedError struct {
	URI    string
	Holder Lock
	Stale  time.Duration
}

func (e *LockedError) Error() string {
	h := e.Holder
	return fmt.Sprintf("reindex: %s is held by %s@%s (pid %d, run %s) since %s (%s ago; broken after %s): another run is working on this index; use --wait to wait for it",
		e.URI, h.Owner, h.Host, h.PID, h.Run, h.Started.Format(time.RFC3339), time.Since(h.Started).Round(time.Second), e.Stale)
}

// AcquireLock takes dir's lock. A lock older than stale (≤ 0:
// DefaultLockStale) is broken (conditionally, so two runs cannot both break
// it). While another run holds it, AcquireLock waits up to wait, then returns
// a *LockedError naming the holder.
func AcquireLock(ctx context.Context, dir string, stale, wait time.Duration, command string) (*Lock, error) {
	if stale <= 0 {
		stale = DefaultLockStale
	}
	owner := "unknown"
	if u, err := user.Current(); err == nil {
		owner = u.Username
	}
	host, _ := os.Hostname()
	l := &Lock{Owner: owner, Host: host, PID: os.Getpid(), Started: time.Now().UTC(), Run: storage.RandomHex(6),
		Command: command, uri: storage.Join(dir, LockFile)}
	var err error
	if l.data, err = json.MarshalIndent(l, "", "  "); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		err := storage.CreateExclusive(ctx, l.uri, l.data)
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, storage.ErrExists) {
			return nil, fmt.Errorf("reindex: taking the lock: %w", err)
		}
		raw, err := storage.ReadFile(ctx, l.uri, 1<<20)
		if errors.Is(err, fs.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("reindex: reading the lock: %w", err)
		}
		var holder Lock
		if err := json.Unmarshal(raw, &holder); err != nil {
			return nil, fmt.Errorf("reindex: %s: unreadable lock (%v): remove it if no run is working on this index", l.uri, err)
		}
		if time.Since(holder.Started) > stale {
			// Break it only if it is still the lock we read.
			if err := storage.RemoveIf(ctx, l.uri, raw); err != nil && !errors.Is(err, storage.ErrChanged) {
				return nil, fmt.Errorf("reindex: breaking a stale lock: %w", err)
			}
			continue
		}
		if !time.Now().Before(deadline) {
			return nil, &LockedError{URI: l.uri, Holder: holder, Stale: stale}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(min(lockPoll, time.Until(deadline)+time.Millisecond)):
		}
	}
}

// Release removes the lock if it is still this run's (a lock broken as
// stale and taken by another run is left alone).
func (l *Lock) Release(ctx context.Context) error {
	if l == nil {
		return nil
	}
	if err := storage.RemoveIf(ctx, l.uri, l.data); err != nil {
		return fmt.Errorf("reindex: releasing the lock: %w", err)
	}
	return nil
}

// Held reports whether the lock is still this run's.
func (l *Lock) Held(ctx context.Context) bool {
	raw, err := storage.ReadFile(ctx, l.uri, 1<<20)
	return err == nil && string(raw) == string(l.data)
}
