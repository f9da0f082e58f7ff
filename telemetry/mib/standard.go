package mib

import (
	"sort"
	"sync"
	"time"

	"github.com/gatewatch/gatewatch/telemetry"
	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// applIndex is the gateway's row in NETWORK-SERVICES-MIB's applTable, and
// thereby in MTA-MIB's tables.
const applIndex = 1

// inboundGroup is the MTA-MIB group of everything received; each delivery
// route is a group of its own after it.
const inboundGroup = 1

// Groups numbers MTA-MIB groups: a route keeps its number for the life of
// the process, as RFC 2789 requires.
type Groups struct {
	mu      sync.Mutex
	index   map[string]uint32
	created map[uint32]time.Time
	next    uint32
}

// NewGroups starts the numbering with the inbound group.
func NewGroups() *Groups {
	return &Groups{index: map[string]uint32{}, created: map[uint32]time.Time{inboundGroup: time.Now()}, next: inboundGroup + 1}
}

// route returns the group number of a route, giving it one on first sight.
func (g *Groups) route(name string) (uint32, time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	i, ok := g.index[name]
	if !ok {
		i = g.next
		g.next++
		g.index[name] = i
		g.created[i] = time.Now()
	}
	return i, g.created[i]
}

func (g *Groups) inboundCreated() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.created[inboundGroup]
}

// The entries of the tables served; a column is entry.N, a value
// entry.N.<index>.
func applTable() OID       { return NetworkServices().Append(1, 1) }
func assocTable() OID      { return NetworkServices().Append(2, 1) }
func mtaTable() OID        { return MTAMIB().Append(1, 1) }
func mtaGroupTable() OID   { return MTAMIB().Append(2, 1) }
func mtaGroupAssocTb() OID { return MTAMIB().Append(3, 1, 1) }

// connectionRefusals are the refusal reasons that turn a connection away.
func connectionRefusals() []string {
	return []string{string(telemetry.ReasonBlockedClient), string(telemetry.ReasonConnectionLimit), string(telemetry.ReasonConnectionPerIPLimit)}
}

// hundredths is a TimeInterval: hundredths of a second.
func hundredths(d time.Duration) Value { return integer(int64(d / (10 * time.Millisecond))) }

func kilo(n uint64) uint64 { return n / 1024 }

