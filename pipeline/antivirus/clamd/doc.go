// Package clamd is the gateway's client for ClamAV's clamd daemon.
//
// It speaks clamd's own socket protocol (z-prefixed, NUL-terminated
// commands, INSTREAM for data) rather than passing file names or
// descriptors, so that clamd may run on another host or in another
// container and never needs access to the spool.
//
// clamd closes a connection after one command unless the client opens an
// IDSESSION. Sessions would save a TCP handshake per object but make one
// slow or broken scan poison the others on the same connection, so every
// command here gets a fresh connection; the loopback handshake is cheap
// next to the scan itself.
package clamd
