package cgp

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		"1 INTF 3", "2 FILE Queue/1.msg", "3 QUIT", "garbage", "12", "12 FILE",
		`4 FILE "Queue/a b.msg" HEADERS`, "5 file x\r\n", " \t6\tFILE\tx ", "7 F1LE x", "8 FILE a\x00b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		req, err := ParseRequest(line)
		if req.Seq != "" && (len(req.Seq) > maxSeq || strings.Trim(req.Seq, "0123456789") != "") {
			t.Fatalf("Seq %q is not a sequence number", req.Seq)
		}
		if err != nil {
			return
		}
		if req.Seq == "" || req.Command == "" {
			t.Fatalf("accepted %q without Seq or Command: %+v", line, req)
		}
		if strings.Trim(req.Command, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			t.Fatalf("Command %q", req.Command)
		}
		if strings.ContainsAny(req.Seq+req.Command+req.Arg, "\r\n\x00") {
			t.Fatalf("control character in %+v", req)
		}
		if req.Arg != strings.Trim(req.Arg, " \t") {
			t.Fatalf("Arg %q not trimmed", req.Arg)
		}
		// Whatever the argument, an answer built from the request is one
		// line CGP can read.
		if req.Command == "FILE" {
			if path, err := fileArg(req.Arg); err == nil && (path == "" || strings.ContainsAny(path, "\r\n\x00")) {
				t.Fatalf("file name %q", path)
			}
		}
		resp := errorLine(req.Seq, req.Arg)
		if strings.Count(resp, "\n") != 1 || !strings.HasSuffix(resp, "\n") || len(resp) > maxResponseLine {
			t.Fatalf("response %q", resp)
		}
	})
}

func FuzzParseQueueFile(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.msg"))
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{
		"", "\n", "P <>\n\n", "P <a@b>\r\nR <c@d>\r\n\r\nx", "R <\"a>b\"@c>\n\n",
		"S <u@x> SMTP [IPv6:::1]\n\n", "S SMTP [0.0.0.0]\n\n", "P <a\r@b>\n\n", "From: x\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		env, raw, err := ParseQueueFile(data)
		if err != nil {
			if env.From != "" || env.Recipients != nil || raw != nil {
				t.Fatalf("error %v with results %+v %q", err, env, raw)
			}
			return
		}
		for _, a := range append([]string{env.From}, env.Recipients...) {
			if strings.ContainsFunc(a, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Fatalf("control character in address %q", a)
			}
		}
		for _, r := range env.Recipients {
			if r == "" {
				t.Fatal("empty recipient")
			}
		}
		if env.ClientIP != "" {
			ip, err := netip.ParseAddr(env.ClientIP)
			if err != nil || ip.IsUnspecified() || ip.String() != env.ClientIP {
				t.Fatalf("ClientIP %q", env.ClientIP)
			}
		}
		if env.QueueID != "" {
			t.Fatalf("QueueID %q from the file contents", env.QueueID)
		}
		if !bytes.HasSuffix(data, raw) {
			t.Fatal("message is not the tail of the file")
		}
	})
}
