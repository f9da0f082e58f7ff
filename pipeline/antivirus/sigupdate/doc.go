// Package sigupdate fetches ClamAV-format hash signature sets (.hdb, .hsb)
// from a local directory or an HTTP(S) directory and installs them as the
// builtin scanner's signature directory ("keepup2date").
//
// A set is staged in a sibling directory of the target (same filesystem),
// validated with builtin.LoadDir and then swapped in with one
// renameat2(RENAME_EXCHANGE), so the target path always names a complete
// set: either the old one or the new one, never a half-written one. On a
// filesystem without RENAME_EXCHANGE two renames are used instead, and
// for the moment between them the target does not exist. The replaced set
// is kept beside the target until the next update, because a reader that
// opened the old directory just before the swap must still find its files.
//
// What the swap cannot do is make a reader that resolves the target path
// several times (builtin.LoadDir globs the directory and then opens each
// file by path) see one set when the swap lands between two of its
// lookups: with several files it may read some files of the old set and
// some of the new. A reloader that must not mix sets should stat the
// directory before and after loading and load again when its inode or
// ctime changed, as Current does.
package sigupdate
