package traps

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// For a v3 trap the sender is the authoritative engine (RFC 3414): the
// receiver localises the user's keys with OUR engine ID and checks our
// engine boots and time. So the engine ID must be stable across restarts
// (receivers are configured with it, createUser -e), and boots must grow
// with every start, or receivers would take a restarted gateway's traps for
// replays.

const (
	minEngineIDLen = 5
	maxEngineIDLen = 32
)

// DeriveEngineID is the engine ID used when none is configured: stable for
// a host name, 5 to 32 bytes. It is RFC 3411's enterprise format for 32473
// (the MIB's enterprise, RFC 5612's documentation number) with the high bit
// set, then format 4 ("administratively assigned text") and the host name,
// cut at 27 bytes.
func DeriveEngineID(hostname string) []byte {
	if hostname == "" {
		hostname = "gatewatch"
	}
	id := append([]byte{0x80, 0x00, 0x7E, 0xD9, 0x04}, hostname...)
	return id[:min(len(id), maxEngineIDLen)]
}

func checkEngineID(id []byte) error {
	if len(id) < minEngineIDLen || len(id) > maxEngineIDLen {
		return fmt.Errorf("EngineID: %d bytes, want %d to %d", len(id), minEngineIDLen, maxEngineIDLen)
	}
	return nil
}

// maxBoots is where snmpEngineBoots stops (RFC 3414 section 2.2.2).
const maxBoots = math.MaxInt32

// nextBoots reads the boots count from path, adds one and stores it. The
// new value is written to a temporary file and renamed over the old one, so
// a crash leaves either count, never a torn file. An empty path keeps no
// count: boots is 1.
func nextBoots(path string) (uint32, error) {
	if path == "" {
		return 1, nil
	}
	var boots uint64
	switch data, err := os.ReadFile(path); {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return 0, fmt.Errorf("BootsFile: %w", err)
	default:
		boots, err = strconv.ParseUint(strings.TrimSpace(string(data)), 10, 32)
		if err != nil {
			return 0, fmt.Errorf("BootsFile %s: %q is not a boot count", path, data)
		}
	}
	boots = min(boots+1, maxBoots)
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return 0, fmt.Errorf("BootsFile: %w", err)
	}
	_, err = tmp.WriteString(strconv.FormatUint(boots, 10) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return 0, fmt.Errorf("BootsFile: %w", err)
	}
	return uint32(boots), nil
}
