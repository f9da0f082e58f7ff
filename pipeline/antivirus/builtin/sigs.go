// Package builtin is the scanner that needs no daemon: it knows the EICAR
// test file, and ClamAV-format hash signatures (.hdb: MD5, .hsb: SHA-1 or
// SHA-256, each with the file size or * for any) loaded from a directory.
package builtin

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Hash kinds, by digest length.
const (
	kindMD5    = 16
	kindSHA1   = 20
	kindSHA256 = 32
)

// anySize stands for "*": the signature matches whatever the file's size.
const anySize = -1

// Signature is one hash signature.
type Signature struct {
	Hash []byte
	Size int64 // anySize for "*"
	Name string
}

// ParseLine reads "HASH:SIZE:NAME[:FLEVEL...]" as ClamAV writes .hdb and
// .hsb lines (sigtool --md5/--sha256 prints them).
func ParseLine(line string) (Signature, error) {
	fields := strings.Split(line, ":")
	if len(fields) < 3 {
		return Signature{}, errors.New("want HASH:SIZE:NAME")
	}
	h, err := hex.DecodeString(fields[0])
	if err != nil || (len(h) != kindMD5 && len(h) != kindSHA1 && len(h) != kindSHA256) {
		return Signature{}, fmt.Errorf("%q is not an MD5, SHA-1 or SHA-256 in hex", fields[0])
	}
	size := int64(anySize)
	if fields[1] != "*" {
		size, err = strconv.ParseInt(fields[1], 10, 64)
		if err != nil || size < 0 {
			return Signature{}, fmt.Errorf("size %q is neither a byte count nor *", fields[1])
		}
	}
	name := strings.TrimSpace(fields[2])
	if name == "" || strings.ContainsAny(name, " \t") || len(name) > 200 {
		return Signature{}, fmt.Errorf("name %q: one word of at most 200 characters", name)
	}
	return Signature{Hash: h, Size: size, Name: name}, nil
}

// LoadDir reads every .hdb and .hsb file in dir. Errors name the file and
// line; a directory without signature files is not an error (EICAR is
// still known).
func LoadDir(dir string) (*DB, error) {
	db := newDB()
	if dir == "" {
		return db, nil
	}
	var files []string
	for _, pat := range []string{"*.hdb", "*.hsb"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return nil, err
		}
		files = append(files, m...)
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("signature directory: %w", err)
	}
	sort.Slice(files, func(i, j int) bool { return filepath.Base(files[i]) < filepath.Base(files[j]) })
	digest := sha256.New()
	var errs []error
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("open signatures: %w", err))
			continue
		}
		digest.Write([]byte(filepath.Base(f)))
		digest.Write([]byte{0})
		digest.Write(data)
		digest.Write([]byte{0})
		if err := db.load(f, data); err != nil {
			errs = append(errs, err)
		}
		if st, err := os.Stat(f); err == nil && st.ModTime().After(db.Newest) {
			db.Newest = st.ModTime()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	copy(db.Digest[:], digest.Sum(nil))
	return db, nil
}

// load reads the lines of one file; path names it in errors.
func (db *DB) load(path string, data []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4096), 1<<20)
	var errs []error
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sig, err := ParseLine(line)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", path, n, err))
			if len(errs) >= 10 {
				break // one broken file says enough in ten lines
			}
			continue
		}
		db.add(sig)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", path, err))
	}
	return errors.Join(errs...)
}
