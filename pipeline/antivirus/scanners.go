package antivirus

import (
	"bytes"
	"context"
	"fmt"

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

// openScanners builds the configured chain.
func openScanners(cfg Config) ([]scanner, *builtin.DB, error) {
	var out []scanner
	var db *builtin.DB
	for _, name := range cfg.Scanners {
		switch name {
		case "builtin":
			var err error
			if db, err = builtin.LoadDir(cfg.Signatures); err != nil {
				return nil, nil, fmt.Errorf("antivirus.signatures: %w", err)
			}
			out = append(out, builtinScanner{db})
		case "clamd":
			c, err := clamd.New(clamd.Config{Address: cfg.Clamd.Address, Timeout: cfg.Clamd.Timeout,
				MaxStream: cfg.Clamd.MaxStream, Connections: cfg.Clamd.Connections})
			if err != nil {
				return nil, nil, fmt.Errorf("antivirus.clamd: %w", err)
			}
			out = append(out, clamdScanner{c})
		}
	}
	return out, db, nil
}
