package reindex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"sync"
	"time"

	"github.com/vindex/vindex/storage"
)

// LockFile names the lock object of an index folder.
const LockFile = "LOCK"

// DefaultLockStale is how long a lock may go without being refreshed
// before it is presumed left by a killed run and broken. A live run
// refreshes its lock every quarter of that, however long it works.
const DefaultLockStale = time.Hour

// lockPoll is how often a waiting run checks the lock again.
const lockPoll = 2 * time.Second

// Lock is an index folder's LOCK: one writer (reindex, rollback) at a time.
// It is created with a conditional write (O_EXCL-like link locally, "does
// not exist" precondition on GCS), so of two runs exactly one gets it.
type Lock struct {
	LockInfo

	uri  string
	mu   sync.Mutex
	data []byte
	stop chan struct{}
	done chan struct{}
}

// LockInfo is the content of a LOCK object: who holds it, since when.
type LockInfo struct {
	Owner     string    `json:"owner"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Started   time.Time `json:"started"`
	Refreshed time.Time `json:"refreshed"` // the holder rewrites the lock every stale/4
	Run       string    `json:"run"`
	Command   string    `json:"command,omitempty"`
}

// age is the time since the holder last showed it was alive.
func (l *LockInfo) age() time.Duration { return time.Since(l.Refreshed) }

// LockedError is returned when another run holds the lock.
type LockedError struct {
	URI    string
	Holder LockInfo
	Stale  time.Duration
}

func (e *LockedError) Error() string {
	h := e.Holder
	return fmt.Sprintf("reindex: %s is held by %s@%s (pid %d, run %s) since %s (%s ago, refreshed %s ago; broken after %s without refresh): another run is working on this index; use --wait to wait for it",
		e.URI, h.Owner, h.Host, h.PID, h.Run, h.Started.Format(time.RFC3339), time.Since(h.Started).Round(time.Second),
		h.age().Round(time.Second), e.Stale)
}

// AcquireLock takes dir's lock and keeps it fresh (rewritten every stale/4)
// until Release. A lock not refreshed for stale (≤ 0: DefaultLockStale) is
// broken (conditionally, so two runs cannot both break it). While another
// run holds it, AcquireLock waits up to wait, then returns a *LockedError
// naming the holder.
func AcquireLock(ctx context.Context, dir string, stale, wait time.Duration, command string) (*Lock, error) {
	if stale <= 0 {
		stale = DefaultLockStale
	}
	owner := "unknown"
	if u, err := user.Current(); err == nil {
		owner = u.Username
	}
	host, _ := os.Hostname()
	now := time.Now().UTC()
	l := &Lock{LockInfo: LockInfo{Owner: owner, Host: host, PID: os.Getpid(), Started: now, Refreshed: now,
		Run: storage.RandomHex(6), Command: command}, uri: storage.Join(dir, LockFile)}
	var err error
	if l.data, err = json.MarshalIndent(&l.LockInfo, "", "  "); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		err := storage.CreateExclusive(ctx, l.uri, l.data)
		if err == nil {
			l.stop, l.done = make(chan struct{}), make(chan struct{})
			go l.refresh(stale / 4)
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
		var holder LockInfo
		if err := json.Unmarshal(raw, &holder); err != nil {
			return nil, fmt.Errorf("reindex: %s: unreadable lock (%v): remove it if no run is working on this index", l.uri, err)
		}
		if holder.age() > stale {
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

// refresh rewrites the lock every interval, conditionally (a lock broken
// and taken by another run is left alone), until Release.
func (l *Lock) refresh(interval time.Duration) {
	defer close(l.done)
	t := time.NewTicker(max(interval, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		l.mu.Lock()
		next := l.LockInfo
		next.Refreshed = time.Now().UTC()
		b, err := json.MarshalIndent(&next, "", "  ")
		if err == nil && storage.Replace(context.Background(), l.uri, l.data, b) == nil {
			l.Refreshed, l.data = next.Refreshed, b
		}
		l.mu.Unlock()
	}
}

// Release stops refreshing the lock and removes it if it is still this
// run's (a lock broken as stale and taken by another run is left alone).
func (l *Lock) Release(ctx context.Context) error {
	if l == nil {
		return nil
	}
	if l.stop != nil {
		close(l.stop)
		<-l.done
		l.stop = nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := storage.RemoveIf(ctx, l.uri, l.data); err != nil {
		return fmt.Errorf("reindex: releasing the lock: %w", err)
	}
	return nil
}

// Held reports whether the lock is still this run's.
func (l *Lock) Held(ctx context.Context) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	raw, err := storage.ReadFile(ctx, l.uri, 1<<20)
	return err == nil && string(raw) == string(l.data)
}
