package transforms

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/vindex/vindex/model"
	"github.com/vindex/vindex/schema"
)

// netPool runs the network of one set of weights on a fixed number of
// goroutines (one per core of the process, GOMAXPROCS), each with its own
// model.Net, shared by every bundle the process runs. A bundle hands songs
// to the pool and collects their embeddings, so the process's cores stay
// busy whatever the runner's bundling: one bundle alone (prism's last range,
// a runner that gives a worker one bundle at a time) still runs on every
// core, and two bundles at once share the same networks instead of
// oversubscribing the cores with one network each.
//
// Pools live as long as the process, next to the weights in weightsCache
// (at most one per weights: their goroutines wait on a channel when idle).
type netPool struct {
	jobs    chan *embedJob
	dim     int
	workers int
}

// embedJob is one song handed to the pool and, once done, its result.
type embedJob struct {
	song schema.Song
	hop  int
	hash string
	dst  []float32
	err  error // from Net.Embed: a reject
	// fail is a panic of the network (a bug, not a bad song): it fails the
	// bundle, as it would have on the bundle's goroutine.
	fail error
	done chan<- *embedJob
}

func newNetPool(w *model.Weights, workers int) *netPool {
	p := &netPool{jobs: make(chan *embedJob), workers: max(workers, 1)}
	for range p.workers {
		net := w.NewNet()
		// Scratch for songs up to ~380 s from the start, so the worker's
		// memory does not creep up with the longest song seen so far.
		net.Reserve(model.ReserveFrames)
		p.dim = net.Dim()
		go p.work(net)
	}
	return p
}

func (p *netPool) work(net *model.Net) {
	for j := range p.jobs {
		j.run(net)
		j.done <- j
	}
}

func (j *embedJob) run(net *model.Net) {
	defer func() {
		if r := recover(); r != nil {
			j.fail = fmt.Errorf("transforms: embedding %s: panic: %v\n%s", j.song.SongID, r, debug.Stack())
		}
	}()
	j.err = net.Embed(j.dst, j.song.Crema, j.hop)
}

// netPoolFor returns the process's pool for w, starting it on first use.
func netPoolFor(w *model.Weights) *netPool {
	weightsCache.Lock()
	defer weightsCache.Unlock()
	if p, ok := weightsCache.pools[w]; ok {
		return p
	}
	p := newNetPool(w, runtime.GOMAXPROCS(0))
	weightsCache.pools[w] = p
	return p
}

// inflight is one bundle's songs in the pool: at most cap(done) at once,
// one per network and one more (so that a network that finishes finds the
// next song waiting while the bundle collects).
type inflight struct {
	pool *netPool
	done chan *embedJob
	n    int
}

func newInflight(p *netPool) *inflight {
	return &inflight{pool: p, done: make(chan *embedJob, p.workers+1)}
}

// submit hands j to the pool; when the bundle already has as many songs in
// the pool as it may, it first waits for one and passes it to collect.
func (b *inflight) submit(j *embedJob, collect func(*embedJob) error) error {
	if b.n == cap(b.done) {
		if err := b.wait(collect); err != nil {
			return err
		}
	}
	j.done = b.done
	b.pool.jobs <- j
	b.n++
	for b.n > 0 { // pass on what is already done, without waiting
		select {
		case d := <-b.done:
			b.n--
			if err := collect(d); err != nil {
				return err
			}
		default:
			return nil
		}
	}
	return nil
}

// wait waits for one song and passes it to collect.
func (b *inflight) wait(collect func(*embedJob) error) error {
	d := <-b.done
	b.n--
	return collect(d)
}

// drain waits for every song the bundle has in the pool.
func (b *inflight) drain(collect func(*embedJob) error) error {
	for b.n > 0 {
		if err := b.wait(collect); err != nil {
			return err
		}
	}
	return nil
}
