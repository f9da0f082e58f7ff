package bayes

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ReadMessages calls fn for each message stored at path, in a stable order:
//
//   - a file is an mbox when its first line starts with "From ": it is split
//     at every line that starts with "From ", and ">From " lines (any number
//     of ">") lose one ">" (mboxrd quoting); other files are one message;
//   - a maildir (a directory with cur/ and new/) gives the files in cur/ and
//     new/; tmp/ holds deliveries still being written and is left alone;
//   - any other directory is walked recursively; each regular file is one
//     message, with a leading mbox "From " line dropped (the SpamAssassin
//     corpus stores messages that way), and maildirs below it are read as
//     maildirs.
//
// Hidden files and empty messages are skipped. Names passed to fn are file
// paths, with "#N" (from 1) for the Nth message of an mbox. Errors name the
// file; an error from fn stops the walk and is returned with the message's
// name.
func ReadMessages(path string, fn func(name string, msg []byte) error) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("read messages: %w", err)
	}
	switch {
	case !fi.IsDir():
		return readMbox(path, fn)
	case isMaildir(path):
		return readMaildir(path, fn)
	default:
		return readTree(path, fn)
	}
}

func isMaildir(dir string) bool {
	for _, sub := range []string{"cur", "new"} {
		fi, err := os.Stat(filepath.Join(dir, sub))
		if err != nil || !fi.IsDir() {
			return false
		}
	}
	return true
}

func readMaildir(dir string, fn func(string, []byte) error) error {
	for _, sub := range []string{"cur", "new"} {
		d := filepath.Join(dir, sub)
		entries, err := os.ReadDir(d)
		if err != nil {
			return fmt.Errorf("read maildir: %w", err)
		}
		for _, e := range entries {
			if err := readEntry(filepath.Join(d, e.Name()), e, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

func readTree(root string, fn func(string, []byte) error) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read messages: %w", err)
		}
		if d.IsDir() {
			if p != root && isMaildir(p) {
				if err := readMaildir(p, fn); err != nil {
					return err
				}
				return filepath.SkipDir
			}
			return nil
		}
		return readEntry(p, d, fn)
	})
}

// readEntry reads one directory entry as one message. Symbolic links to
// files are followed; links to directories are not, so a link cannot make
// the walk loop.
func readEntry(p string, d fs.DirEntry, fn func(string, []byte) error) error {
	if strings.HasPrefix(d.Name(), ".") {
		return nil
	}
	mode := d.Type()
	if mode&fs.ModeSymlink != 0 {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("read messages: %w", err)
		}
		mode = fi.Mode().Type()
	}
	if !mode.IsRegular() {
		return nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("read messages: %w", err)
	}
	if bytes.HasPrefix(data, []byte("From ")) {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		} else {
			data = nil
		}
	}
	return emit(p, data, fn)
}

// emit passes a non-empty message to fn and names it in fn's error.
func emit(name string, msg []byte, fn func(string, []byte) error) error {
	if len(bytes.TrimSpace(msg)) == 0 {
		return nil
	}
	if err := fn(name, msg); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// readMbox streams a file, so that a large mbox costs one message of memory.
func readMbox(path string, fn func(string, []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read messages: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	if head, err := r.Peek(5); err != nil || string(head) != "From " {
		data, err := io.ReadAll(r)
		if err != nil {
			return fmt.Errorf("read messages: %s: %w", path, err)
		}
		return emit(path, data, fn)
	}
	var msg bytes.Buffer
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		// The empty line before the next "From " separates messages; it
		// is not part of the one that ends there.
		b := msg.Bytes()
		if bytes.HasSuffix(b, []byte("\n\r\n")) {
			b = b[:len(b)-2]
		} else if bytes.HasSuffix(b, []byte("\n\n")) {
			b = b[:len(b)-1]
		}
		return emit(path+"#"+strconv.Itoa(n), b, fn)
	}
	for {
		line, err := r.ReadBytes('\n')
		switch {
		case bytes.HasPrefix(line, []byte("From ")):
			if ferr := flush(); ferr != nil {
				return ferr
			}
			msg.Reset()
			n++
		case isQuotedFrom(line):
			msg.Write(line[1:])
		default:
			msg.Write(line)
		}
		if errors.Is(err, io.EOF) {
			return flush()
		}
		if err != nil {
			return fmt.Errorf("read messages: %s: %w", path, err)
		}
	}
}

// isQuotedFrom reports a line of the form ">From ", ">>From ", ...
func isQuotedFrom(line []byte) bool {
	rest := bytes.TrimLeft(line, ">")
	return len(rest) < len(line) && bytes.HasPrefix(rest, []byte("From "))
}
