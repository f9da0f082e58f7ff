package bayes

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/gatewatch/gatewatch/internal/durable"
)

// The model file, version 1. All integers are big-endian; "uvarint" is
// encoding/binary's unsigned varint.
//
//	magic       8 bytes   "GWBAYES\n"
//	version     uint32    1
//	spam msgs   uint64
//	ham msgs    uint64
//	tokens      uint64    number of token records that follow
//	records     tokens x  uvarint length, token bytes, uvarint spam count, uvarint ham count
//	            (sorted by token, so the same model always gives the same file)
//	checksum    32 bytes  SHA-256 of everything before it
//
// The checksum comes last so that the file can be written in one pass; it
// catches truncation (a file cut anywhere no longer ends in the checksum of
// what precedes it) as well as damage.
const (
	fileMagic   = "GWBAYES\n"
	fileVersion = 1
	// fixedSize is the size of the fixed part before the records.
	fixedSize = len(fileMagic) + 4 + 3*8
)

// Save writes the model to path atomically: to a temporary file in the same
// directory, synced, then renamed over path, and the directory synced, so
// that a crash leaves either the old model or the new one, never a mix. The
// file is 0600: what a site's users receive can be read out of it.
func (m *Model) Save(path string) error {
	err := durable.WriteFile(path, 0o600, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<16)
		if err := m.encode(bw); err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	return nil
}

// encode writes the file format to w, holding the read lock so that the
// totals and the token counts are from the same moment.
func (m *Model) encode(w io.Writer) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	sum := sha256.New()
	out := io.MultiWriter(w, sum)
	fixed := make([]byte, 0, fixedSize)
	fixed = append(fixed, fileMagic...)
	fixed = binary.BigEndian.AppendUint32(fixed, fileVersion)
	fixed = binary.BigEndian.AppendUint64(fixed, uint64(m.spamMsgs))
	fixed = binary.BigEndian.AppendUint64(fixed, uint64(m.hamMsgs))
	fixed = binary.BigEndian.AppendUint64(fixed, uint64(len(m.tokens)))
	if _, err := out.Write(fixed); err != nil {
		return err
	}
	keys := make([]string, 0, len(m.tokens))
	for t := range m.tokens {
		keys = append(keys, t)
	}
	slices.Sort(keys)
	rec := make([]byte, 0, 128)
	for _, t := range keys {
		c := m.tokens[t]
		rec = binary.AppendUvarint(rec[:0], uint64(len(t)))
		rec = append(rec, t...)
		rec = binary.AppendUvarint(rec, uint64(c.spam))
		rec = binary.AppendUvarint(rec, uint64(c.ham))
		if _, err := out.Write(rec); err != nil {
			return err
		}
	}
	_, err := w.Write(sum.Sum(nil))
	return err
}

// Load reads a model written by Save. A file that is truncated, damaged, of
// another version or not a model at all is an error that says which.
func Load(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	m, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
	return m, nil
}

// decode parses the file format. The checksum is verified before anything
// else is trusted, so the record parser below only ever sees bytes that Save
// wrote (or a deliberate forgery, which it still rejects without panicking).
func decode(data []byte) (*Model, error) {
	if len(data) == 0 {
		return nil, errors.New("the file is empty")
	}
	if len(data) < len(fileMagic) || string(data[:len(fileMagic)]) != fileMagic {
		return nil, errors.New("not a gatewatch Bayes model (bad magic)")
	}
	if len(data) < fixedSize+sha256.Size {
		return nil, fmt.Errorf("file truncated: %d bytes, a model has at least %d", len(data), fixedSize+sha256.Size)
	}
	if v := binary.BigEndian.Uint32(data[len(fileMagic):]); v != fileVersion {
		return nil, fmt.Errorf("unsupported model version %d (this gatewatch reads version %d)", v, fileVersion)
	}
	body, want := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], want) {
		return nil, errors.New("checksum mismatch: the file is truncated or corrupt")
	}
	p := parser{data: body[len(fileMagic)+4:]}
	spamMsgs, hamMsgs, n := p.uint64(), p.uint64(), p.uint64()
	if spamMsgs > math.MaxUint32 || hamMsgs > math.MaxUint32 {
		return nil, errors.New("message counts out of range")
	}
	// Every record takes at least 4 bytes (three varints and one token
	// byte), which bounds the allocation whatever n claims.
	if n > uint64(len(p.data))/4 {
		return nil, fmt.Errorf("token count %d does not fit in %d bytes of records", n, len(p.data))
	}
	m := &Model{tokens: make(map[string]counts, n), spamMsgs: uint32(spamMsgs), hamMsgs: uint32(hamMsgs)}
	for i := uint64(0); i < n; i++ {
		t := p.bytes()
		spam, ham := p.uvarint(), p.uvarint()
		if p.err != nil {
			return nil, fmt.Errorf("record %d: %w", i, p.err)
		}
		if spam > math.MaxUint32 || ham > math.MaxUint32 || spam+ham == 0 {
			return nil, fmt.Errorf("record %d: counts %d/%d out of range", i, spam, ham)
		}
		m.tokens[string(t)] = counts{spam: uint32(spam), ham: uint32(ham)}
	}
	if p.err != nil {
		return nil, p.err
	}
	if len(p.data) != 0 {
		return nil, fmt.Errorf("%d unexpected bytes after the last record", len(p.data))
	}
	if uint64(len(m.tokens)) != n {
		return nil, errors.New("duplicate tokens")
	}
	return m, nil
}

// parser reads the record fields; the first error sticks, so a sequence of
// reads needs only one check.
type parser struct {
	data []byte
	err  error
}

var errShort = errors.New("record runs past the end of the data")

func (p *parser) uint64() uint64 {
	if p.err != nil {
		return 0
	}
	if len(p.data) < 8 {
		p.err = errShort
		return 0
	}
	v := binary.BigEndian.Uint64(p.data)
	p.data = p.data[8:]
	return v
}

func (p *parser) uvarint() uint64 {
	if p.err != nil {
		return 0
	}
	v, n := binary.Uvarint(p.data)
	if n <= 0 {
		p.err = errors.New("bad varint")
		return 0
	}
	p.data = p.data[n:]
	return v
}

func (p *parser) bytes() []byte {
	n := p.uvarint()
	if p.err != nil {
		return nil
	}
	switch {
	case n == 0:
		p.err = errors.New("empty token")
		return nil
	case n > uint64(len(p.data)):
		p.err = errShort
		return nil
	}
	b := p.data[:n]
	p.data = p.data[n:]
	return b
}
