package urls

// windower hands out the stretches of s worth matching, one per trigger:
// from the word holding the trigger to the end of the words joined to it.
// A link is one word, except where blanks sit beside a defanged dot
// ("evil [.] com", "evil . com"), so a stretch is usually a few bytes and
// the regexp runs on little more than the links themselves.
type windower struct {
	s     string
	pos   int // where the last match or stretch ended; nothing before is read again
	chain int // end of the joined words holding the last trigger
}

func (w *windower) next() (start, end int, ok bool) {
	t, spaced := nextTrigger(w.s, w.pos)
	if t < 0 {
		return 0, 0, false
	}
	// A later trigger inside the same run of joined words shares its end;
	// reusing it keeps a long run from being walked once per trigger.
	if t >= w.chain {
		w.chain = chainEnd(w.s, t)
	}
	return wordStart(w.s, w.pos, t, spaced), w.chain, true
}

// wordStart is where a link holding the trigger at t can start, not before
// pos: the start of t's word, or of the word before when spaced says the
// trigger may follow blanks.
func wordStart(s string, pos, t int, spaced bool) int {
	i := t
	for i > pos && !isSpace(s[i-1]) {
		i--
	}
	if spaced {
		for i > pos && isBlank(s[i-1]) {
			i--
		}
		for i > pos && !isSpace(s[i-1]) {
			i--
		}
	}
	return i
}

// chainEnd is the end of the word holding t and of the words that follow it
// across blanks next to a dot or bracket. It errs towards joining: a longer
// stretch costs a little time, a shorter one would cut a link.
func chainEnd(s string, t int) int {
	end := t
	for {
		for end < len(s) && !isSpace(s[end]) {
			end++
		}
		next := end
		for next < len(s) && isBlank(s[next]) {
			next++
		}
		if next == end || next == len(s) || isSpace(s[next]) || !joins(s[end-1], s[next]) {
			return end
		}
		end = next
	}
}

func joins(before, after byte) bool {
	switch before {
	case '.', ']', ')', '}':
		return true
	}
	switch after {
	case '.', '[', '(', '{':
		return true
	}
	return false
}
