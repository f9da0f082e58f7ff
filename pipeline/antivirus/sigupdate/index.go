package sigupdate

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"
)

// IndexEntry is one line of a source's index.
type IndexEntry struct {
	Name   string
	SHA256 []byte // nil when the index gives no digest
}

// maxIndexEntries bounds what a hostile or broken index can make us fetch
// and keep in memory.
const maxIndexEntries = 10000

// maxIndexLine bounds one line: an entry needs under 200 bytes, the rest
// is room for comments.
const maxIndexLine = 64 << 10

// namePattern admits only plain base names with a signature extension:
// names from a remote index become paths in the staging directory, so
// slashes, leading dots and ".." must not get through.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.(hdb|hsb)$`)

func validName(name string) bool { return namePattern.MatchString(name) }

// ParseIndex reads a source's index: UTF-8 text, one "NAME [SHA256HEX]"
// per line; blank lines and lines starting with # are ignored.
func ParseIndex(r io.Reader) ([]IndexEntry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxIndexLine)
	var entries []IndexEntry
	firstLine := map[string]int{}
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if !utf8.ValidString(line) {
			return nil, fmt.Errorf("index line %d: not UTF-8", n)
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		e, err := parseIndexLine(line)
		if err != nil {
			return nil, fmt.Errorf("index line %d: %w", n, err)
		}
		if prev, dup := firstLine[e.Name]; dup {
			return nil, fmt.Errorf("index line %d: %s is already listed on line %d", n, e.Name, prev)
		}
		if len(entries) == maxIndexEntries {
			return nil, fmt.Errorf("index line %d: more than %d entries", n, maxIndexEntries)
		}
		firstLine[e.Name] = n
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("index line %d: longer than %d bytes", n+1, maxIndexLine)
		}
		return nil, fmt.Errorf("index line %d: %w", n+1, err)
	}
	if len(entries) == 0 {
		return nil, errors.New("index lists no signature files")
	}
	return entries, nil
}

func parseIndexLine(line string) (IndexEntry, error) {
	fields := strings.Fields(line)
	if len(fields) > 2 {
		return IndexEntry{}, errors.New(`want "NAME [SHA256HEX]"`)
	}
	name := fields[0]
	if !validName(name) {
		return IndexEntry{}, fmt.Errorf("name %q is not a plain file name ending in .hdb or .hsb", name)
	}
	e := IndexEntry{Name: name}
	if len(fields) == 2 {
		sum, err := hex.DecodeString(fields[1])
		if err != nil || len(sum) != 32 {
			return IndexEntry{}, fmt.Errorf("%s: %q is not a SHA-256 in hex", name, fields[1])
		}
		e.SHA256 = sum
	}
	return e, nil
}
