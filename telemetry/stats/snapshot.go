package stats

import "time"

// Sample is one value of one figure: a scalar, or one member of a family.
type Sample struct {
	Desc  Desc
	Label string // "" for a scalar
	Value uint64
}

// HistogramSample is one histogram, or one member of a histogram family.
type HistogramSample struct {
	Desc  Desc
	Label string
	Value HistogramValue
}

// Snapshot is a copy of every figure taken in one pass, so that a reader
// (an SNMP walk, a scrape) sees figures from the same moment and never holds
// anything the mail path needs.
type Snapshot struct {
	Taken      time.Time
	Samples    []Sample
	Histograms []HistogramSample
}

// Snapshot copies every figure.
func (s *Stats) Snapshot() Snapshot {
	snap := Snapshot{Taken: time.Now(), Samples: make([]Sample, 0, len(s.figures)+32)}
	for _, f := range s.figures {
		switch {
		case f.scalar != nil:
			snap.Samples = append(snap.Samples, Sample{Desc: f.desc, Value: f.scalar()})
		case f.family != nil:
			for _, lv := range f.family() {
				snap.Samples = append(snap.Samples, Sample{Desc: f.desc, Label: lv.Label, Value: lv.Value})
			}
		case f.hist != nil:
			for _, lh := range f.hist() {
				snap.Histograms = append(snap.Histograms, HistogramSample{Desc: f.desc, Label: lh.Label, Value: lh.Value})
			}
		}
	}
	return snap
}

// Descs lists the description of every figure in registration order.
func (s *Stats) Descs() []Desc {
	out := make([]Desc, len(s.figures))
	for i, f := range s.figures {
		out[i] = f.desc
	}
	return out
}

// Lookup returns the value of a scalar, or of one member of a family, by
// its Prometheus-style name; ok is false when there is no such sample.
func (snap Snapshot) Lookup(name, label string) (v uint64, ok bool) {
	for _, smp := range snap.Samples {
		if smp.Desc.Name == name && smp.Label == label {
			return smp.Value, true
		}
	}
	return 0, false
}
