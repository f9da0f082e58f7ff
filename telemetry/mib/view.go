package mib

import (
	"encoding/binary"
	"sort"
	"time"

	"github.com/gatewatch/gatewatch/telemetry/stats"
)

// View is every served object's value at one moment, sorted by OID, so
// that a walk made of many requests sees figures from one moment and no
// request ever touches what the mail path uses.
type View struct {
	vbs   []Varbind
	Taken time.Time
}

// NewView reads st once. groups keeps MTA-MIB group indexes stable across
// views (RFC 2789 forbids renumbering a group while the MTA runs).
func NewView(st *stats.Stats, groups *Groups) *View {
	snap := st.Snapshot()
	v := &View{Taken: snap.Taken, vbs: make([]Varbind, 0, 512)}
	v.info(st)
	v.statistics(snap)
	v.tables(snap, st.Descs())
	v.standard(st, snap, groups)
	sort.Slice(v.vbs, func(i, j int) bool { return Compare(v.vbs[i].OID, v.vbs[j].OID) < 0 })
	return v
}

func (v *View) add(oid OID, val Value) { v.vbs = append(v.vbs, Varbind{OID: oid, Value: val}) }

// Varbinds returns every value in OID order.
func (v *View) Varbinds() []Varbind { return v.vbs }

// Get returns the value of exactly oid.
func (v *View) Get(oid OID) (Varbind, bool) {
	i := sort.Search(len(v.vbs), func(i int) bool { return Compare(v.vbs[i].OID, oid) >= 0 })
	if i < len(v.vbs) && Compare(v.vbs[i].OID, oid) == 0 {
		return v.vbs[i], true
	}
	return Varbind{}, false
}

// Next returns the first value after from (at from when include), before
// to unless to is empty: an AgentX search range.
func (v *View) Next(from OID, include bool, to OID) (Varbind, bool) {
	i := sort.Search(len(v.vbs), func(i int) bool {
		c := Compare(v.vbs[i].OID, from)
		return c > 0 || include && c == 0
	})
	if i == len(v.vbs) {
		return Varbind{}, false
	}
	if len(to) > 0 && Compare(v.vbs[i].OID, to) >= 0 {
		return Varbind{}, false
	}
	return v.vbs[i], true
}

func (v *View) info(st *stats.Stats) {
	version, host := st.Info()
	hash, loaded := st.Config()
	v.add(infoOID().Append(infoVersion, 0), octets(version))
	v.add(infoOID().Append(infoHostname, 0), octets(host))
	v.add(infoOID().Append(infoStartTime, 0), octets(dateAndTime(st.Started())))
	v.add(infoOID().Append(infoConfigLoadTime, 0), octets(dateAndTime(loaded)))
	v.add(infoOID().Append(infoConfigHash, 0), octets(hash))
}

// value is a figure's value with its MIB syntax.
func value(d stats.Desc, n uint64) Value {
	if d.Kind == stats.KindGauge {
		return gauge32(n)
	}
	return counter64(n)
}

func micros(seconds float64) uint64 { return uint64(seconds * 1e6) }

func (v *View) statistics(snap stats.Snapshot) {
	for _, s := range snap.Samples {
		if s.Desc.Label == "" {
			v.add(scalarOID(s.Desc), value(s.Desc, s.Value))
		}
	}
	for _, h := range snap.Histograms {
		if h.Desc.Label == "" {
			v.add(scalarOID(h.Desc), counter64(h.Value.Count))
			v.add(scalarSumOID(h.Desc), counter64(micros(h.Value.Sum)))
		}
	}
}

// tables lays family members out as rows: every column of a table gets a
// value in every row (0 where a family has no member of that name yet).
func (v *View) tables(snap stats.Snapshot, descs []stats.Desc) {
	type cell struct {
		arc uint32
		val Value
	}
	type tbl struct {
		cols map[uint32]stats.Desc // column arc -> figure
		rows map[string][]cell
	}
	byKey := map[string]*tbl{}
	get := func(key string) *tbl {
		t := byKey[key]
		if t == nil {
			t = &tbl{cols: map[uint32]stats.Desc{}, rows: map[string][]cell{}}
			byKey[key] = t
		}
		return t
	}
	// Every column of a table exists in every row, even a column whose
	// family has no member of any name yet.
	for _, d := range descs {
		if d.Label == "" || d.Table == "" {
			continue
		}
		t := get(d.Table)
		t.cols[d.Arc] = d
		if d.Kind == stats.KindHistogram {
			t.cols[d.SumArc] = d
		}
	}
	for _, s := range snap.Samples {
		if s.Desc.Label == "" || s.Desc.Table == "" {
			continue
		}
		t := get(s.Desc.Table)
		t.cols[s.Desc.Arc] = s.Desc
		t.rows[s.Label] = append(t.rows[s.Label], cell{s.Desc.Arc, value(s.Desc, s.Value)})
	}
	for _, h := range snap.Histograms {
		if h.Desc.Label == "" || h.Desc.Table == "" {
			continue
		}
		t := get(h.Desc.Table)
		t.cols[h.Desc.Arc], t.cols[h.Desc.SumArc] = h.Desc, h.Desc
		t.rows[h.Label] = append(t.rows[h.Label], cell{h.Desc.Arc, counter64(h.Value.Count)}, cell{h.Desc.SumArc, counter64(micros(h.Value.Sum))})
	}
	for key, t := range byKey {
		spec, ok := tableByKey(key)
		if !ok {
			continue
		}
		entry := entryOID(spec)
		for label, cells := range t.rows {
			idx, ok := rowIndex(label)
			if !ok {
				continue
			}
			v.add(entry.Append(colName).Append(idx...), octets(label))
			have := map[uint32]bool{}
			for _, c := range cells {
				have[c.arc] = true
				v.add(entry.Append(c.arc).Append(idx...), c.val)
			}
			for arc, d := range t.cols {
				if !have[arc] {
					zero := value(d, 0)
					if d.Kind == stats.KindHistogram {
						zero = counter64(0)
					}
					v.add(entry.Append(arc).Append(idx...), zero)
				}
			}
		}
	}
}

// dateAndTime encodes t as SNMPv2-TC's DateAndTime in UTC (11 octets).
func dateAndTime(t time.Time) string {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	t = t.UTC()
	b := make([]byte, 11)
	binary.BigEndian.PutUint16(b, uint16(t.Year()))
	b[2], b[3], b[4], b[5], b[6] = byte(t.Month()), byte(t.Day()), byte(t.Hour()), byte(t.Minute()), byte(t.Second())
	b[7] = byte(t.Nanosecond() / 1e8)
	b[8], b[9], b[10] = '+', 0, 0
	return string(b)
}
