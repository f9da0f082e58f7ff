package agentx

import (
	"fmt"
	"reflect"
	"sort"
	"testing"

	"github.com/posteo/go-agentx/pdu"

	"github.com/gatewatch/gatewatch/telemetry/mib"
)

// listTable is a table over a sorted list, like mib.View.
type listTable []mib.Varbind

func newListTable(oids ...string) listTable {
	t := make(listTable, len(oids))
	for i, s := range oids {
		t[i] = mib.Varbind{OID: oid(s), Value: mib.Value{Syntax: mib.Gauge32, Uint: uint64(i)}}
	}
	sort.Slice(t, func(i, j int) bool { return mib.Compare(t[i].OID, t[j].OID) < 0 })
	return t
}

func (t listTable) Get(o mib.OID) (mib.Varbind, bool) {
	for _, vb := range t {
		if mib.Compare(vb.OID, o) == 0 {
			return vb, true
		}
	}
	return mib.Varbind{}, false
}

func (t listTable) Next(from mib.OID, include bool, to mib.OID) (mib.Varbind, bool) {
	for _, vb := range t {
		c := mib.Compare(vb.OID, from)
		if c > 0 || include && c == 0 {
			if len(to) > 0 && mib.Compare(vb.OID, to) >= 0 {
				return mib.Varbind{}, false
			}
			return vb, true
		}
	}
	return mib.Varbind{}, false
}

// show renders varbinds as "OID=value" or "OID!exception" for comparison.
func show(vbs []outVarbind) []string {
	out := make([]string, len(vbs))
	for i, vb := range vbs {
		switch vb.typ {
		case pdu.VariableTypeNoSuchObject:
			out[i] = vb.name.String() + "!noSuchObject"
		case pdu.VariableTypeNoSuchInstance:
			out[i] = vb.name.String() + "!noSuchInstance"
		case pdu.VariableTypeEndOfMIBView:
			out[i] = vb.name.String() + "!endOfMibView"
		default:
			out[i] = fmt.Sprintf("%s=%d", vb.name, vb.val.Uint)
		}
	}
	return out
}

// The test table: two scalars, a two-column table with rows 1 and 2.
var testTable = newListTable("1.1.1.0", "1.1.2.0", "1.2.1.1.1", "1.2.1.1.2", "1.2.1.2.1", "1.2.1.2.2")

func rng(start string, include bool, end string) searchRange {
	r := searchRange{start: oid(start), include: include}
	if end != "" {
		r.end = oid(end)
	}
	return r
}

