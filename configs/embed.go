// Package configs holds the configuration files Gatewatch ships: the
// default gateway configuration (embedded in the binary) and examples for
// the peers it works with.
package configs

import (
	"embed"
	"io/fs"
	"slices"
)

//go:embed gatewatch.yaml
var defaultYAML []byte

//go:embed notify/*.tmpl
var notifyTemplates embed.FS

// Default returns the embedded default configuration.
func Default() []byte { return slices.Clone(defaultYAML) }

// DefaultName is the name the default configuration is reported under.
const DefaultName = "(embedded default)"

// NotifyTemplates returns the shipped notification templates, named
// sender.tmpl, recipients.tmpl and admin.tmpl at the root, as a
// notify.templates directory would hold them.
func NotifyTemplates() fs.FS {
	sub, err := fs.Sub(notifyTemplates, "notify")
	if err != nil {
		// fs.Sub fails only for an invalid path, and "notify" is a constant.
		panic(err)
	}
	return sub
}
