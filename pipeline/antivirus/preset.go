package antivirus

import (
	"fmt"

	"github.com/gatewatch/gatewatch/pipeline/antivirus/objects"
)

// Presets are KMG 5.4's three scan settings as named limit sets: fastest
// leaves archives to the scanners (clamd unpacks them itself, builtin sees
// the archive whole) and reads less of a message; maximum follows deeper
// nesting and larger objects than recommended.
var presetNames = []string{"fastest", "recommended", "maximum"}

func presetLimits(name string) (objects.Limits, error) {
	switch name {
	case "fastest":
		return objects.Limits{MaxDepth: 2, MaxObjects: 100, MaxTotal: 20 << 20, MaxObject: 10 << 20, MaxRatio: 100, SkipArchives: true}, nil
	case "recommended", "":
		return objects.Limits{MaxDepth: 5, MaxObjects: 1000, MaxTotal: 100 << 20, MaxObject: 25 << 20, MaxRatio: 100}, nil
	case "maximum":
		return objects.Limits{MaxDepth: 10, MaxObjects: 10000, MaxTotal: 512 << 20, MaxObject: 100 << 20, MaxRatio: 100}, nil
	}
	return objects.Limits{}, fmt.Errorf("antivirus.preset: %q: want one of %v", name, presetNames)
}

// Effective is the preset's limits with every limit the configuration
// sets (greater than 0) put over it.
func (c Config) Effective() (objects.Limits, error) {
	lim, err := presetLimits(c.Preset)
	if err != nil {
		return objects.Limits{}, err
	}
	l := c.Limits
	if l.MaxDepth > 0 {
		lim.MaxDepth = l.MaxDepth
	}
	if l.MaxObjects > 0 {
		lim.MaxObjects = l.MaxObjects
	}
	if l.MaxTotal > 0 {
		lim.MaxTotal = l.MaxTotal
	}
	if l.MaxObject > 0 {
		lim.MaxObject = l.MaxObject
	}
	if l.MaxRatio > 0 {
		lim.MaxRatio = l.MaxRatio
	}
	if l.Archives != nil {
		lim.SkipArchives = !*l.Archives
	}
	return lim, nil
}
