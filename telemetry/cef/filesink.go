package cef

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// fileSink writes one record per line to a local file, for a log shipper
// (Splunk Universal Forwarder, Filebeat) to pick up. It rotates itself past
// a size, and reopens its path on SIGHUP for external rotation (logrotate).
type fileSink struct {
	path     string
	format   string
	maxBytes int64
	keep     int
	header   syslogHeader
	f        *os.File
	w        *bufio.Writer
	size     int64
	line     []byte
}

func openFileSink(path, format string, maxBytes int64, keep int, header syslogHeader) (*fileSink, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("cef file: %w", err)
	}
	s := &fileSink{path: path, format: format, maxBytes: maxBytes, keep: keep, header: header}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *fileSink) open() error {
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("cef file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("cef file: %w", err)
	}
	s.f, s.size = f, fi.Size()
	if s.w == nil {
		s.w = bufio.NewWriterSize(f, 64<<10)
	} else {
		s.w.Reset(f)
	}
	return nil
}

func (s *fileSink) write(t time.Time, severity int, msgID string, cef []byte) error {
	line := s.line[:0]
	if s.format == FormatRFC3164 {
		line = s.header.append3164(line, t, severity)
	} else {
		line = s.header.append5424(line, t, severity, msgID, 0)
	}
	line = append(line, cef...)
	line = append(line, '\n')
	s.line = line
	if s.maxBytes > 0 && s.size > 0 && s.size+int64(len(line)) > s.maxBytes {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	n, err := s.w.Write(line)
	s.size += int64(n)
	if err != nil {
		return fmt.Errorf("cef file: %w", err)
	}
	return nil
}

func (s *fileSink) flush() error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("cef file: %w", err)
	}
	return nil
}

// rotate shifts path.1 ... path.keep-1 up by one, moves path to path.1 and
// starts a new file (validation makes keep at least 1 when rotating).
func (s *fileSink) rotate() error {
	if err := s.flush(); err != nil {
		return err
	}
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("cef file: %w", err)
	}
	for i := s.keep - 1; i >= 1; i-- {
		old := s.path + "." + strconv.Itoa(i)
		if err := os.Rename(old, s.path+"."+strconv.Itoa(i+1)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("cef file rotation: %w", err)
		}
	}
	if err := os.Rename(s.path, s.path+".1"); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("cef file rotation: %w", err)
	}
	return s.open()
}

// reopen closes and opens the path again: after logrotate moved the file,
// new records go to a new one.
func (s *fileSink) reopen() error {
	if err := s.flush(); err != nil {
		return err
	}
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("cef file: %w", err)
	}
	return s.open()
}

func (s *fileSink) close() error {
	err := s.flush()
	if cerr := s.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("cef file: %w", cerr)
	}
	return err
}
