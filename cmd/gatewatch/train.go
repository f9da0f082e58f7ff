package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/gatewatch/gatewatch/pipeline/antispam/bayes"
)

const trainUsage = `Usage: gatewatch train [-config FILE] [--model FILE] [--spam PATH]... [--ham PATH]... [--forget]

Teaches the anti-spam classifier. Each PATH is an mbox file, a maildir, a
message file or a directory of them (read recursively); --spam and --ham may
be given several times. The model file (--model, else the configuration's
antispam.model) is extended if it exists and written back atomically.

  --forget   take the messages back out instead: undoes an earlier training
             of the same messages as the same class, e.g. before training
             them again as the other class
`

// pathList is a flag that may be given several times.
type pathList []string

func (p *pathList) String() string { return strings.Join(*p, ", ") }

func (p *pathList) Set(v string) error {
	if v == "" {
		return errors.New("empty path")
	}
	*p = append(*p, v)
	return nil
}

// trainRequest is a parsed train command line.
type trainRequest struct {
	model     string
	spam, ham pathList
	forget    bool
}

func cmdTrain(args []string, stdout, stderr io.Writer) int {
	var req trainRequest
	var cfgPath string
	fs, code, ok := parseFlags("train", args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&cfgPath, "config", "", "configuration file (YAML)")
		fs.StringVar(&req.model, "model", "", "model file (default: antispam.model of the configuration)")
		fs.Var(&req.spam, "spam", "spam messages: mbox, maildir, file or directory (repeatable)")
		fs.Var(&req.ham, "ham", "legitimate messages: mbox, maildir, file or directory (repeatable)")
		fs.BoolVar(&req.forget, "forget", false, "unlearn the messages instead of learning them")
		fs.Usage = func() { fmt.Fprint(stderr, trainUsage) }
	})
	if !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gatewatch train: unexpected argument %q\n%s", fs.Arg(0), trainUsage)
		return exitUsage
	}
	// The configuration only supplies the default model path, but a bad
	// file named on the command line is still reported as such.
	if cfgPath != "" || req.model == "" {
		l, err := loadConfig(cfgPath)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitConfig
		}
		if req.model == "" {
			req.model = l.cfg.Antispam.Model
		}
	}
	if req.model == "" {
		fmt.Fprintf(stderr, "gatewatch train: no model file: give --model or set antispam.model\n%s", trainUsage)
		return exitUsage
	}
	if len(req.spam)+len(req.ham) == 0 {
		fmt.Fprintf(stderr, "gatewatch train: nothing to learn: give --spam or --ham\n%s", trainUsage)
		return exitUsage
	}
	res, err := train(req)
	if err != nil {
		fmt.Fprintf(stderr, "gatewatch train: %v\n", err)
		return exitFailure
	}
	verb := "learned"
	if req.forget {
		verb = "forgot"
	}
	fmt.Fprintf(stdout, "%s %d spam, %d ham; model now has %d spam, %d ham, %d tokens\n",
		verb, res.spam, res.ham, res.modelSpam, res.modelHam, res.tokens)
	return exitOK
}

// trainResult is what a training run did and the model it left.
type trainResult struct {
	spam, ham                   int // messages read
	modelSpam, modelHam, tokens int
}

// train applies the request to the model file. The file is written only
// when every input was read, so a failure part-way leaves the model as it
// was rather than with half a mailbox learned.
func train(req trainRequest) (trainResult, error) {
	var res trainResult
	for _, p := range append(append([]string(nil), req.spam...), req.ham...) {
		if _, err := os.Stat(p); err != nil {
			return res, fmt.Errorf("input: %w", err)
		}
	}
	m, err := openModel(req.model)
	if err != nil {
		return res, err
	}
	apply := m.Learn
	if req.forget {
		apply = m.Forget
	}
	for _, class := range []struct {
		paths pathList
		spam  bool
		n     *int
	}{{req.spam, true, &res.spam}, {req.ham, false, &res.ham}} {
		for _, p := range class.paths {
			err := bayes.ReadMessages(p, func(_ string, msg []byte) error {
				apply(bayes.Tokenize(msg), class.spam)
				*class.n++
				return nil
			})
			if err != nil {
				return res, err
			}
		}
	}
	if res.spam+res.ham == 0 {
		return res, fmt.Errorf("no messages found in %s", strings.Join(append(append([]string(nil), req.spam...), req.ham...), ", "))
	}
	if err := m.Save(req.model); err != nil {
		return res, err
	}
	res.modelSpam, res.modelHam = m.Counts()
	res.tokens = m.Tokens()
	return res, nil
}

// openModel loads the model file, or starts an empty model when there is
// none yet: the first training creates it.
func openModel(path string) (*bayes.Model, error) {
	m, err := bayes.Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return bayes.NewModel(), nil
	}
	return m, err
}
