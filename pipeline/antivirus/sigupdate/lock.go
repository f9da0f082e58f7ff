package sigupdate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// lockPoll is how often a waiting Install retries the lock. flock(2)
// cannot be interrupted by a context, so waiting is done by polling a
// non-blocking attempt; an Install holds the lock for a whole download,
// so a few milliseconds of extra latency do not matter.
const lockPoll = 20 * time.Millisecond

// lockSet takes the exclusive lock that serialises Installs into one
// directory. The lock file lives next to dir, not in it, because dir
// itself is replaced.
func lockSet(ctx context.Context, path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for the lock %s: %w", path, ctx.Err())
		case <-time.After(lockPoll):
		}
	}
}
