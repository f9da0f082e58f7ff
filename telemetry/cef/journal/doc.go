// Package journal is the on-disk store behind the CEF syslog targets: records
// accumulate while a TCP/TLS target is unreachable and are replayed in order
// when it returns, also across a restart of the gateway. Several targets share
// one journal, each through a named Cursor. Records are opaque byte slices;
// the package knows nothing about syslog or networks.
//
// # Directory layout
//
// The journal directory holds segment files and cursor files, nothing else the
// journal cares about; other files are left alone. The directory is locked
// with flock(2) while a Journal is open, so two gateways cannot interleave
// writes in it.
//
// Segment files are named by the sequence number of their first record, in
// twenty decimal digits so that names sort in sequence order:
//
//	00000000000000000001.seg
//	00000000000000004711.seg
//
// A segment is a plain concatenation of records, without a file header:
//
//	[4-byte little-endian length n][4-byte little-endian CRC-32C (Castagnoli) of data][n bytes of data]
//
// The k-th record of a segment (from 0) has sequence number base+k. Lengths
// are at least 1: the CRC-32C of empty data is 0, so a zero-filled region
// (what some file systems show for blocks allocated but never written before
// a crash) would otherwise read as a run of valid empty records.
//
// Only the last segment is written to. It is closed (a new one is started,
// named by the next sequence number) when the next batch would take it past
// the segment size; a batch larger than that goes alone into a segment of its
// own. The last segment always exists, possibly empty, so the next sequence
// number survives even when every record has been delivered and deleted.
//
// Cursor files are named <cursor>.cursor and are 24 bytes: two slots of
//
//	[8-byte little-endian committed sequence number][4-byte little-endian CRC-32C of those 8 bytes]
//
// Updates overwrite the slot that does not hold the newest value and fsync,
// so a torn write damages at most the slot being written and the other still
// holds the previous position. Committed positions only grow, so the valid
// slot with the larger value is the current one. Cursor files are created
// through <cursor>.cursor.tmp and rename(2), so a half-created file is never
// mistaken for a damaged one; leftover temporary files are removed at Open.
//
// # Durability
//
// Appends only write(2); a goroutine owned by the Journal (or, with a
// negative SyncInterval, every Append and Commit) fsyncs the segments written
// to, then the directory when files were created or removed, then the cursor
// files whose position changed. A cursor file is thus never durable ahead of
// the records it refers to. A killed process loses nothing it appended (the
// data is in the kernel); a power failure or kernel crash loses at most the
// last SyncInterval of appends and commits, and a lost commit means records
// are sent again, never skipped.
//
// # Recovery
//
// Open checks every record's length and checksum. The first bad record of a
// segment ends that segment: the file is truncated there and the journal
// continues with the next segment. For the last segment this is the normal
// torn tail of a crash in the middle of a write. For an earlier segment it
// means damage: the records after the bad one are discarded rather than
// guessed at, because a length read after a corrupt record cannot be trusted
// to find the next record boundary, and refusing to open would stop every
// target from receiving anything, including new records, until an operator
// intervened. Each such repair is reported by Journal.Repairs with the file
// and offset, and the records lost are counted for every cursor that had not
// committed them (Journal.Dropped).
//
// # Deletion
//
// Segments leave the disk in two ways. When an append would take the total
// size of the segment files past Options.MaxBytes, the oldest segments are
// deleted at once, whether or not every cursor has committed them; cursors
// that had not are moved to the first remaining record and the loss is
// reported. Segments that every cursor has committed are deleted by the sync
// that has made those cursor positions durable, never before: after a crash a
// cursor resumes at its last persisted position, and the records from there
// on must still exist.
package journal
