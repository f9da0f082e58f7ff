package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jinzhu/configor"
	"gopkg.in/yaml.v3"

	"github.com/gatewatch/gatewatch/configs"
	"github.com/gatewatch/gatewatch/pipeline/antispam"
	"github.com/gatewatch/gatewatch/pipeline/antivirus"
	"github.com/gatewatch/gatewatch/pipeline/contentfilter"
	"github.com/gatewatch/gatewatch/pipeline/delivery"
	"github.com/gatewatch/gatewatch/pipeline/milter"
	"github.com/gatewatch/gatewatch/pipeline/notify"
	"github.com/gatewatch/gatewatch/pipeline/policy"
	"github.com/gatewatch/gatewatch/pipeline/resolver"
	"github.com/gatewatch/gatewatch/pipeline/smtpin"
	"github.com/gatewatch/gatewatch/pipeline/spool"
	"github.com/gatewatch/gatewatch/pipeline/store"
	"github.com/gatewatch/gatewatch/pipeline/watch"
	"github.com/gatewatch/gatewatch/telemetry/logging"
)

// Config is the whole configuration, composed from each package's section.
type Config struct {
	SMTP          smtpin.Config        `yaml:"smtp"`
	Spool         spool.Config         `yaml:"spool"`
	Delivery      delivery.Config      `yaml:"delivery"`
	Milter        milter.Config        `yaml:"milter"`
	CGP           cgpConfig            `yaml:"cgp"`
	Antivirus     antivirus.Config     `yaml:"antivirus"`
	Contentfilter contentfilter.Config `yaml:"contentfilter"`
	Resolver      resolver.Config      `yaml:"resolver"`
	Antispam      antispam.Config      `yaml:"antispam"`
	Policy        policy.Config        `yaml:"policy"`
	Store         store.Config         `yaml:"store"`
	Notify        notify.Config        `yaml:"notify"`
	Admin         AdminConfig          `yaml:"admin"`
	Telemetry     TelemetryConfig      `yaml:"telemetry"`
	Alerts        watch.Config         `yaml:"alerts"`
	Log           logging.Config       `yaml:"log"`
}

// AdminConfig is the admin HTTP listener.
type AdminConfig struct {
	Listen string `yaml:"listen"` // host:port for /metrics /healthz /readyz /stats; "" disables
}

// Validate checks every section; each error names its key.
func (c *Config) Validate() error {
	errs := []error{c.SMTP.Validate(), c.Spool.Validate(), c.Delivery.Validate(), c.Milter.Validate(), c.CGP.Validate(), c.Antivirus.Validate(), c.Contentfilter.Validate(), c.Resolver.Validate(), c.Antispam.Validate(), c.Policy.Validate(), c.Store.Validate(),
		c.Notify.Validate(), c.Telemetry.Validate(), c.Alerts.Validate(), c.Log.Validate()}
	if c.Admin.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Admin.Listen); err != nil {
			errs = append(errs, fmt.Errorf("admin.listen: %q is not host:port", c.Admin.Listen))
		}
	}
	return errors.Join(errs...)
}

