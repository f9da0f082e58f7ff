// Package configs holds the configuration files Gatewatch ships: the
// default gateway configuration (embedded in the binary) and examples for
// the peers it works with.
package configs

import (
	_ "embed"
	"slices"
)

//go:embed gatewatch.yaml
var defaultYAML []byte

// Default returns the embedded default configuration.
func Default() []byte { return slices.Clone(defaultYAML) }

// DefaultName is the name the default configuration is reported under.
const DefaultName = "(embedded default)"
