package realtimesecret

import (
	"context"
	"sync"
)

// inflight lets one request at a time act on a session on this node.
// Concurrent hang-ups of one session then cost one upstream request: the
// first goes upstream, the others wait for it and find the session ended.
type inflight struct {
	mu   sync.Mutex
	byID map[string]chan struct{} // closed when the request holding the id leaves
}

// enter waits until no other request holds id, then holds it until the
// returned leave is called. It gives up when ctx ends.
func (f *inflight) enter(ctx context.Context, id string) (leave func(), err error) {
	for {
		f.mu.Lock()
		busy, held := f.byID[id]
		if !held {
			if f.byID == nil {
				f.byID = make(map[string]chan struct{})
			}
			done := make(chan struct{})
			f.byID[id] = done
			f.mu.Unlock()
			return func() {
				f.mu.Lock()
				delete(f.byID, id)
				f.mu.Unlock()
				close(done)
			}, nil
		}
		f.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