// Hash identifies the effective configuration (after defaults and
// environment overrides), for the statistics and the MIB.
func (c *Config) Hash() string {
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// envPrefix prefixes environment overrides: GATEWATCH_<SECTION>_<FIELD>,
// field names as in the Go structs, upper-cased (see the README).
const envPrefix = "GATEWATCH"

// loaded is a configuration with where it came from.
type loaded struct {
	cfg    *Config
	source string // file name, or the embedded default's name
	at     time.Time
}

// loadConfig builds the configuration: the embedded default, then the file
// (when path is not empty) key by key on top, then GATEWATCH_* environment
// overrides; then it validates the result. Errors name the file, line and
// key where they can.
func loadConfig(path string) (*loaded, error) {
	cfg := &Config{}
	def := configs.Default()
	if err := strictYAML(def, cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", configs.DefaultName, err)
	}
	name, data := configs.DefaultName, def
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		name, data = path, b
	}
	// configor reads through an in-memory file system holding just this one
	// file: then it neither looks for environment-named variants next to it
	// nor falls back to an example file when the path is wrong.
	const inner = "gatewatch.yaml"
	c := configor.New(&configor.Config{ENVPrefix: envPrefix, ErrorOnUnmatchedKeys: true, Silent: true,
		Environment: "gatewatch", FS: singleFile{name: inner, data: data}})
	if err := c.Load(cfg, inner); err != nil {
		return nil, explain(name, data, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, explain(name, data, err)
	}
	return &loaded{cfg: cfg, source: name, at: time.Now()}, nil
}

func strictYAML(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	return dec.Decode(v)
}

var (
	unknownField = regexp.MustCompile(`line (\d+): field (\S+) not found in type`)
	lineRef      = regexp.MustCompile(`line (\d+): `)
	keyPath      = regexp.MustCompile(`^([a-z_]+(?:\.[a-z_]+|\[\d+\])*): `)
)

// explain rewrites decoder and validation errors as "file:line: key: what",
// one per line.
func explain(name string, data []byte, err error) error {
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	var out []string
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "yaml: unmarshal errors:"))
		if line == "" {
			continue
		}
		if m := unknownField.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			out = append(out, fmt.Sprintf("%s:%d: unknown key %s", name, n, pathAtLine(&root, n, m[2])))
			continue
		}
		if m := lineRef.FindStringSubmatch(line); m != nil {
			out = append(out, fmt.Sprintf("%s:%s: %s", name, m[1], strings.Replace(line, m[0], "", 1)))
			continue
		}
		if m := keyPath.FindStringSubmatch(line); m != nil {
			if n := lineOf(&root, m[1]); n > 0 {
				out = append(out, fmt.Sprintf("%s:%d: %s", name, n, line))
				continue
			}
		}
		out = append(out, fmt.Sprintf("%s: %s", name, line))
	}
	return errors.New(strings.Join(out, "\n"))
}

// pathAtLine finds the dotted path of the mapping key named key on line n.
func pathAtLine(root *yaml.Node, n int, key string) string {
	var found string
	var walk func(nd *yaml.Node, prefix string)
	walk = func(nd *yaml.Node, prefix string) {
		switch nd.Kind {
		case yaml.DocumentNode:
			for _, c := range nd.Content {
				walk(c, prefix)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(nd.Content); i += 2 {
				k := nd.Content[i]
				p := k.Value
				if prefix != "" {
					p = prefix + "." + k.Value
				}
				if k.Line == n && k.Value == key && found == "" {
					found = p
				}
				walk(nd.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for i, c := range nd.Content {
				walk(c, fmt.Sprintf("%s[%d]", prefix, i))
			}
		}
	}
	walk(root, "")
	if found == "" {
		return strconv.Quote(key)
	}
	return found
}

// lineOf returns the line of a dotted key path in the file, or 0 when the
// file does not set it (the value then came from the default).
func lineOf(root *yaml.Node, path string) int {
	nd := root
	if nd.Kind == yaml.DocumentNode && len(nd.Content) > 0 {
		nd = nd.Content[0]
	}
	line := 0
	for _, part := range strings.Split(strings.ReplaceAll(path, "[", ".["), ".") {
		if strings.HasPrefix(part, "[") {
			i, err := strconv.Atoi(strings.Trim(part, "[]"))
			if err != nil || nd.Kind != yaml.SequenceNode || i >= len(nd.Content) {
				return line
			}
			nd = nd.Content[i]
			line = nd.Line
			continue
		}
		if nd.Kind != yaml.MappingNode {
			return line
		}
		next := (*yaml.Node)(nil)
		for i := 0; i+1 < len(nd.Content); i += 2 {
			if nd.Content[i].Value == part {
				line, next = nd.Content[i].Line, nd.Content[i+1]
				break
			}
		}
		if next == nil {
			return line
		}
		nd = next
	}
	return line
}

// singleFile is a file system with one file in it.
type singleFile struct {
	name string
	data []byte
}

func (s singleFile) Open(name string) (fs.File, error) {
	if name != s.name {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &memFile{Reader: bytes.NewReader(s.data), name: name, size: int64(len(s.data))}, nil
}

type memFile struct {
	*bytes.Reader
	name string
	size int64
}

func (f *memFile) Stat() (fs.FileInfo, error) { return f, nil }
func (f *memFile) Close() error               { return nil }
func (f *memFile) Name() string               { return f.name }
func (f *memFile) Size() int64                { return f.size }
func (f *memFile) Mode() fs.FileMode          { return 0o444 }
func (f *memFile) ModTime() time.Time         { return time.Time{} }
func (f *memFile) IsDir() bool                { return false }
func (f *memFile) Sys() any                   { return nil }
