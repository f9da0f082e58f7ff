package builtin

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// DB is a loaded set of signatures; it is read-only once loaded, so
// scans share it without locking.
type DB struct {
	bySize map[int]map[int64]map[string]string // digest length -> size (or anySize) -> digest -> name
	Count  int                                 // signatures loaded
	Newest time.Time                           // modification time of the newest signature file: the database's age
	// Digest is SHA-256 over every file's base name and content in name
	// order (name, NUL, content, NUL): the set's identity, whoever copied it.
	Digest [sha256.Size]byte
}

// Version is the first 16 hex digits of Digest.
func (db *DB) Version() string { return hex.EncodeToString(db.Digest[:8]) }

func newDB() *DB {
	return &DB{bySize: map[int]map[int64]map[string]string{}}
}

func (db *DB) add(s Signature) {
	sizes := db.bySize[len(s.Hash)]
	if sizes == nil {
		sizes = map[int64]map[string]string{}
		db.bySize[len(s.Hash)] = sizes
	}
	names := sizes[s.Size]
	if names == nil {
		names = map[string]string{}
		sizes[s.Size] = names
	}
	if _, dup := names[string(s.Hash)]; !dup {
		db.Count++
	}
	names[string(s.Hash)] = s.Name
}

// Match returns the name of the signature data matches. Each digest is
// computed only when a signature of that kind could match the size.
func (db *DB) Match(data []byte) (string, bool) {
	if name, ok := eicar(data); ok {
		return name, true
	}
	size := int64(len(data))
	for kind, sizes := range db.bySize {
		exact, wild := sizes[size], sizes[anySize]
		if exact == nil && wild == nil {
			continue
		}
		var sum []byte
		switch kind {
		case kindMD5:
			s := md5.Sum(data)
			sum = s[:]
		case kindSHA1:
			s := sha1.Sum(data)
			sum = s[:]
		case kindSHA256:
			s := sha256.Sum256(data)
			sum = s[:]
		}
		if name, ok := exact[string(sum)]; ok {
			return name, true
		}
		if name, ok := wild[string(sum)]; ok {
			return name, true
		}
	}
	return "", false
}
