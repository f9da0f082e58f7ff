package stats

import (
	"sort"
	"sync"
	"time"
)

// Association is one open connection, as NETWORK-SERVICES-MIB's assocTable
// and MTA-MIB's group associations show it.
type Association struct {
	Index   uint32 // 1..2^31-1, unique among open associations
	Group   string // "" for inbound SMTP, else the route name
	Remote  string // the peer's address
	Inbound bool   // the peer connected to us
	Started time.Time
}

// Associations is the registry of open connections.
type Associations struct {
	mu   sync.Mutex
	next uint32
	byID map[string]*Association
	used map[uint32]bool
}

func newAssociations() *Associations {
	return &Associations{byID: map[string]*Association{}, used: map[uint32]bool{}}
}

// Open records a connection under key (a session or connection ID).
func (a *Associations) Open(key, group, remote string, inbound bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, dup := a.byID[key]; dup {
		return
	}
	for {
		a.next++
		if a.next > 1<<31-1 {
			a.next = 1
		}
		if !a.used[a.next] {
			break
		}
	}
	a.used[a.next] = true
	a.byID[key] = &Association{Index: a.next, Group: group, Remote: remote, Inbound: inbound, Started: time.Now()}
}

// Close forgets the connection recorded under key.
func (a *Associations) Close(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if as := a.byID[key]; as != nil {
		delete(a.used, as.Index)
		delete(a.byID, key)
	}
}

// List returns the open associations ordered by index.
func (a *Associations) List() []Association {
	a.mu.Lock()
	out := make([]Association, 0, len(a.byID))
	for _, as := range a.byID {
		out = append(out, *as)
	}
	a.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}
