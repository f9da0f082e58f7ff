package contentfilter

import (
	"path"
	"strings"

	"github.com/gabriel-vasile/mimetype"
)

// Object is what a rule looks at.
type Object struct {
	Name     string // file name as declared, decoded
	Declared string // declared media type, "" inside archives
	Data     []byte // the object's bytes (or their beginning)
	Size     int64
}

// Hit is a rule that matched.
type Hit struct {
	Rule   string
	Detail string
}

// Filter applies a configuration.
type Filter struct{ cfg Config }

// New creates a filter for cfg (validated by the caller).
func New(cfg Config) *Filter { return &Filter{cfg: cfg} }

// executables are real types no mail attachment should hide.
var executables = []string{"application/vnd.microsoft.portable-executable", "application/x-msdownload",
	"application/x-executable", "application/x-elf", "application/x-mach-binary", "application/x-dosexec"}

// Check returns the first rule o breaks.
func (f *Filter) Check(o Object) (Hit, bool) {
	if f.cfg.BidiNames {
		if shown, ok := bidiTrick(o.Name); ok {
			return Hit{"bidi_name", "name shows as " + shown}, true
		}
	}
	if f.cfg.DoubleExtension {
		if ext, ok := doubleExtension(o.Name); ok {
			return Hit{"double_extension", "." + ext + " behind a document extension"}, true
		}
	}
	real := ""
	if len(o.Data) > 0 {
		real = mimetype.Detect(o.Data).String()
		if i := strings.IndexByte(real, ';'); i >= 0 {
			real = real[:i]
		}
	}
	lname := strings.ToLower(o.Name)
	for _, r := range f.cfg.Rules {
		for _, g := range r.Names {
			if ok, _ := path.Match(strings.ToLower(g), lname); ok && o.Name != "" {
				return Hit{r.Name, "name " + o.Name}, true
			}
		}
		for _, t := range r.Types {
			if real != "" && typeMatches(t, real) {
				return Hit{r.Name, "real type " + real}, true
			}
		}
		if r.Mismatch && real != "" && isExecutable(real) && !claimsExecutable(o) {
			return Hit{r.Name, "real type " + real + " named " + o.Name}, true
		}
		if r.MaxSize > 0 && o.Size > r.MaxSize {
			return Hit{r.Name, "size over the limit"}, true
		}
	}
	return Hit{}, false
}

func typeMatches(pattern, real string) bool {
	if strings.HasSuffix(pattern, "/*") {
		return strings.HasPrefix(real, strings.TrimSuffix(pattern, "*"))
	}
	return strings.EqualFold(pattern, real)
}

func isExecutable(t string) bool {
	for _, e := range executables {
		if t == e {
			return true
		}
	}
	return false
}

// claimsExecutable reports an object that says what it is: an .exe named
// .exe or declared as a program is a policy matter, not a disguise.
func claimsExecutable(o Object) bool {
	ext := strings.ToLower(path.Ext(o.Name))
	switch ext {
	case ".exe", ".dll", ".com", ".scr", ".sys", ".bin", ".elf", ".msi":
		return true
	}
	return isExecutable(strings.ToLower(o.Declared)) || strings.EqualFold(o.Declared, "application/octet-stream") && ext == ""
}
