package agentx

import (
	"testing"

	"github.com/posteo/go-agentx/pdu"

	"github.com/gatewatch/gatewatch/internal/peers"
	"github.com/gatewatch/gatewatch/telemetry/mib"
)

// BenchmarkWalk times a full snmpwalk of the enterprise subtree through a
// real snmpd, snmpwalk's own start-up included: the figure an operator
// sees. Each GETNEXT is a UDP round trip to snmpd plus an AgentX round
// trip to the subagent.
func BenchmarkWalk(b *testing.B) {
	benchWalk(b, peers.SnmpwalkBin)
}

// BenchmarkBulkWalk is BenchmarkWalk with GETBULK (10 repetitions).
func BenchmarkBulkWalk(b *testing.B) {
	benchWalk(b, peers.SnmpbulkwalkBin)
}

func benchWalk(b *testing.B, bin string) {
	s := peers.StartSnmpd(b, peers.SnmpdOptions{})
	r := startSubagent(b, s.AgentXUnix(), testStats(), nil)
	r.waitConnected(b)
	walk := s.Walk
	if bin == peers.SnmpbulkwalkBin {
		walk = s.BulkWalk
	}
	n := 0
	for b.Loop() {
		n = len(walk(b, mib.Enterprise().String()))
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/walk")
	b.ReportMetric(float64(n), "varbinds")
}

// BenchmarkServeGetNext is the subagent's own share of one GETNEXT:
// decode the request, look up the cached view, encode the response.
func BenchmarkServeGetNext(b *testing.B) {
	views := newViewCache(testStats(), DefaultViewMaxAge)
	req := frame(le().order, pdu.TypeGetNext, 0, 1, 2, 3, le().searchRange(oid(gwReceived), false, mib.Enterprise().Append(3)).b)
	for b.Loop() {
		p, _, err := decode(req)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := marshal(pdu.Header{PacketID: p.packetID}, answer(p, views.get)); err != nil {
			b.Fatal(err)
		}
	}
}
