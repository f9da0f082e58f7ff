package antivirus

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/gatewatch/gatewatch/pipeline/antivirus/builtin"
	"github.com/gatewatch/gatewatch/pipeline/antivirus/clamd"
)

// scanner is one engine: the threat's name when it finds one.
type scanner interface {
	name() string
	scan(ctx context.Context, data []byte) (threat string, err error)
}

type builtinScanner struct{ db *builtin.DB }

func (builtinScanner) name() string { return "builtin" }
func (b builtinScanner) scan(_ context.Context, data []byte) (string, error) {
	threat, _ := b.db.Match(data)
	return threat, nil
}

type clamdScanner struct{ c *clamd.Client }

func (clamdScanner) name() string { return "clamd" }
func (s clamdScanner) scan(ctx context.Context, data []byte) (string, error) {
	res, err := s.c.Scan(ctx, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", fmt.Errorf("clamd: %w", err)
	}
	if res.Infected {
		return res.Threat, nil
	}
	return "", nil
}

// openScanners builds the configured chain; print identifies the
// signature directory as read.
func openScanners(cfg Config) (sc []scanner, db *builtin.DB, print string, cl *clamd.Client, err error) {
	for _, name := range cfg.Scanners {
		switch name {
		case "builtin":
			if cfg.Signatures == "" {
				db, err = builtin.LoadDir("")
			} else {
				db, print, err = loadStable(cfg.Signatures)
			}
			if err != nil {
				return nil, nil, "", nil, fmt.Errorf("antivirus.signatures: %w", err)
			}
			sc = append(sc, builtinScanner{db})
		case "clamd":
			cl, err = clamd.New(clamd.Config{Address: cfg.Clamd.Address, Timeout: cfg.Clamd.Timeout,
				MaxStream: cfg.Clamd.MaxStream, Connections: cfg.Clamd.Connections})
			if err != nil {
				return nil, nil, "", nil, fmt.Errorf("antivirus.clamd: %w", err)
			}
			sc = append(sc, clamdScanner{cl})
		}
	}
	return sc, db, print, cl, nil
}

// withSignatures is c scanning with db in place of its builtin database.
func (c *compiled) withSignatures(db *builtin.DB, print string) *compiled {
	n := *c
	n.scanners = slices.Clone(c.scanners)
	for i, sc := range n.scanners {
		if _, ok := sc.(builtinScanner); ok {
			n.scanners[i] = builtinScanner{db}
		}
	}
	n.sigs, n.sigPrint = db, print
	return &n
}
