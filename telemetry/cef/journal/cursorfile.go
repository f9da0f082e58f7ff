package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

const (
	cursorSuffix  = ".cursor"
	tmpSuffix     = ".tmp"
	slotLen       = 12
	cursorFileLen = 2 * slotLen
)

// validName rejects cursor names that could name a file outside the journal
// directory or that the file system cannot hold. The caller sanitises target
// names already; being strict here keeps a mistake there from deleting or
// overwriting files elsewhere.
func validName(name string) error {
	switch {
	case name == "":
		return errors.New("journal: empty cursor name")
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("journal: cursor name %q contains '/' or NUL", name)
	case strings.Contains(name, ".."):
		return fmt.Errorf("journal: cursor name %q contains '..'", name)
	}
	return nil
}

func encodeSlot(b []byte, seq uint64) {
	binary.LittleEndian.PutUint64(b[0:8], seq)
	binary.LittleEndian.PutUint32(b[8:12], checksum(b[0:8]))
}

// decodeCursorFile returns the newest valid position in a cursor file and
// the slot holding it. Positions outside 1..maxSeq are damage.
func decodeCursorFile(b []byte) (seq uint64, slot int, ok bool) {
	if len(b) != cursorFileLen {
		return 0, 0, false
	}
	for i := range 2 {
		s := b[i*slotLen : (i+1)*slotLen]
		v := binary.LittleEndian.Uint64(s[0:8])
		if checksum(s[0:8]) != binary.LittleEndian.Uint32(s[8:12]) || v < 1 || v > maxSeq {
			continue
		}
		if !ok || v > seq {
			seq, slot, ok = v, i, true
		}
	}
	return seq, slot, ok
}

// cursorFile is an open cursor file; it is written only by syncs, which
// Journal.smu serialises.
type cursorFile struct {
	f    *os.File
	path string
	slot int // the slot the next write goes to: the one not holding the newest value
}

func cursorPath(dir, name string) string { return filepath.Join(dir, name+cursorSuffix) }

// createCursorFile writes a cursor file holding seq in both slots through a
// temporary file and rename, so that no crash leaves a half-written one. The
// caller fsyncs the directory.
func createCursorFile(dir, name string, seq uint64) (cursorFile, error) {
	path := cursorPath(dir, name)
	tmp := path + tmpSuffix
	var b [cursorFileLen]byte
	encodeSlot(b[0:slotLen], seq)
	encodeSlot(b[slotLen:], seq)
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return cursorFile{}, fmt.Errorf("journal: create cursor file: %w", err)
	}
	_, err = f.WriteAt(b[:], 0)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return cursorFile{}, fmt.Errorf("journal: write cursor file %s: %w", path, err)
	}
	return cursorFile{f: f, path: path}, nil
}

func openCursorFile(path string, newest int) (cursorFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return cursorFile{}, fmt.Errorf("journal: open cursor file: %w", err)
	}
	return cursorFile{f: f, path: path, slot: 1 - newest}, nil
}

// write persists seq in the older slot and fsyncs.
func (cf *cursorFile) write(seq uint64) error {
	var b [slotLen]byte
	encodeSlot(b[:], seq)
	if _, err := cf.f.WriteAt(b[:], int64(cf.slot*slotLen)); err != nil {
		return fmt.Errorf("journal: write cursor file %s: %w", cf.path, err)
	}
	if err := cf.f.Sync(); err != nil {
		return fmt.Errorf("journal: fsync cursor file %s: %w", cf.path, err)
	}
	cf.slot = 1 - cf.slot
	return nil
}