func (v *View) standard(st *stats.Stats, snap stats.Snapshot, groups *Groups) {
	version, _ := st.Info()
	var connRefused, refused uint64
	for _, r := range connectionRefusals() {
		connRefused += st.Refused.With(r).Load()
	}
	refused = stats.SumCounters(st.Refused)
	stored := uint64(max(stats.SumGauges(st.QueueMessages), 0))

	// NETWORK-SERVICES-MIB applTable (RFC 2788). TimeStamps are 0: a
	// subagent cannot know the master's sysUpTime.
	row := func(col uint32, val Value) { v.add(applTable().Append(col, applIndex), val) }
	row(2, octets("gatewatch"))
	row(3, octets(""))
	row(4, octets(version))
	row(5, timeTicks(0))
	row(6, integer(1)) // up
	row(7, timeTicks(0))
	row(8, gauge32(uint64(max(st.IncomingConnections.Load(), 0))))
	row(9, gauge32(uint64(max(st.OutgoingConnections.Load(), 0))))
	row(10, counter32(st.IncomingConnectionsTotal.Load()))
	row(11, counter32(st.OutgoingConnectionsTotal.Load()))
	row(12, timeTicks(0))
	row(13, timeTicks(0))
	row(14, counter32(connRefused))
	row(15, counter32(st.OutgoingConnectionsFailed.Load()))
	row(16, octets("Gatewatch mail security gateway (SMTP relay)"))
	row(17, octets(""))

	// MTA-MIB mtaTable (RFC 2789). Stored volume and recipients are not
	// tracked, so those columns are absent, as the RFC asks of unused ones.
	mta := func(col uint32, val Value) { v.add(mtaTable().Append(col, applIndex), val) }
	mta(1, counter32(st.ReceivedMessages.Load()))
	mta(2, gauge32(stored))
	mta(3, counter32(st.SentMessages.Load()))
	mta(4, counter32(kilo(st.ReceivedBytes.Load())))
	mta(6, counter32(kilo(st.SentBytes.Load())))
	mta(7, counter32(st.ReceivedRecipients.Load()))
	mta(9, counter32(st.SentRecipients.Load()))
	mta(10, counter32(0))
	mta(11, counter32(0))
	mta(12, counter32(st.Refused.With(string(telemetry.ReasonHopsLimit)).Load()))

	// mtaGroupTable: the inbound group, then one per route.
	now := time.Now()
	grp := func(g, col uint32, val Value) { v.add(mtaGroupTable().Append(col, applIndex, g), val) }
	grp(inboundGroup, 2, counter32(st.ReceivedMessages.Load()))
	grp(inboundGroup, 3, counter32(refused-connRefused))
	grp(inboundGroup, 4, gauge32(stored))
	grp(inboundGroup, 6, counter32(kilo(st.ReceivedBytes.Load())))
	grp(inboundGroup, 9, counter32(st.ReceivedRecipients.Load()))
	grp(inboundGroup, 13, gauge32(uint64(max(st.IncomingConnections.Load(), 0))))
	grp(inboundGroup, 15, counter32(st.IncomingConnectionsTotal.Load()))
	grp(inboundGroup, 19, counter32(connRefused))
	grp(inboundGroup, 24, objectID(SMTPProtocol()))
	grp(inboundGroup, 25, octets("inbound"))
	grp(inboundGroup, 28, octets("Mail received over SMTP"))
	grp(inboundGroup, 30, hundredths(now.Sub(groups.inboundCreated())))
	grp(inboundGroup, 31, integer(0))

	routeGroup := map[string]uint32{}
	for _, r := range routeNames(st) {
		g, created := groups.route(r)
		routeGroup[r] = g
		reason := st.RouteLastFailure.With(r).Load()
		if reason == "" {
			reason = "never"
		}
		grp(g, 4, gauge32(uint64(max(st.RouteQueued.With(r).Load(), 0))))
		grp(g, 5, counter32(st.RouteDelivered.With(r).Load()))
		grp(g, 8, counter32(kilo(st.RouteBytes.With(r).Load())))
		grp(g, 11, counter32(st.RouteRcpts.With(r).Load()))
		grp(g, 14, gauge32(uint64(max(st.RouteConns.With(r).Load(), 0))))
		grp(g, 16, counter32(st.RouteConnsAll.With(r).Load()))
		grp(g, 20, counter32(st.RouteConnFails.With(r).Load()))
		grp(g, 22, octets(truncate(reason, 255)))
		grp(g, 24, objectID(SMTPProtocol()))
		grp(g, 25, octets(r))
		grp(g, 28, octets("Delivery route "+r))
		grp(g, 30, hundredths(now.Sub(created)))
		grp(g, 31, integer(0))
	}

	// assocTable and mtaGroupAssociationTable: the open connections.
	for _, a := range st.Associations.List() {
		typ := int64(3) // peer-initiator: another MTA connected to us
		g := uint32(inboundGroup)
		if !a.Inbound {
			typ = 4 // peer-responder: we connected to the next hop
			if g = routeGroup[a.Group]; g == 0 {
				g, _ = groups.route(a.Group)
			}
		}
		as := func(col uint32, val Value) { v.add(assocTable().Append(col, applIndex, a.Index), val) }
		as(2, octets(a.Remote))
		as(3, objectID(SMTPProtocol()))
		as(4, integer(typ))
		as(5, timeTicks(0))
		v.add(mtaGroupAssocTb().Append(applIndex, g, a.Index), integer(int64(a.Index)))
	}
}

// routeNames are the routes any route figure knows, sorted.
func routeNames(st *stats.Stats) []string {
	seen := map[string]bool{}
	for _, f := range []interface{ Labels() []string }{st.RouteDelivered, st.RouteUp, st.RouteQueued, st.RouteAttempts, st.RouteConnsAll} {
		for _, l := range f.Labels() {
			if l != "" {
				seen[l] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for r := range seen {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Registration is a subtree the subagent registers, with its priority
// (lower wins among equal subtrees).
type Registration struct {
	Subtree  OID
	Priority uint8
}

// Registrations are the subtrees the gateway serves. Debian's snmpd has a
// built-in MTA-MIB module (mta_sendmail) that registers each column of the
// MTA tables; a more specific registration wins over a shorter one
// whatever the priority, so the gateway registers those same columns too,
// at a better priority, and the whole MTA-MIB for the rest.
func Registrations() []Registration {
	regs := []Registration{{Enterprise(), 127}, {NetworkServices(), 127}, {MTAMIB(), 127}}
	for col := uint32(1); col <= 12; col++ {
		regs = append(regs, Registration{mtaTable().Append(col), 126})
	}
	for col := uint32(1); col <= 34; col++ {
		regs = append(regs, Registration{mtaGroupTable().Append(col), 126})
	}
	return append(regs, Registration{mtaGroupAssocTb(), 126})
}