func TestAnswerGet(t *testing.T) {
	got := show(answerGet(testTable, []searchRange{
		rng("1.1.2.0", false, ""),   // exists
		rng("1.1.2.1", false, ""),   // scalar object, wrong instance
		rng("1.1.3.0", false, ""),   // no such object
		rng("1.2.1.2.7", false, ""), // column exists, row does not
		rng("1.2", false, ""),       // not an instance of anything
		rng("1", false, ""),
		rng("1.1.1.0", true, "1.1.1.1"), // Get ignores include and end
	}))
	want := []string{"1.1.2.0=1", "1.1.2.1!noSuchInstance", "1.1.3.0!noSuchObject", "1.2.1.2.7!noSuchInstance",
		"1.2!noSuchObject", "1!noSuchObject", "1.1.1.0=0"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	if got := answerGet(testTable, nil); len(got) != 0 {
		t.Errorf("no ranges answered with %v", show(got))
	}
}

func TestAnswerGetNext(t *testing.T) {
	got := show(answerGetNext(testTable, []searchRange{
		rng("1.1.1.0", false, ""),           // exclusive: the next one
		rng("1.1.1.0", true, ""),            // inclusive: itself
		rng("1.1.1.5", true, ""),            // inclusive, absent: the next one
		rng("1.1.2.0", false, "1.2"),        // next is at the end: excluded
		rng("1.1.2.0", false, "1.2.1.1.2"),  // end after the next one
		rng("1.2.1.2.2", false, ""),         // last: end of view
		rng("0", false, ""),                 // before everything
		rng("1.2.1.1.1", true, "1.2.1.1.1"), // empty range
	}))
	want := []string{"1.1.2.0=1", "1.1.1.0=0", "1.1.2.0=1", "1.1.2.0!endOfMibView", "1.2.1.1.1=2",
		"1.2.1.2.2!endOfMibView", "1.1.1.0=0", "1.2.1.1.1!endOfMibView"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

func TestAnswerGetBulk(t *testing.T) {
	cases := []struct {
		name          string
		nonRep, maxRp uint16
		ranges        []searchRange
		want          []string
	}{
		{"no ranges", 0, 10, nil, []string{}},
		{"non-repeaters only", 2, 10, []searchRange{rng("1.1.1.0", false, ""), rng("1.2.1.2.1", false, "")},
			[]string{"1.1.2.0=1", "1.2.1.2.2=5"}},
		{"non-repeaters beyond the ranges", 9, 3, []searchRange{rng("1.1", false, "")},
			[]string{"1.1.1.0=0"}},
		{"zero repetitions", 1, 0, []searchRange{rng("1.1", false, ""), rng("1.2", false, "")},
			[]string{"1.1.1.0=0"}},
		{"one repeater, three repetitions", 0, 3, []searchRange{rng("1.1", false, "")},
			[]string{"1.1.1.0=0", "1.1.2.0=1", "1.2.1.1.1=2"}},
		{"include applies to the first repetition only", 0, 2, []searchRange{rng("1.1.2.0", true, "")},
			[]string{"1.1.2.0=1", "1.2.1.1.1=2"}},
		{"two columns side by side", 1, 2,
			[]searchRange{rng("1.1.1.0", false, ""), rng("1.2.1.1", false, "1.2.1.2"), rng("1.2.1.2", false, "")},
			[]string{"1.1.2.0=1", "1.2.1.1.1=2", "1.2.1.2.1=4", "1.2.1.1.2=3", "1.2.1.2.2=5"}},
		{"a repeater hits its end, the other goes on", 0, 3,
			[]searchRange{rng("1.2.1.1", false, "1.2.1.2"), rng("1.1", false, "")},
			[]string{"1.2.1.1.1=2", "1.1.1.0=0", "1.2.1.1.2=3", "1.1.2.0=1", "1.2.1.1.2!endOfMibView", "1.2.1.1.1=2"}},
		{"stops after a repetition of only endOfMibView", 0, 100,
			[]searchRange{rng("1.2.1.2.1", false, "")},
			[]string{"1.2.1.2.2=5", "1.2.1.2.2!endOfMibView"}},
		{"all ended at once", 1, 100,
			[]searchRange{rng("1.1", false, ""), rng("9", false, ""), rng("8", false, "")},
			[]string{"1.1.1.0=0", "9!endOfMibView", "8!endOfMibView"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := show(answerGetBulk(testTable, tc.nonRep, tc.maxRp, tc.ranges))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestAnswerGetBulkIsBounded(t *testing.T) {
	// A long table and a greedy request: the answer stops near
	// maxBulkVarbinds, in whole repetitions.
	oids := make([]string, 3*maxBulkVarbinds)
	for i := range oids {
		oids[i] = fmt.Sprintf("1.3.%d", i+1)
	}
	big := newListTable(oids...)
	ranges := []searchRange{rng("1.3", false, ""), rng("1.3", false, ""), rng("1.3", false, "")}
	got := answerGetBulk(big, 0, 65535, ranges)
	if len(got) > maxBulkVarbinds || len(got) < maxBulkVarbinds-len(ranges) || len(got)%len(ranges) != 0 {
		t.Errorf("%d varbinds for 3 repeaters x 65535 repetitions (bound %d)", len(got), maxBulkVarbinds)
	}
	// But one repetition always completes, however many ranges there are.
	wide := make([]searchRange, maxBulkVarbinds+10)
	for i := range wide {
		wide[i] = rng("1.3", false, "")
	}
	if got := answerGetBulk(big, 0, 5, wide); len(got) != len(wide) {
		t.Errorf("%d varbinds for one repetition of %d ranges", len(got), len(wide))
	}
}
