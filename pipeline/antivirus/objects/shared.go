package objects

import "io"

// sharedMax bounds the bytes of Data a shared walk keeps for the next
// stage: typical mail is walked once instead of once per stage, and a
// large message is walked again rather than held whole while it is
// scanned (one walk hands out one object at a time). With a few hundred
// sessions scanning at once, 2 MiB each stays affordable.
const sharedMax = 2 << 20

// walked is a message taken apart, with the limits it was taken apart
// under.
type walked struct {
	lim     Limits
	objects []*Object
}

// WalkShared is Walk for stages that take the same message apart one
// after the other (the attachment filter, then the anti-virus stage):
// the first keeps the objects of a message of at most sharedMax bytes in
// *slot (pipeline.Message.Walked), and a later call with the same limits
// replays them. fn must not change the objects it is given.
func WalkShared(slot *any, r io.Reader, lim Limits, fn func(*Object) error) error {
	if w, ok := (*slot).(*walked); ok && w.lim == lim {
		for _, o := range w.objects {
			if err := fn(o); err != nil {
				return err
			}
		}
		return nil
	}
	var kept []*Object
	var size int64
	keep := true
	err := Walk(r, lim, func(o *Object) error {
		if keep {
			if size += int64(len(o.Data)); size > sharedMax {
				keep, kept = false, nil
			} else {
				kept = append(kept, o)
			}
		}
		return fn(o)
	})
	if err == nil && keep {
		*slot = &walked{lim: lim, objects: kept}
	}
	return err
}
